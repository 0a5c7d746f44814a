package steps

import (
	"strings"
	"testing"
)

// TestResetNamesItsOwnShutPeer accepts three connections from one
// listener, so that the accepted sockets all have its address, and shuts
// each down both ways. Data sent by any client meets a reset, and the
// report of the send names the accepted socket of that client's
// connection: not one accepted before it that still has its connection,
// nor one whose connection a reset ended already.
func TestResetNamesItsOwnShutPeer(t *testing.T) {
	l := newLab(t)
	f := families[0]
	port := listener(t, l, f, "server")
	for _, c := range []string{"first", "second", "third"} {
		run(t, l, "socket", "tcp", f.name, "as", c)
		run(t, l, "connect", c, f.loopback, port)
		run(t, l, "accept", "server", "as", c+"conn")
		run(t, l, "shutdown", c+"conn", "both")
	}
	for _, client := range []string{"second", "third", "first"} {
		says := strings.Join(strings.Fields(run(t, l, "send", client, "late").Says), " ")
		if peer := sock(t, l, client+"conn").Label(); !strings.Contains(says, "But "+peer+" had shut down both") {
			t.Errorf("send %s: got %q, want the reset put down to %s", client, says, peer)
		}
	}
}
