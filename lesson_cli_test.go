package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// A lesson played from a pipe says in its output what its exit status
// says, as lessons/README.md tells teachers who grade from the output:
// "✔ Lesson N is done." exactly when it is done, and otherwise the last
// step heading names the step it stopped at.
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
		lastStep string // the last step heading, or "" for none
	}{
		{"the whole lesson", []string{"lesson", "1"}, commands, 0,
			[]string{"Lesson 1: The server's side", "── Lesson 1 · step 1 of 5", "[2] › " + commands[1], "✔ s (fd", "✔ Lesson 1 is done."}, "── Lesson 1 · step 5 of 5"},
		{"a step short", []string{"lesson", "1"}, commands[:len(commands)-1], 1,
			[]string{"Not yet: No socket of this lesson is bound to the loopback address."}, "── Lesson 1 · step 5 of 5"},
		{"two steps short", []string{"lesson", "1"}, commands[:3], 1, nil, "── Lesson 1 · step 4 of 5"},
		{"no such lesson", []string{"lesson", "99"}, nil, 2, []string{"there is no lesson 99"}, ""},
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
			if done := strings.Contains(out.String(), "✔ Lesson 1 is done."); done != (c.wantCode == 0) {
				t.Errorf("exit status %d, yet the output says the lesson is done: %v", c.wantCode, done)
			}
			text := out.String()
			lines := strings.Split(strings.TrimSpace(text), "\n")
			if notDone := strings.HasPrefix(strings.TrimSpace(lines[len(lines)-1]), "✗ Lesson 1 is not done"); notDone != (c.wantCode == 1) {
				t.Errorf("exit status %d, and the last line is %q: want it to say the lesson is not done exactly when the status is 1", c.wantCode, lines[len(lines)-1])
			}
			if c.lastStep != "" && c.wantCode == 1 && !strings.HasSuffix(lines[len(lines)-1], "it stopped at "+strings.TrimPrefix(c.lastStep, "── Lesson 1 · ")+".") {
				t.Errorf("the last line %q does not name the step of the last heading, %q", lines[len(lines)-1], c.lastStep)
			}
			last := strings.LastIndex(text, "── Lesson")
			if c.lastStep == "" && last >= 0 || c.lastStep != "" && (last < 0 || !strings.HasPrefix(text[last:], c.lastStep)) {
				t.Errorf("the last step heading is not %q:\n%s", c.lastStep, text)
			}
		})
	}
}
