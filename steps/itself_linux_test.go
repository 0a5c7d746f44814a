package steps

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// selfConnected makes a TCP socket a, bound to a loopback port and
// connected to that same port, and returns connect's report.
func selfConnected(t *testing.T, l *Lab) *Report {
	t.Helper()
	run(t, l, "socket", "as", "a")
	run(t, l, "bind", "a", "127.0.0.1", "0")
	return run(t, l, "connect", "a", "127.0.0.1", portOf(t, l, "a"))
}

// TestTCPConnectedToItself connects a TCP socket to its own address, which
// Linux makes a simultaneous open with itself, and checks each step's
// report against the kernel: the segments it counts, where the bytes
// sent wait, and how the connection ends.
func TestTCPConnectedToItself(t *testing.T) {
	l := newLab(t)
	rep := selfConnected(t, l)
	a := sock(t, l, "a")
	info, err := unix.GetsockoptTCPInfo(a.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		t.Fatal(err)
	}
	// Each segment it sent came back to it: the count the report gives
	// (segments sent) is the count the kernel received.
	wantSays(t, "connect to itself", rep, "connected to itself", "simultaneous open", fmt.Sprintf("(%d segments sent", info.Segs_in))
	if strings.Contains(rep.Says, "three-way handshake") {
		t.Errorf("got %q, which tells of a handshake with a server", rep.Says)
	}
	for _, p := range rep.Packets {
		if p.From != "a" || p.To != "a" {
			t.Errorf("got packet %+v, want it from a to a", p)
		}
	}
	if len(rep.Packets) != 3 {
		t.Errorf("got packets %+v, want SYN, SYN-ACK and ACK", rep.Packets)
	}

	rep = run(t, l, "send", "a", "hi")
	wantSays(t, "send to itself", rep, "its own address", "in its own receive queue (2 bytes)")
	if len(rep.State) != 1 {
		t.Errorf("got state lines %+v, want one: a is its own peer", rep.State)
	}
	if rep.Next != "recv a" || len(rep.Packets) != 1 || rep.Packets[0].To != "a" {
		t.Errorf("got next %q and packets %+v, want recv a and the bytes to a", rep.Next, rep.Packets)
	}
	if got := run(t, l, "recv", "a").Data; string(got) != "hi" {
		t.Errorf("recv a: got %q, want the bytes a sent itself", got)
	}

	rep = run(t, l, "shutdown", "a", "write")
	wantSays(t, "shutdown of itself", rep, "which is a (fd", "itself", "The connection is over", "TIME_WAIT")
	if strings.Contains(rep.Says, "can still receive") || rep.Next != "close a" {
		t.Errorf("got %q, next %q; want the connection over, and close next", rep.Says, rep.Next)
	}
	wantHeldByTimeWait(t, a)
	if got := run(t, l, "recv", "a", "--timeout", "1s"); len(got.Data) != 0 || got.Stopped {
		t.Errorf("recv a after the shutdown: got %s, want 0 bytes", got.Call)
	}
}

// TestUDPConnectedToItself sends datagrams to a UDP socket's own address,
// connected and not: each report says it is in its own receive queue, and
// gives one state line for the one socket.
func TestUDPConnectedToItself(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "udp", "as", "u")
	run(t, l, "bind", "u", "127.0.0.1", "0")
	port := portOf(t, l, "u")

	rep := run(t, l, "sendto", "u", "127.0.0.1", port, "one")
	wantSays(t, "sendto itself", rep, "own address, so the datagram is now in its own receive queue")
	if len(rep.State) != 1 || rep.Next != "recvfrom u" {
		t.Errorf("got state %+v, next %q; want one state line and recvfrom u", rep.State, rep.Next)
	}

	rep = run(t, l, "connect", "u", "127.0.0.1", port)
	wantSays(t, "connect to itself", rep, "own address, so whatever it sends, it receives")
	rep = run(t, l, "send", "u", "two")
	wantSays(t, "send to itself", rep, "own address, so the datagram is now in its own receive queue")
	if len(rep.State) != 1 || rep.Next != "recv u" {
		t.Errorf("got state %+v, next %q; want one state line and recv u", rep.State, rep.Next)
	}
	for _, want := range []string{"one", "two"} {
		if got := run(t, l, "recv", "u", "--timeout", "1s").Data; string(got) != want {
			t.Errorf("recv u: got %q, want %q", got, want)
		}
	}
}
