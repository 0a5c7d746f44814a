package steps

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// lastPackets are the packets of the history's latest call.
func lastPackets(l *Lab) []Packet {
	h := l.History()
	return h[len(h)-1].Packets
}

// TestClosedEndKeepsItsName checks that after one side of a connection on
// loopback is closed, the FIN the other side sends is drawn to the closed
// socket's name, not to its address.
func TestClosedEndKeepsItsName(t *testing.T) {
	tests := []struct {
		first, second string // closed in this order
	}{
		{"client", "conn"},
		{"conn", "client"},
	}
	for _, tt := range tests {
		t.Run(tt.first+" first", func(t *testing.T) {
			l := newLab(t)
			pair(t, l, families[0])
			run(t, l, "close", tt.first)
			run(t, l, "close", tt.second)
			got, want := lastPackets(l), Packet{From: tt.second, To: tt.first, What: "FIN"}
			if len(got) != 1 || got[0] != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// TestDatagramEndName checks that a datagram sent on a connected UDP
// socket is drawn to the lab's socket bound to that address, which need
// not be connected itself.
func TestDatagramEndName(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "udp", "as", "sink")
	run(t, l, "bind", "sink", "127.0.0.1", "0")
	run(t, l, "socket", "udp", "as", "source")
	run(t, l, "connect", "source", "127.0.0.1", portOf(t, l, "sink"))
	run(t, l, "send", "source", "ping")
	got, want := lastPackets(l), Packet{From: "source", To: "sink", What: "datagram 4 bytes"}
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestQueuedEndName checks that what a client sends before its connection
// is accepted is drawn to the listener, in whose accept queue the
// connection waits, as its SYN was.
func TestQueuedEndName(t *testing.T) {
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	run(t, l, "socket", "tcp", "ipv4", "as", "client")
	run(t, l, "connect", "client", "127.0.0.1", port)
	tests := []struct {
		step *Step
		args []string
		want Packet
	}{
		{SendStep, []string{"client", "early"}, Packet{From: "client", To: "server", What: "5 bytes"}},
		{CloseStep, []string{"client"}, Packet{From: "client", To: "server", What: "FIN"}},
	}
	for _, tt := range tests {
		run(t, l, tt.step.Name, tt.args...)
		if got := lastPackets(l); len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: got %q, want %q", tt.step.Name, got, tt.want)
		}
	}
}

// TestOneFINAfterShutdown checks that close after shutdown write sends no
// second FIN: the diagram draws the one shutdown sent.
func TestOneFINAfterShutdown(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	tests := []struct {
		step *Step
		args []string
		want []Packet
	}{
		{ShutdownStep, []string{"client", "write"}, []Packet{{From: "client", To: "conn", What: "FIN"}}},
		{CloseStep, []string{"client"}, nil},
		{CloseStep, []string{"conn"}, []Packet{{From: "conn", To: "client", What: "FIN"}}},
	}
	for _, tt := range tests {
		run(t, l, tt.step.Name, tt.args...)
		if got := lastPackets(l); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %q: got %q, want %q", tt.step.Name, tt.args, got, tt.want)
		}
	}
}

// TestFinWait1IsTheDelayedACK checks close's explanation of FIN_WAIT1 on
// loopback: the FIN has arrived (the peer is CLOSE_WAIT), yet the peer's
// kernel holds back its ACK of it, and the connection moves on to
// FIN_WAIT2 by itself, while the peer makes no call at all. Linux holds
// it back 40 ms or more once data has come to the peer, only until its
// next clock tick before: what counts is whether data has come to the
// peer, not whether it has read it, nor whether data went the other way.
// (Measured on Linux 6.18 at HZ=250: 40 to 45 ms once data had come, 1.5
// to 6 ms before.)
func TestFinWait1IsTheDelayedACK(t *testing.T) {
	tests := []struct {
		name     string
		before   [][]string // steps before close client
		says     []string
		min, max time.Duration // how long FIN_WAIT1 lasts
	}{
		// The kernel's timer counts in ticks (4 ms at HZ=250), so a
		// tick's less is allowed.
		{"after data", [][]string{{"send", "client", "hi"}, {"recv", "conn"}},
			[]string{"a delayed ACK of about 40 ms or more on Linux"}, 36 * time.Millisecond, time.Second},
		{"no data", nil,
			[]string{"a delayed ACK of a few milliseconds here (client (fd", "sent no data, and Linux waits about 40 ms only once data has come to the peer)"},
			0, 30 * time.Millisecond},
		{"the peer has not read", [][]string{{"send", "client", "hi"}},
			[]string{"a delayed ACK of about 40 ms or more on Linux, once data has come to the peer"}, 36 * time.Millisecond, time.Second},
		{"data came from the peer only", [][]string{{"send", "conn", "hi"}, {"recv", "client"}},
			[]string{"a delayed ACK of a few milliseconds here (client (fd"}, 0, 30 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A loaded machine can only lengthen what is measured, which
			// includes close's own reading of the kernel: a time above
			// the bound is measured again, up to three times.
			for try := 1; ; try++ {
				took, acked := finWait1Lasts(t, tt.before, tt.says)
				if !acked {
					return
				}
				if took >= tt.min && took <= tt.max {
					return
				}
				if took < tt.min || try == 3 {
					t.Fatalf("the ACK came %v after close, want between %v and %v", took, tt.min, tt.max)
				}
				t.Logf("the ACK came %v after close, above %v: measuring again", took, tt.max)
			}
		})
	}
}

// finWait1Lasts plays the steps before on a new pair, closes the client,
// checks what close says, and waits for the peer's ACK of the FIN. It
// returns how long after close the ACK came, or acked false when it came
// within the call, so that there was no FIN_WAIT1 to tell of.
func finWait1Lasts(t *testing.T, before [][]string, says []string) (took time.Duration, acked bool) {
	l := newLab(t)
	pair(t, l, families[0])
	for _, step := range before {
		run(t, l, step[0], step[1:]...)
	}
	client := Read(sock(t, l, "client"))
	closed := time.Now()
	rep := run(t, l, "close", "client")
	switch {
	case strings.Contains(rep.Says, "now FIN_WAIT2"):
		t.Logf("the ACK of the FIN came within the call: nothing to wait for")
		return 0, false
	case !strings.Contains(rep.Says, "now FIN_WAIT1"):
		t.Fatalf("close said %q, want FIN_WAIT1 or FIN_WAIT2", rep.Says)
	}
	wantSays(t, "close", rep, append([]string{"FIN_WAIT1: the FIN has arrived, since the other end is CLOSE_WAIT"}, says...)...)
	if st, _ := ConnectionState(client.Remote, client.Local); st != CloseWait {
		t.Errorf("the other end is %s, want CLOSE_WAIT: the FIN has arrived", st)
	}
	state, _ := ConnectionState(client.Local, client.Remote)
	deadline := time.Now().Add(time.Second)
	for state == FinWait1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		state, _ = ConnectionState(client.Local, client.Remote)
	}
	took = time.Since(closed)
	if state != FinWait2 {
		t.Fatalf("a second after close, with the peer doing nothing: got %s, want FIN_WAIT2", state)
	}
	return took, true
}

// TestLingerWaitsForTheACK closes, after some traffic, a socket with
// SO_LINGER on: where TestFinWait1IsTheDelayedACK finds FIN_WAIT1, close
// now returns only once the peer's kernel has acknowledged the FIN, as
// the report says.
func TestLingerWaitsForTheACK(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	run(t, l, "option", "client", "SO_LINGER", "on", "1") // 1: the singular is checked too
	run(t, l, "send", "client", "hi")
	run(t, l, "recv", "conn")
	client := Read(sock(t, l, "client"))
	rep := run(t, l, "close", "client")
	if state, _ := ConnectionState(client.Local, client.Remote); state != FinWait2 {
		t.Errorf("right after close with SO_LINGER on: got %s, want FIN_WAIT2", state)
	}
	if want := "SO_LINGER is on, so close waited for the peer to acknowledge"; !strings.Contains(rep.Says, want) {
		t.Errorf("got %q, want %q", rep.Says, want)
	}
}

// TestOneByteIsDrawnSingular sends one byte every way the diagram draws
// data, and wants the arrow labelled "1 byte", once the kernel shows the
// one byte waiting at the receiver.
func TestOneByteIsDrawnSingular(t *testing.T) {
	tests := []struct {
		name     string
		udp      bool
		line     []string
		receiver string
		want     Packet
	}{
		{"send", false, []string{"send", "client", "x"}, "conn", Packet{From: "client", To: "conn", What: "1 byte"}},
		{"send --bytes", false, []string{"send", "client", "--bytes", "1"}, "conn", Packet{From: "client", To: "conn", What: "1 byte"}},
		{"sendto on TCP", false, []string{"sendto", "client", "127.0.0.1", "9", "x"}, "conn", Packet{From: "client", To: "conn", What: "1 byte"}},
		{"send on UDP", true, []string{"send", "client", "x"}, "conn", Packet{From: "client", To: "conn", What: "datagram 1 byte"}},
		{"sendto on UDP", true, []string{"sendto", "client", "127.0.0.1", "PORT", "x"}, "conn", Packet{From: "client", To: "conn", What: "datagram 1 byte"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			if tt.udp {
				run(t, l, "socket", "udp", "as", "conn")
				run(t, l, "bind", "conn", "127.0.0.1", "0")
				run(t, l, "socket", "udp", "as", "client")
				run(t, l, "connect", "client", "127.0.0.1", portOf(t, l, "conn"))
			} else {
				pair(t, l, families[0])
			}
			line := slices.Clone(tt.line)
			for i, w := range line {
				if w == "PORT" {
					line[i] = portOf(t, l, tt.receiver)
				}
			}
			run(t, l, line[0], line[1:]...)
			if q := Read(sock(t, l, tt.receiver)).RecvQ; q != 1 {
				t.Fatalf("%s: %s's receive queue holds %d bytes, want the 1 sent", tt.name, tt.receiver, q)
			}
			if got := lastPackets(l); len(got) != 1 || got[0] != tt.want {
				t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}
