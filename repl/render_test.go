package repl

import (
	"strings"
	"testing"
	"time"

	"sockstep/steps"
)

// FuzzWrapInto holds wrapInto, which writes lines straight into the
// output, to wrap, which returns them.
func FuzzWrapInto(f *testing.F) {
	f.Add("The kernel took the first finished connection off server_socket (fd 5)'s accept queue", 30)
	f.Add("  two  spaces\tand a tab  ", 20)
	f.Add("a-very-long-word-that-does-not-fit-on-any-line-at-all and more", 20)
	f.Fuzz(func(t *testing.T, text string, width int) {
		var b strings.Builder
		wrapInto(&b, text, width, "> ", ". ")
		var want strings.Builder
		for i, line := range wrap(text, width) {
			if i == 0 {
				want.WriteString("> ")
			} else {
				want.WriteString(". ")
			}
			want.WriteString(line + "\n")
		}
		if b.String() != want.String() {
			t.Errorf("wrapInto(%q, %d) wrote %q, want %q", text, width, b.String(), want.String())
		}
	})
}

// TestCallLineRoundsAsTheProse: the time a call line shows beside the
// call is rounded as the narration rounds it (to the nearest hundredth of
// a millisecond), so that the two never disagree by a hundredth.
func TestCallLineRoundsAsTheProse(t *testing.T) {
	r := renderer{st: newStyle(false), width: 80}
	for _, tt := range []struct {
		took time.Duration
		want string
	}{
		{75900 * time.Nanosecond, "handshake 0.08 ms"}, // 75 whole microseconds would round down
		{1234567 * time.Nanosecond, "handshake 1.23 ms"},
		{19 * time.Microsecond, "handshake 0.02 ms"},
	} {
		var b strings.Builder
		r.callLine(&b, &steps.Report{Call: "connect(5, 127.0.0.1:8081) = 0", Took: tt.took, TookAs: "handshake"})
		if !strings.HasSuffix(strings.TrimSpace(b.String()), tt.want) {
			t.Errorf("took %v: got %q, want it to end %q", tt.took, b.String(), tt.want)
		}
	}
}
