package steps

import (
	"strings"
	"testing"
	"time"
)

// TestEmptySend sends 0 bytes: on TCP nothing goes to the peer, whose recv
// must go on waiting, as the report says; on UDP an empty datagram goes,
// and the receiver's recv returns it, 0 bytes long.
func TestEmptySend(t *testing.T) {
	t.Run("tcp", func(t *testing.T) {
		l := newLab(t)
		pair(t, l, families[0])
		rep := run(t, l, "send", "conn", "")
		if want := "sent nothing"; !strings.Contains(rep.Says, want) || len(rep.Packets) != 0 {
			t.Errorf("got %q and packets %v, want %q and no packet", rep.Says, rep.Packets, want)
		}
		if rep.Next != `send conn "hello"` {
			t.Errorf("got next %q, want a send of some text", rep.Next)
		}
		start := time.Now()
		if got, err := try(t, l, "recv", "client", "--timeout", "100ms"); err != nil || !got.Stopped {
			t.Errorf("the peer's recv: got %v after %v, want it to wait until its timeout", err, time.Since(start))
		}
	})
	t.Run("udp", func(t *testing.T) {
		l := newLab(t)
		run(t, l, "socket", "udp", "as", "a")
		run(t, l, "bind", "a", "127.0.0.1", "0")
		run(t, l, "socket", "udp", "as", "b")
		run(t, l, "connect", "b", "127.0.0.1", portOf(t, l, "a"))
		rep := run(t, l, "send", "b", "")
		if want := "0 bytes as one datagram"; !strings.Contains(rep.Says, want) {
			t.Errorf("got %q, want %q", rep.Says, want)
		}
		if got := run(t, l, "recv", "a", "--timeout", "1s"); got.Stopped || len(got.Data) != 0 {
			t.Errorf("recv a: got %q, want the empty datagram", got.Call)
		}
	})
}
