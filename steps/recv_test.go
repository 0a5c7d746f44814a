package steps

import (
	"strings"
	"testing"
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
