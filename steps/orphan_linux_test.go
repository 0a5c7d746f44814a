package steps

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestOrphanGivenUpSendsNoReset closes a client whose bytes wait for a
// peer that does not read, in a network namespace of its own where
// net.ipv4.tcp_orphan_retries is 1, so that the kernel gives the
// connection up within seconds. It sends no reset then: the peer stays
// ESTABLISHED, and close's report must not say that the kernel resets the
// connection when it gives up. The peer learns of it only when it sends:
// its recv makes room, its kernel sends a window update, and the reset
// that answers it fails the call after.
func TestOrphanGivenUpSendsNoReset(t *testing.T) {
	if !inNetns(t) {
		return
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/tcp_orphan_retries", []byte("1"), 0); err != nil {
		t.Skipf("net.ipv4.tcp_orphan_retries cannot be set in this namespace: %v", err)
	}
	l := newLab(t)
	f := families[0]
	port := listener(t, l, f, "server")
	run(t, l, "option", "server", "SO_RCVBUF", "1000") // accepted sockets take the listener's
	run(t, l, "socket", "tcp", f.name, "as", "client")
	run(t, l, "connect", "client", f.loopback, port)
	run(t, l, "accept", "server", "as", "conn")
	fill(t, l, "client", "--bytes", "60000", "--timeout", "300ms")
	ends := Read(sock(t, l, "client"))
	says := strings.Join(strings.Fields(run(t, l, "close", "client").Says), " ")
	for try := 0; ; try++ {
		if _, ok := tableEntry(t, ends.Local, ends.Remote); !ok {
			break
		}
		if try == 300 {
			t.Fatal("the kernel still keeps the closed client's end after 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := Read(sock(t, l, "conn")).State; st != Established {
		t.Fatalf("the peer is %v once the kernel gave the client's end up, want ESTABLISHED (no reset)", st)
	}
	if strings.Contains(says, "resets it") {
		t.Errorf("the kernel gave the connection up and sent no reset, and close says %q", says)
	}
	wantSays(t, "close client", &Report{Says: says}, "the peer stays ESTABLISHED")
	// recv --all reads what is queued, then calls again: the window
	// update the first call sent has met a reset by then.
	if rep := run(t, l, "recv", "conn", "--all"); !strings.Contains(rep.Call, "the last = -1 ECONNRESET") {
		t.Errorf("the peer read what was queued, and then: %s, want ECONNRESET", rep.Call)
	}
	if st := Read(sock(t, l, "conn")).State; st != Closed {
		t.Errorf("the peer is %v after it read, want CLOSED: its window update met a reset", st)
	}
}
