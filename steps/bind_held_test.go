package steps

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestBindFixNamesEveryHolder binds to a listener's port while a
// connection accept took from it holds the port too. Closing the listener
// alone leaves the port taken, so the fix must name the connection as well,
// and closing what it names must free the port.
func TestBindFixNamesEveryHolder(t *testing.T) {
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	run(t, l, "socket", "as", "client")
	run(t, l, "connect", "client", "127.0.0.1", port)
	run(t, l, "accept", "server", "as", "conn")
	run(t, l, "socket", "as", "other")
	rep := refused(t, l, unix.EADDRINUSE, "bind", "other", "127.0.0.1", port)
	fix := foldParagraphs(rep.Failure.Fix)
	if !strings.Contains(fix, "conn (fd") {
		t.Errorf("got fix %q, want it to name conn, which holds the port too", fix)
	}
	run(t, l, "close", "server")
	refused(t, l, unix.EADDRINUSE, "bind", "other", "127.0.0.1", port)
}
