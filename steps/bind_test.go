package steps

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestBindNamesTheHolder binds where a socket of the session already holds
// the port, to the same address and to every interface: the refusal names
// that socket, which is the one to close.
func TestBindNamesTheHolder(t *testing.T) {
	for _, host := range []string{"127.0.0.1", ""} {
		t.Run("host "+host, func(t *testing.T) {
			l := newLab(t)
			port := listener(t, l, families[0], "server")
			run(t, l, "socket", "as", "other")
			rep := refused(t, l, unix.EADDRINUSE, "bind", "other", host, port)
			if want := "server (fd"; !strings.Contains(rep.Failure.ForStep, want) || !strings.Contains(rep.Failure.ForStep, "it listens there") {
				t.Errorf("got %q, want it to name %s and its state", rep.Failure.ForStep, want)
			}
		})
	}
}

// TestBindNamesTheConnectionThatHoldsThePort closes a listener whose
// accepted connection is still open: that connection holds the port, and
// bind says so.
func TestBindNamesTheConnectionThatHoldsThePort(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	port := portOf(t, l, "server")
	run(t, l, "close", "server")
	run(t, l, "socket", "as", "again")
	rep := refused(t, l, unix.EADDRINUSE, "bind", "again", "127.0.0.1", port)
	if want := "its connection uses that port (ESTABLISHED)"; !strings.Contains(rep.Failure.ForStep, "conn (fd") || !strings.Contains(rep.Failure.ForStep, want) {
		t.Errorf("got %q, want conn named and %q", rep.Failure.ForStep, want)
	}
}
