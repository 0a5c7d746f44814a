package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestLessonFromAPipe(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("NO_COLOR", "1")
	port := freeTestPort(t)
	commands := []string{"socket as s", fmt.Sprintf(`bind s "" %d`, port), "listen s", "show s", "socket as l", "bind l 127.0.0.1 0"}
	cases := []struct {
		name     string
		args     []string
		lines    []string
		wantCode int
		want     []string
	}{
		{"the whole lesson", []string{"lesson", "1"}, commands, 0,
			[]string{"Lesson 1: The server's side", "── Lesson 1 · step 1 of 5", "[2] › " + commands[1], "✔ s (fd", "✔ Lesson 1 is done."}},
		{"a step short", []string{"lesson", "1"}, commands[:len(commands)-1], 1,
			[]string{"Not yet: No socket of this lesson is bound to the loopback address."}},
		{"no such lesson", []string{"lesson", "99"}, nil, 2, []string{"there is no lesson 99"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			code := run(c.args, strings.NewReader(strings.Join(c.lines, "\n")), &out, &out)
			if code != c.wantCode {
				t.Errorf("exit status: got %d, want %d; output:\n%s", code, c.wantCode, out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
