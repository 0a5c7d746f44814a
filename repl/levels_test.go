package repl

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOptionValuesAtEveryLevel: what `option` reads is the call's result,
// as received data is, not narration: at every level the output holds the
// value the kernel has for the option after the command.
func TestOptionValuesAtEveryLevel(t *testing.T) {
	tests := []struct {
		name   string
		before []string // after socket udp as u
		line   string
		opt    int
		shown  func(v int) string // a pattern for the value's line
	}{
		{"one option", nil, "option u SO_RCVBUF", unix.SO_RCVBUF,
			func(v int) string { return fmt.Sprintf(`SO_RCVBUF +%d bytes`, v) }},
		{"one option after setting it", []string{"option u SO_RCVBUF 4096"}, "option u SO_RCVBUF", unix.SO_RCVBUF,
			func(v int) string { return fmt.Sprintf(`SO_RCVBUF +%d bytes`, v) }},
		{"every option", []string{"option u SO_SNDBUF 6000"}, "option u", unix.SO_SNDBUF,
			func(v int) string { return fmt.Sprintf(`SO_SNDBUF +%d bytes`, v) }},
		{"a flag", []string{"option u SO_REUSEADDR on"}, "option u SO_REUSEADDR", unix.SO_REUSEADDR,
			func(v int) string { return `SO_REUSEADDR +` + map[bool]string{true: "on", false: "off"}[v != 0] }},
	}
	for name, level := range narrationNames {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				out := new(strings.Builder)
				s := New(out, Options{Narration: level})
				t.Cleanup(s.Close)
				mustEval(t, s, append([]string{"socket udp as u"}, tt.before...)...)
				got, err := evalOut(s, out, tt.line)
				if err != nil {
					t.Fatalf("%s: %v\n%s", tt.line, err, got)
				}
				v, err := unix.GetsockoptInt(mustFind(t, s, "u").FD, unix.SOL_SOCKET, tt.opt)
				if err != nil {
					t.Fatal(err)
				}
				if want := tt.shown(v); !regexp.MustCompile(want).MatchString(got) {
					t.Errorf("narrate %s, %s: the kernel has %d, want a line matching %q:\n%s", name, tt.line, v, want, got)
				}
			})
		}
	}
}
