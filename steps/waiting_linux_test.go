package steps

import (
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWaitingPeersOfEachListener checks that a listener's waiting clients
// are those of its own accept queue, where an IPv4 listener on 0.0.0.0 and
// an IPv6 one that takes IPv6 only share a port: a client of one waits in
// that one's queue alone, as TCP_INFO counts it, and is not named as
// waiting for the other.
func TestWaitingPeersOfEachListener(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			// The kernel chose the port free for IPv4: another test's
			// IPv6 socket may hold it, and then another is tried.
			var port string
			for round := 0; ; round++ {
				run(t, l, "socket", "tcp", "ipv4", "as", "four")
				run(t, l, "bind", "four", "0.0.0.0", "0")
				run(t, l, "listen", "four")
				port = portOf(t, l, "four")
				run(t, l, "socket", "tcp", "ipv6", "as", "six")
				run(t, l, "option", "six", "IPV6_V6ONLY", "on")
				rep, err := try(t, l, "bind", "six", "::", port)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Failure == nil {
					break
				}
				if rep.Failure.Number != int(unix.EADDRINUSE) || round == 10 {
					t.Fatalf("bind six :: %s: %s", port, rep.Call)
				}
				run(t, l, "close", "six")
				run(t, l, "close", "four")
			}
			run(t, l, "listen", "six")
			run(t, l, "socket", "tcp", f.name, "as", "client")
			run(t, l, "connect", "client", f.loopback, port)
			client := Read(sock(t, l, "client")).Local
			queued := 0
			for _, name := range []string{"four", "six"} {
				snap := Read(sock(t, l, name))
				queued += snap.AcceptQueue
				var want []netip.AddrPort
				if snap.AcceptQueue == 1 {
					want = []netip.AddrPort{client}
				}
				if got := WaitingPeers(snap); !slices.Equal(got, want) {
					t.Errorf("%s, its accept queue %d (TCP_INFO): got waiting peers %v, want %v", name, snap.AcceptQueue, got, want)
				}
			}
			if queued != 1 {
				t.Errorf("got %d connections in the two accept queues (TCP_INFO), want the client's 1", queued)
			}
		})
	}
}
