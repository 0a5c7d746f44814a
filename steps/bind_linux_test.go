package steps

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestBindWhereTimeWaitHolds: a bind refused because a connection that
// ended waits in TIME_WAIT on the port, with no socket left there, says
// so in its one-line meaning, which every narration shows; one refused
// because a socket listens there says a socket holds it.
func TestBindWhereTimeWaitHolds(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			conn, client := Read(sock(t, l, "conn")), Read(sock(t, l, "client"))
			port := strconv.Itoa(int(conn.Local.Port()))
			for _, name := range []string{"conn", "client", "server"} { // conn closed first: its end waits in TIME_WAIT
				run(t, l, "close", name)
			}
			st, ok := ConnectionState(conn.Local, client.Local)
			for deadline := time.Now().Add(time.Second); st != TimeWait && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
				st, ok = ConnectionState(conn.Local, client.Local)
			}
			if !ok || st != TimeWait {
				t.Fatalf("the kernel has %v (found %v) at %v, want TIME_WAIT", st, ok, conn.Local)
			}
			run(t, l, "socket", "tcp", f.name, "as", "late")
			rep := refused(t, l, unix.EADDRINUSE, "bind", "late", f.loopback, port)
			if m := rep.Failure.Meaning; !strings.Contains(m, "No socket holds this address and port") || !strings.Contains(m, "TIME_WAIT") {
				t.Errorf("bind where only TIME_WAIT holds the port: got meaning %q, want no socket and TIME_WAIT", m)
			}
			if !strings.Contains(rep.Failure.ForStep, "`ports "+port+"`") {
				t.Errorf("got %q, want `ports %s`, which lists the TIME_WAIT entry", rep.Failure.ForStep, port)
			}
		})
	}
	t.Run("a listener outside", func(t *testing.T) {
		l := newLab(t)
		fd, p := outsideSocket(t, unix.SOCK_STREAM)
		defer unix.Close(fd)
		if err := unix.Listen(fd, 1); err != nil {
			t.Fatal(err)
		}
		run(t, l, "socket", "as", "late")
		rep := refused(t, l, unix.EADDRINUSE, "bind", "late", "127.0.0.1", strconv.Itoa(p))
		if m := rep.Failure.Meaning; !strings.Contains(m, "Another socket already holds") {
			t.Errorf("bind where a socket listens: got meaning %q, want another socket", m)
		}
	})
}
