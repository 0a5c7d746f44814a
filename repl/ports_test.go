package repl

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"sockstep/steps"
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
			if f := strings.Fields(line); len(f) > 5 && f[3] == "CLOSE_WAIT" && strings.Contains(line, "conn (fd") {
				return f
			}
		}
		t.Fatalf("no CLOSE_WAIT row for conn in\n%s", got)
		return nil
	}
	if row := closeWait(); row[4] != "1" {
		t.Errorf("before recv: got RECV-Q %s, want 1, the FIN", row[4])
	}
	mustEval(t, s, "recv conn")
	if row := closeWait(); row[4] != "0" {
		t.Errorf("after recv returned 0: got RECV-Q %s, want 0", row[4])
	}
}

// TestPortsNamesATimeWaitWhoseSocketIsOpen ends a connection with a
// shutdown from each side, which leaves the client's end in TIME_WAIT
// while its descriptor is still open and its socket CLOSED: the kernel's
// TIME_WAIT row must be named after the client, before its close and
// after it, whether or not ports was asked before the close.
func TestPortsNamesATimeWaitWhoseSocketIsOpen(t *testing.T) {
	for _, tt := range []struct {
		name, family, host string
		askFirst           bool // ports is asked before the close
	}{
		{"ipv4", "ipv4", "127.0.0.1", true},
		{"ipv6", "ipv6", "::1", true},
		{"ipv4, closed before ports", "ipv4", "127.0.0.1", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, out := fullSession(t)
			port := freePort(t)
			mustEval(t, s, "socket "+tt.family+" as server", fmt.Sprintf("bind server %s %d", tt.host, port), "listen server",
				"socket "+tt.family+" as c", fmt.Sprintf("connect c %s %d", tt.host, port), "accept server as conn",
				"shutdown c write", "shutdown conn write")
			c := mustFind(t, s, "c")
			// The kernel's row of c's connection, once it is in TIME_WAIT.
			var local string
			for deadline := time.Now().Add(2 * time.Second); local == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				conns, err := steps.Connections()
				if err != nil {
					t.Skip(err)
				}
				for _, conn := range conns {
					if int(conn.Remote.Port()) == port && conn.State == steps.TimeWait {
						local = conn.Local.String()
					}
				}
			}
			if local == "" {
				t.Fatalf("no TIME_WAIT entry from c to port %d in the kernel's table", port)
			}
			row := func(want string) {
				t.Helper()
				got, err := evalOut(s, out, fmt.Sprint("ports ", port))
				if err != nil {
					t.Fatal(err)
				}
				for _, line := range strings.Split(got, "\n") {
					if f := strings.Fields(line); len(f) > 3 && f[1] == local && f[3] == "TIME_WAIT" {
						if !strings.HasSuffix(line, "  "+want) {
							t.Errorf("got row %q, want it named %q", line, want)
						}
						return
					}
				}
				t.Errorf("no TIME_WAIT row from %s in\n%s", local, got)
			}
			if tt.askFirst {
				row("was " + c.Label())
			}
			mustEval(t, s, "close c")
			row("was c")
		})
	}
}
