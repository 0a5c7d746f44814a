package steps

import (
	"strings"
	"testing"
)

// TestEmptyDatagramWordedAlike: empty datagrams sent to a socket are
// queued, and recv and recvfrom each take one and return 0. Every step
// that tells of one (the sender's state line for the receiver, recv,
// recvfrom, the next datagram waiting, close) calls it empty and gives its
// 0 bytes the same way, and recv, like recvfrom, says that this 0 ends no
// connection.
func TestEmptyDatagramWordedAlike(t *testing.T) {
	const empty, next, says = "empty (0 bytes)", "the next is empty (0 bytes).", "one empty datagram (0 bytes)"
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", f.name, "as", "a")
			run(t, l, "bind", "a", f.loopback, "0")
			port := portOf(t, l, "a")
			run(t, l, "socket", "udp", f.name, "as", "b")
			a := sock(t, l, "a")
			var texts []string
			for range 3 {
				rep := run(t, l, "sendto", "b", f.loopback, port, "")
				if snap := Read(a); !snap.DatagramWaiting() || snap.RecvQ != 0 {
					t.Fatalf("after an empty sendto the kernel says a has a datagram waiting %v of %d bytes; the test needs an empty one", snap.DatagramWaiting(), snap.RecvQ)
				}
				wantState(t, "sendto", rep, a, "next datagram "+empty)
				texts = append(texts, rep.Says)
			}
			for _, step := range []string{"recv", "recvfrom"} {
				rep := run(t, l, step, "a")
				if !strings.Contains(rep.Call, ") = 0") {
					t.Errorf("%s: call %q, want it to return 0", step, rep.Call)
				}
				wantSays(t, step, rep, says, "not the end of a connection", next)
				texts = append(texts, rep.Says)
			}
			rep := run(t, l, "close", "a")
			wantSays(t, "close", rep, "the first was "+empty)
			texts = append(texts, rep.Says)
			for _, text := range texts {
				text = strings.Join(strings.Fields(text), " ")
				for _, other := range []string{"datagram of 0 bytes", "an empty one", "is empty."} {
					if strings.Contains(text, other) {
						t.Errorf("%q words the empty datagram as %q; want %q", text, other, empty)
					}
				}
			}
		})
	}
}
