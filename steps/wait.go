package steps

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// pollSlice is how long one poll waits before checking whether the learner
// pressed Ctrl-C, so that a stop is noticed within a tenth of a second.
const pollSlice = 100 * time.Millisecond

// A waitEnd says why a wait ended without the socket becoming ready.
type waitEnd int

const (
	ready    waitEnd = iota
	stopped          // the context was cancelled: Ctrl-C
	timedOut         // --timeout passed
)

// waitFor waits until a socket that was not ready is ready for events
// (POLLIN for accept and recv, POLLOUT for connect and send), the context
// is cancelled, or timeout has passed since start (zero waits for ever).
// It first sleeps for pause, asking nothing of the socket. Before it
// blocks it tells the lab's Waiting what it waits for, as what writes it.
// It consumes nothing: the call that follows does.
func (l *Lab) waitFor(ctx context.Context, s *Socket, events int16, timeout time.Duration, start time.Time, pause time.Duration, what func() string) (waitEnd, error) {
	if l.Waiting != nil && what != nil {
		l.Waiting(what)
	}
	for {
		slice := pollSlice
		if timeout > 0 {
			left := timeout - time.Since(start)
			if left <= 0 {
				return timedOut, nil
			}
			slice = min(slice, left)
		}
		if ctx.Err() != nil {
			return stopped, nil
		}
		if pause > 0 {
			pause = min(pause, slice)
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
			pause = 0
			continue
		}
		ok, err := pollOnce(s.FD, events, slice)
		if ok || err != nil {
			return ready, err
		}
	}
}

// pollOnce polls one fd. A hang-up or error counts as ready, so that the
// call that follows reports it.
func pollOnce(fd int, events int16, d time.Duration) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
	n, err := pollCall(fds, int(d/time.Millisecond))
	if errors.Is(err, unix.EINTR) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return n > 0 && fds[0].Revents&(events|unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0, nil
}
