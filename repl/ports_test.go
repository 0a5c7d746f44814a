package repl

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// TestPortsShowsTheSessionFirst fills the kernel's table with more
// listeners than `ports` shows, none of them the session's, and wants the
// session's own sockets in the table all the same: a learner on a busy
// machine must still find their sockets.
func TestPortsShowsTheSessionFirst(t *testing.T) {
	for range maxPortLines + 10 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
	}
	var out strings.Builder
	s := New(&out, Options{Narration: Full})
	t.Cleanup(s.Close)
	port := freePort(t)
	mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
		"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port))
	got, err := evalOut(s, &out, "ports")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "more") {
		t.Fatalf("got a table of every socket, want one cut at %d lines: the test did not fill it\n%s", maxPortLines, got)
	}
	for _, want := range []string{"server (fd", "client (fd", "(in an accept queue)"} {
		if !strings.Contains(got, want) {
			t.Errorf("ports: got no %q in the table\n%s", want, got)
		}
	}
}
