package repl

import (
	"strings"
	"testing"
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
