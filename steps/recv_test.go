package steps

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPartialRecv reads part of what waits: the report says how much it
// took and how much stays, and the next recv finds exactly that much.
func TestPartialRecv(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	if rep := run(t, l, "send", "client", "--bytes", "5000"); !strings.Contains(rep.Says, "in 1 send call of") {
		t.Errorf("send --bytes 5000: got %q, want one call, in the singular", rep.Says)
	}
	rep := run(t, l, "recv", "conn", "1000")
	for _, want := range []string{"copied the first 1000 of the bytes waiting", "4000 more stay queued"} {
		if !strings.Contains(rep.Says, want) {
			t.Errorf("recv conn 1000: got %q, want %q", rep.Says, want)
		}
	}
	if rest := run(t, l, "recv", "conn", "--all"); len(rest.Data) != 4000 {
		t.Errorf("recv conn --all: got %d bytes, want the 4000 the report said stay", len(rest.Data))
	}
}

// TestRecvAllOfNothing drains an empty queue: one call, which found
// nothing, told in the singular, and nothing said of bytes not shown.
func TestRecvAllOfNothing(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	rep := run(t, l, "recv", "conn", "--all")
	if !strings.HasSuffix(rep.Call, ": 1 call, 0 bytes") || len(rep.Data) != 0 {
		t.Errorf("recv conn --all: got %q and %d bytes, want 1 call and none", rep.Call, len(rep.Data))
	}
	wantSays(t, "recv --all of nothing", rep, "Nothing was queued")
	if strings.Contains(rep.Says, "shown") {
		t.Errorf("got %q, which speaks of bytes shown", rep.Says)
	}
}

// TestBulkSendTimeout sends far more than a peer that does not read can
// take, with --timeout: the send gives up after that long, says how much
// went, and exactly that much reaches the peer.
func TestBulkSendTimeout(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	told := countWaiting(t, l)
	const timeout = 200 * time.Millisecond
	start := time.Now()
	rep := run(t, l, "send", "client", "--bytes", "64M", "--timeout", timeout.String())
	if took := time.Since(start); took < timeout || took > waitLimit {
		t.Errorf("got back after %v, want between %v and %v", took, timeout, waitLimit)
	}
	if !strings.HasSuffix(rep.Call, "(timed out after 200ms)") || len(*told) != 1 {
		t.Errorf("got call %q, told %q; want it timed out, and the wait told once", rep.Call, *told)
	}
	var sent int
	if _, err := fmt.Sscanf(rep.Says, "The 200ms of --timeout passed first: %d of 67108864 bytes were sent", &sent); err != nil || sent == 0 {
		t.Fatalf("got %q, want how much was sent (%v)", rep.Says, err)
	}
	wantSays(t, "bulk send timed out", rep, "did not do fast enough", "conn (fd")
	// What the report says went is what arrives, once conn reads.
	conn, got := sock(t, l, "conn"), 0
	buf := make([]byte, 1<<16)
	for deadline := time.Now().Add(waitLimit); got < sent && time.Now().Before(deadline); {
		if ok, _ := pollOnce(conn.FD, unix.POLLIN, 100*time.Millisecond); !ok {
			continue
		}
		n, err := unix.Read(conn.FD, buf)
		if err != nil || n == 0 {
			t.Fatalf("read: %d, %v", n, err)
		}
		got += n
	}
	if ok, _ := pollOnce(conn.FD, unix.POLLIN, 50*time.Millisecond); got != sent || ok {
		t.Errorf("conn received %d bytes (more waiting: %v), want the %d the report said were sent", got, ok, sent)
	}
}
