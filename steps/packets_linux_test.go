package steps

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"testing"
)

// onTheWire runs one step while capturing loopback at ports (those of
// captureLoopback), and returns its report with how many segments of
// each kind crossed during it, leaving out the kinds in ignore, and what
// the capture read in all.
func onTheWire(t *testing.T, l *Lab, ports []string, ignore []string, step string, args ...string) (*Report, map[string]int, *captureLog) {
	t.Helper()
	var numbers []uint16
	for _, port := range ports {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, uint16(p))
	}
	stop := captureLoopback(t, numbers...)
	rep, err := try(t, l, step, args...)
	segs, log := stop()
	if err != nil {
		t.Fatalf("%s %q: %v", step, args, err)
	}
	return rep, countKinds(segs, ignore), log
}

// wantDrawnAsCrossed fails the test when the packets rep draws, leaving
// out the kinds in ignore, are not those that crossed (wire), and says
// what the capture read in all (log).
func wantDrawnAsCrossed(t *testing.T, rep *Report, wire map[string]int, log *captureLog, ignore []string) {
	t.Helper()
	if drawn := drawnKinds(rep, ignore); !reflect.DeepEqual(drawn, wire) {
		t.Errorf("%s: drew %v (%q), but %v crossed loopback (capture: %v)", rep.Call, fmt.Sprint(drawn), rep.Packets, fmt.Sprint(wire), log)
	}
}

var bytesArrow = regexp.MustCompile(`^\d+ bytes?(?: in (\d+) segments)?$`)

// countKinds counts segments by kind, leaving out the kinds in ignore,
// and a data segment sent again (its sender and first byte seen before).
func countKinds(segs []segment, ignore []string) map[string]int {
	n := map[string]int{}
	type start struct {
		port uint16
		seq  uint32
	}
	seen := map[start]bool{}
	for _, s := range segs {
		if s.kind() == "data" {
			if seen[start{s.src, s.seq}] {
				continue
			}
			seen[start{s.src, s.seq}] = true
		}
		n[s.kind()]++
	}
	for _, k := range ignore {
		delete(n, k)
	}
	return n
}

// drawnKinds counts the packets of a report by kind, as kind names
// them, leaving out the kinds in ignore: an arrow of bytes is one data
// segment, or as many as its label says.
func drawnKinds(rep *Report, ignore []string) map[string]int {
	n := map[string]int{}
	for _, p := range rep.Packets {
		if m := bytesArrow.FindStringSubmatch(p.What); m != nil {
			segs := 1
			if m[1] != "" {
				segs, _ = strconv.Atoi(m[1])
			}
			n["data"] += segs
			continue
		}
		n[p.What]++
	}
	for _, k := range ignore {
		delete(n, k)
	}
	return n
}

// TestShutdownDrawsTheFINThatCrossed captures loopback while the calls of
// a half-close run, and checks that each draws the FIN, or none, that
// crossed during it: a second shutdown of the writing side, or one of
// both sides after it, sends nothing. The ACKs of the FINs are not drawn.
func TestShutdownDrawsTheFINThatCrossed(t *testing.T) {
	eachOnTheWire(t, [][]string{
		{"shutdown", "client", "write"},
		{"shutdown", "client", "write"},
		{"shutdown", "client", "both"},
		{"recv", "conn"},
		{"shutdown", "conn", "write"},
		{"shutdown", "conn", "both"},
	}, func(t *testing.T, _ *Lab, _ []string, rep *Report, wire map[string]int, log *captureLog) {
		wantDrawnAsCrossed(t, rep, wire, log, noACKs)
	})
}

// noACKs leaves ACKs out of what is drawn and what crossed: the diagram
// draws none of those that only acknowledge.
var noACKs = []string{"ACK"}

// eachOnTheWire makes calls in turn on a connected pair (pair) of each
// family, capturing loopback around each, and gives check each call's
// report, the segments that crossed during it, ACKs left out, and what
// the capture read in all.
func eachOnTheWire(t *testing.T, calls [][]string, check func(t *testing.T, l *Lab, call []string, rep *Report, wire map[string]int, log *captureLog)) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			ends := []string{portOf(t, l, "server"), portOf(t, l, "client")}
			for _, call := range calls {
				rep, wire, log := onTheWire(t, l, ends, noACKs, call[0], call[1:]...)
				check(t, l, call, rep, wire, log)
			}
		})
	}
}

// TestConnectDrawsTheHandshakeThatCrossed captures loopback while connect
// runs, blocking or not, to a listener, to a port nobody holds and to a
// listener whose queue is full, and checks that each call draws the SYN,
// SYN-ACK, ACK and RST that crossed during it, and nothing else: on
// loopback a non-blocking connect's handshake ends within the call, and
// the connect that then reports it sends nothing.
func TestConnectDrawsTheHandshakeThatCrossed(t *testing.T) {
	tests := []struct {
		name     string
		target   string // listening, nobody, full
		blocking bool
		calls    int // connects in a row
	}{
		{"to a listener", "listening", true, 1},
		{"to a listener, non-blocking", "listening", false, 2},
		{"to nobody", "nobody", true, 1},
		{"to nobody, non-blocking", "nobody", false, 3},
		{"to a full queue, non-blocking", "full", false, 2},
	}
	for _, f := range families {
		for _, tt := range tests {
			t.Run(f.name+" "+tt.name, func(t *testing.T) {
				l := newLab(t)
				var port string
				switch tt.target {
				case "listening":
					port = listener(t, l, f, "server")
				case "nobody":
					port = listener(t, l, f, "server")
					run(t, l, "close", "server")
				case "full":
					port = listener(t, l, f, "server", "0")
					run(t, l, "socket", "tcp", f.name, "as", "first")
					run(t, l, "connect", "first", f.loopback, port)
				}
				run(t, l, "socket", "tcp", f.name, "as", "client")
				// Bound first, so that the capture keeps the segments
				// between its port and the server's alone: another test
				// may take the port of a listener that closed. A port
				// asked for by number stays the socket's after a refused
				// connect; one the kernel chose goes back to it.
				ends := []string{port, strconv.Itoa(freePort(t))}
				run(t, l, "bind", "client", f.loopback, ends[1])
				if !tt.blocking {
					run(t, l, "option", "client", "O_NONBLOCK", "on")
				}
				for range tt.calls {
					// A SYN the kernel's timer sent again is not the call's:
					// under load a call may outlast its first timeout (1s).
					resent := Read(sock(t, l, "client")).resent
					rep, wire, log := onTheWire(t, l, ends, nil, "connect", "client", f.loopback, port)
					if wire["SYN"] -= Read(sock(t, l, "client")).resent - resent; wire["SYN"] == 0 {
						delete(wire, "SYN")
					}
					wantDrawnAsCrossed(t, rep, wire, log, nil)
				}
			})
		}
	}
}

// TestSendDrawsTheSegmentsThatCrossed captures loopback while sends of a
// few bytes and of more than one segment holds run, and checks that the
// arrow of each says how many segments carried its bytes, as many as
// crossed during the call, leaving out those sent again (the receiver's
// kernel, short of memory, may drop one). The bytes must all have left
// by its end (none waits in the send queue), so that none crosses after
// it.
func TestSendDrawsTheSegmentsThatCrossed(t *testing.T) {
	eachOnTheWire(t, [][]string{
		{"send", "conn", "hello"},
		{"send", "conn", "--bytes", "100000"},
		{"recv", "client", "--all"},
		{"send", "client", "--bytes", "100000"},
	}, func(t *testing.T, l *Lab, call []string, rep *Report, wire map[string]int, log *captureLog) {
		if left := Read(sock(t, l, call[1])).NotSent; left > 0 {
			t.Fatalf("%s: %d bytes not sent yet, which would cross after the call", rep.Call, left)
		}
		if call[0] == "send" {
			wantDrawnAsCrossed(t, rep, wire, log, noACKs)
		}
	})
}

// TestStreamSendtoDrawsWhatCrossed captures loopback while sendto runs on
// connected TCP sockets, which ignore the address and send down the
// connection as send does, and checks that each draws what crossed: the
// segments that carried its bytes, and, once the other end has closed,
// the RST its kernel answered them with.
func TestStreamSendtoDrawsWhatCrossed(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			ends := []string{portOf(t, l, "server"), portOf(t, l, "client")}
			for _, call := range [][]string{
				{"sendto", "client", f.loopback, "1", "hello"},
				{"sendto", "conn", f.loopback, "1", "--bytes", "100000"},
				{"recv", "client", "--all"},
				{"recv", "conn", "--all"}, // so that its close sends a FIN, not an RST
				{"close", "conn"},
				{"sendto", "client", f.loopback, "1", "hello"},
			} {
				rep, wire, log := onTheWire(t, l, ends, noACKs, call[0], call[1:]...)
				if call[0] != "sendto" {
					continue
				}
				if rep.Failed() {
					t.Fatalf("%s failed", rep.Call)
				}
				if left := Read(sock(t, l, call[1])).NotSent; left > 0 {
					t.Fatalf("%s: %d bytes not sent yet, which would cross after the call", rep.Call, left)
				}
				wantDrawnAsCrossed(t, rep, wire, log, noACKs)
			}
		})
	}
}
