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
	s, out := fullSession(t)
	port := freePort(t)
	mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
		"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port))
	got, err := evalOut(s, out, "ports")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "more (`ports PORT` shows one port's)") {
		t.Fatalf("got a table of every socket, want one cut at %d lines: the test did not fill it\n%s", maxPortLines, got)
	}
	for _, want := range []string{"server (fd", "client (fd", "(in an accept queue)"} {
		if !strings.Contains(got, want) {
			t.Errorf("ports: got no %q in the table\n%s", want, got)
		}
	}
}

// TestPortsCountsTheFIN reads the row of a connection whose peer has
// closed: its RECV-Q counts the FIN as 1, as the legend says, until recv
// has returned 0, though no byte waits.
func TestPortsCountsTheFIN(t *testing.T) {
	s, out := pairSession(t)
	mustEval(t, s, "close client")
	closeWait := func() []string {
		t.Helper()
		got, err := evalOut(s, out, "ports")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, "A FIN counts as 1") {
			t.Errorf("the legend does not say how a FIN is counted:\n%s", got)
		}
		for _, line := range strings.Split(got, "\n") {
			if f := strings.Fields(line); len(f) > 4 && f[2] == "CLOSE_WAIT" && strings.Contains(line, "conn (fd") {
				return f
			}
		}
		t.Fatalf("no CLOSE_WAIT row for conn in\n%s", got)
		return nil
	}
	if row := closeWait(); row[3] != "1" {
		t.Errorf("before recv: got RECV-Q %s, want 1, the FIN", row[3])
	}
	mustEval(t, s, "recv conn")
	if row := closeWait(); row[3] != "0" {
		t.Errorf("after recv returned 0: got RECV-Q %s, want 0", row[3])
	}
}
