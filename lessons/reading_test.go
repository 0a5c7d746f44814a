package lessons

import (
	"strings"
	"testing"
	"time"

	"sockstep/steps"
)

// readingAfter is the text of the read cells shown once step i is done.
func readingAfter(lesson *Lesson, i int) string {
	cells := lesson.Ending
	if i+1 < len(lesson.Pages) {
		cells = lesson.Pages[i+1].Reading
	}
	var all []string
	for _, p := range cells {
		for _, b := range p {
			all = append(all, b.Text)
		}
	}
	return strings.Join(all, "\n")
}

// finWaitsNamed holds what the reading after step i says of a closing
// connection to the kernel's table, read right after the step: when it
// names FIN_WAIT1 or FIN_WAIT2, it names the state each connection of the
// lesson in either is in; and when it names FIN_WAIT2 too, one in
// FIN_WAIT1 gets there a moment later, once the peer's ACK of the FIN has
// come.
func finWaitsNamed(t *testing.T, lesson *Lesson, i int, m *memory) {
	t.Helper()
	reading := readingAfter(lesson, i)
	if !strings.Contains(reading, "FIN_WAIT") {
		return
	}
	conns, err := steps.Connections()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if (c.State != steps.FinWait1 && c.State != steps.FinWait2) || !m.hasEnds(c.Local, c.Remote) {
			continue
		}
		if !strings.Contains(reading, c.State.String()) {
			t.Errorf("%s:%d: the kernel's table holds %s → %s in %s right after the step, and the reading after it does not say so:\n%s",
				lesson.File, lesson.Pages[i].Step.Line, c.Local, c.Remote, c.State, reading)
		}
		if c.State == steps.FinWait1 && strings.Contains(reading, steps.FinWait2.String()) {
			if got := stateLater(t, c, time.Second); got != steps.FinWait2 {
				t.Errorf("%s:%d: %s → %s went from FIN_WAIT1 to %v within a second; the reading after the step says FIN_WAIT2",
					lesson.File, lesson.Pages[i].Step.Line, c.Local, c.Remote, got)
			}
		}
	}
}

// stateLater waits, at most for limit, until the connection c has left
// the state it was read in, and returns its state then.
func stateLater(t *testing.T, c steps.Connection, limit time.Duration) steps.TCPState {
	t.Helper()
	state := c.State
	for deadline := time.Now().Add(limit); state == c.State && time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		conns, err := steps.Connections()
		if err != nil {
			t.Fatal(err)
		}
		for _, now := range conns {
			if now.Local == c.Local && now.Remote == c.Remote {
				state = now.State
			}
		}
	}
	return state
}
