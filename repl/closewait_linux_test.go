//go:build linux

package repl

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"sockstep/steps"
)

// TestSocketsExplainsTheFINInCloseWait: in CLOSE_WAIT, SIOCINQ, which
// `sockets` shows, leaves out the peer's FIN, and /proc/net/tcp, which
// `ports` and ss show, counts it; sockets says so.
func TestSocketsExplainsTheFINInCloseWait(t *testing.T) {
	s, out := pairSession(t)
	const note = "In CLOSE_WAIT, RECV-Q counts bytes only (SIOCINQ); `ports` and ss count the peer's FIN as 1 more, until recv has returned 0."
	got, _ := evalOut(s, out, "sockets")
	if strings.Contains(strings.Join(strings.Fields(got), " "), note) {
		t.Errorf("sockets with no CLOSE_WAIT: got\n%s\nwant no note on it", got)
	}
	mustEval(t, s, "send client hi", "close client")
	conn := mustFind(t, s, "conn")
	inq, err := unix.IoctlGetInt(conn.FD, unix.SIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	snap := steps.Read(conn)
	conns, err := steps.Connections()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if c.Local == snap.Local && c.Remote == snap.Remote && c.RecvQ != inq+1 {
			t.Fatalf("/proc/net/tcp: RECV-Q %d, SIOCINQ %d; want the FIN counted as 1 more", c.RecvQ, inq)
		}
	}
	got, _ = evalOut(s, out, "sockets")
	if !strings.Contains(strings.Join(strings.Fields(got), " "), note) {
		t.Errorf("sockets: got\n%s\nwant %q", got, note)
	}
}
