package repl

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// exampleLine finds the example a refusal shows.
var exampleLine = regexp.MustCompile(`(?m)^  (?:example|first)  *(.+)$`)

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

// TestQuotingMistakesShowHowToQuote: a line the word splitter refuses
// gets, typed in the shell, read from a script or given to -c, the same
// refusal: what is wrong, how words are quoted, and an example that
// splits. Each quoting rule it states holds for SplitWords.
func TestQuotingMistakesShowHowToQuote(t *testing.T) {
	ways := map[string]func(s *Session, line string) int{
		"typed": func(s *Session, line string) int {
			if s.Eval(context.Background(), line) != nil {
				return 1
			}
			return 0
		},
		"script": func(s *Session, line string) int {
			return s.RunScript(context.Background(), strings.NewReader(line+"\n"))
		},
		"-c": func(s *Session, line string) int { return s.RunCommands(context.Background(), line) },
	}
	for _, line := range []string{`send c "hello`, `send c 'hello`, `send c "\u00e9"`, `send c "\x4"`, `send c hello\`} {
		_, splitErr := SplitWords(line)
		if splitErr == nil {
			t.Fatalf("%s: SplitWords takes it", line)
		}
		var said []string
		for way, eval := range ways {
			out := new(strings.Builder)
			s := New(out, Options{Width: 80})
			if failed := eval(s, line); failed != 1 {
				t.Errorf("%s, %s: %d commands failed, want 1", line, way, failed)
			}
			s.Close()
			got := out.String()
			if i := strings.Index(got, "  ✗ "); i >= 0 {
				got = got[i:]
			}
			got, _, _ = strings.Cut(got, "\n\n")
			got = strings.TrimSuffix(got, "\n")
			said = append(said, got)
			if problemSaid(got) != strings.Join(strings.Fields(splitErr.Error()), " ") {
				t.Errorf("%s, %s: got %q, want the splitter's %q", line, way, got, splitErr)
			}
			m := exampleLine.FindStringSubmatch(got)
			if m == nil || !strings.Contains(got, "\n  usage   \"TEXT\" keeps spaces and decodes ") {
				t.Errorf("%s, %s: got %q, want how to quote and an example", line, way, got)
				continue
			}
			if words, err := SplitWords(m[1]); err != nil || !strings.Contains(m[1], `"`) {
				t.Errorf("%s, %s: its example %q splits into %q, %v; want a quoted word in it", line, way, m[1], words, err)
			}
		}
		for _, other := range said[1:] {
			if other != said[0] {
				t.Errorf("%s: said %q one way and %q another", line, said[0], other)
			}
		}
	}
	// The rules the usage states.
	for _, tt := range []struct {
		line string
		want []string
	}{
		{`"a b" "\n\r\t\\\"\0\x41"`, []string{"a b", "\n\r\t\\\"\x00A"}},
		{`'a\n "b'`, []string{`a\n "b`}},
		{`a\ b\"`, []string{`a b"`}},
	} {
		if got, err := SplitWords(tt.line); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("SplitWords(%s) = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
}
