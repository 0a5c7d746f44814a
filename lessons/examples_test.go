package lessons

import (
	"errors"
	"testing"

	"sockstep/repl"
)

// TestEveryExampleRuns types each lesson command's example, as `help`
// and a usage error show it, with a lesson started when the command acts
// on one, and fails if the example fails.
func TestEveryExampleRuns(t *testing.T) {
	l := newLab(t, "")
	_, cmds := l.tutor.Commands()
	for _, c := range cmds {
		t.Run(c.Name, func(t *testing.T) {
			l := newLab(t, "")
			if c.Name != cmdLessons && c.Name != cmdLesson {
				if err := l.enter("lesson 1"); err != nil {
					t.Fatalf("lesson 1: %v\n%s", err, l.out)
				}
			}
			if err := l.enter(c.Example); err != nil && !errors.Is(err, repl.ErrQuit) {
				t.Errorf("the example %q fails: %v\n%s", c.Example, err, l.out)
			}
		})
	}
}
