package repl

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// exampleLine finds the example a refusal shows.
var exampleLine = regexp.MustCompile(`(?m)^  example (.+)$`)

// TestUnknownCommandShowsAWayForward: a line whose first word is no
// command, with or without one close to it, and help for a name that is
// no command, are refused with a usage and an example, and change
// nothing. Where no command is close to it, the example, typed next,
// works: it is a first step, or help for one. (The usage of a command it
// is close to comes with that command's own example, which names sockets
// the session may not have.)
func TestUnknownCommandShowsAWayForward(t *testing.T) {
	tests := []struct {
		before []string
		typed  string
		near   bool   // a command is close to it
		usage  string // what the usage shown begins with
	}{
		{nil, "frobnicate", false, "COMMAND "},
		{nil, "x", false, "COMMAND "},
		{[]string{"socket as s"}, "x", false, "COMMAND "},
		{[]string{"socket as s", "socket as s2"}, "frobnicate now", false, "COMMAND "},
		{nil, "bnid", true, "bind "},
		{nil, "help bogus", false, "help "},
		{nil, "help x y", false, "help "},
		{nil, "help bnid", false, "help "},
		{[]string{"socket as s"}, "help frobnicate", false, "help "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append(tt.before, tt.typed), "; "), func(t *testing.T) {
			s, out := fullSession(t)
			mustEval(t, s, tt.before...)
			names := s.Lab().Names()
			said, err := evalOut(s, out, tt.typed)
			if err == nil || !strings.Contains(said, "there is no command") || !strings.Contains(said, "`help` lists every command") {
				t.Fatalf("got %q, %v; want it refused as no command, pointing to help", said, err)
			}
			if !strings.Contains(said, "\n  usage   "+tt.usage) {
				t.Errorf("got %q, want the usage %s…", said, tt.usage)
			}
			if got := s.Lab().Names(); !slices.Equal(got, names) {
				t.Errorf("the sockets were %q and are %q: a refused line changed them", names, got)
			}
			m := exampleLine.FindStringSubmatch(said)
			if m == nil {
				t.Fatalf("got %q, which shows no example", said)
			}
			if tt.near {
				return
			}
			if shown, err := evalOut(s, out, m[1]); err != nil {
				t.Errorf("its example %q fails when typed: %v\n%s", m[1], err, shown)
			}
		})
	}
}
