package steps

import (
	"context"
	"time"
)

var waitingProse = loadProse("waiting.txt", "waiting", "stopped", "timed out")

// waitData is what waiting.txt can use.
type waitData struct {
	Label, Name, What, Waited, Timeout, State string
}

// wait waits for the socket to be ready, telling the learner what it is
// waiting for. It returns a report to give instead of the call's when the
// wait ended first (Ctrl-C or --timeout); nil means the socket is ready.
func (l *Lab) wait(ctx context.Context, s *Socket, events int16, timeout time.Duration, call, what string) (*Report, time.Duration, error) {
	data := func() waitData {
		return waitData{Label: s.Label(), Name: s.Name, What: what, Timeout: timeout.String()}
	}
	end, waited, err := l.waitFor(ctx, s, events, timeout, func() string { return waitingProse.Render("waiting", data()) })
	if err != nil || end == ready {
		return nil, waited, err
	}
	d := data()
	d.Waited = ms(waited)
	d.State = Read(s).Summary(s.Kind)
	section, result := "stopped", "stopped waiting (Ctrl-C)"
	if end == timedOut {
		section, result = "timed out", "timed out after "+timeout.String()
	}
	return &Report{Call: call + " … " + result, Says: waitingProse.Render(section, d), Stopped: true}, waited, nil
}
