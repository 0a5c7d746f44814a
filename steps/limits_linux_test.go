package steps

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"sockstep/internal/kerneltest"
)

// TestBoundPortsAreToldAfterDescriptorsRanOut: whether the kernel lists
// the TCP sockets that hold a port without listening or connecting is
// found out with a socket of sockstep's own. Asked first while the process
// has no descriptor left, it cannot be found out then; once descriptors
// are free again, a socket whose refused connect gave its port back shows
// no address, as the kernel says.
func TestBoundPortsAreToldAfterDescriptorsRanOut(t *testing.T) {
	needBoundInactive(t)
	l := newLab(t)
	port := listener(t, l, families[0], "gone")
	run(t, l, "close", "gone")
	run(t, l, "socket", "as", "a")
	// Nothing has asked the kernel yet, as at start-up.
	diag.Lock()
	if diag.open {
		closeDiag() // the netlink socket too is made anew
	}
	diag.Unlock()
	boundInactiveAnswer.answered = false

	release := kerneltest.ExhaustFDs(t)
	if _, err := newSocket(unix.AF_INET, unix.SOCK_STREAM, 0); err != unix.EMFILE {
		t.Fatalf("a socket with the descriptors filled: got %v, want EMFILE", err)
	}
	run(t, l, "bind", "a", "127.0.0.1", "0") // its state is read now, a port bound
	release()

	reported, shown, taken := refusedConnectPort(t, l, port, false)
	if taken {
		t.Skipf("port %d is held elsewhere too", reported.Port())
	}
	if shown.Port() != 0 {
		t.Errorf("after a refused connect gave port %d back (another socket could bind it), the state shows %v, want no address", reported.Port(), shown)
	}
}

// TestSocketsStopAtTheLabsLimit: a lab holds at most MaxSockets sockets,
// whether the learner names each new one or the lab does, so that a loop
// of `socket` leaves sockstep the descriptors it needs itself; a queued
// connection stays in the queue.
func TestSocketsStopAtTheLabsLimit(t *testing.T) {
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	run(t, l, "socket", "as", "client")
	run(t, l, "connect", "client", "127.0.0.1", port)
	for len(l.Sockets()) < MaxSockets {
		run(t, l, "socket")
	}
	for _, args := range [][]string{{"socket"}, {"socket", "udp"}, {"socket", "as", "extra"}, {"accept", "server"}, {"accept", "server", "as", "conn"}} {
		_, err := try(t, l, args[0], args[1:]...)
		var usage *UsageError
		if !errors.As(err, &usage) || !strings.Contains(usage.Problem, "sockstep's own limit") {
			t.Errorf("%q with %d sockets held: got %v, want sockstep's own limit", args, MaxSockets, err)
		}
		if n := len(l.Sockets()); n != MaxSockets {
			t.Fatalf("%q: the lab holds %d sockets, want %d", args, n, MaxSockets)
		}
	}
	if q := Read(sock(t, l, "server")).AcceptQueue; q != 1 {
		t.Errorf("the listener's accept queue holds %d connections, want the client's still there", q)
	}
}

// TestNoDescriptorLeft: with every descriptor of the process in use, the
// kernel refuses socket and accept with EMFILE, and the reports say what
// to close and where to see it; accept leaves the connection in the queue,
// where the next accept, once a descriptor is free, finds it.
func TestNoDescriptorLeft(t *testing.T) {
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	run(t, l, "socket", "as", "client")
	run(t, l, "connect", "client", "127.0.0.1", port)
	client := Read(sock(t, l, "client"))

	release := kerneltest.ExhaustFDs(t)
	for _, args := range [][]string{{"socket"}, {"accept", "server", "--timeout", "2s"}} {
		rep := refused(t, l, unix.EMFILE, args[0], args[1:]...)
		if !strings.Contains(rep.Failure.ForStep, "`sockets` lists them") {
			t.Errorf("%q: got %q, want where to see the sockets to close", args, rep.Failure.ForStep)
		}
	}
	queued := Read(sock(t, l, "server")).AcceptQueue
	release()
	if queued != 1 {
		t.Errorf("after accept's EMFILE the accept queue holds %d connections, want the client's", queued)
	}
	rep := run(t, l, "accept", "server", "as", "conn", "--timeout", "2s")
	if rep.Peer != client.Local {
		t.Errorf("the next accept got the connection from %v, want the client's, %v", rep.Peer, client.Local)
	}
}

// TestClosedSocketsAreRememberedWithinBounds: however many sockets a long
// session makes and closes, each named anew, the lab remembers how only a
// bounded number of them went, and the last one closed among them.
func TestClosedSocketsAreRememberedWithinBounds(t *testing.T) {
	l := newLab(t)
	const made = 3 * maxGone
	for range made {
		name := run(t, l, "socket").Socket
		run(t, l, "close", name)
	}
	if n := len(l.gone); n > maxGone {
		t.Errorf("after %d sockets made and closed the lab remembers %d of them, want at most %d", made, n, maxGone)
	}
	_, err := l.Find(fmt.Sprintf("s%d", made))
	if err == nil || !strings.Contains(err.Error(), "is gone") {
		t.Errorf("the last socket closed: got %v, want how it went", err)
	}
}
