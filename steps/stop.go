package steps

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

var waitingProse = loadProse("waiting.txt", "waiting", "stopped", "timed out")

// waitData is what waiting.txt can use.
type waitData struct {
	Label, Name, What, Timeout, State string
	Waited                            ms
}

// wait waits for the socket to be ready, telling the learner what it is
// waiting for. It returns a report to give instead of the call's when the
// wait ended first (Ctrl-C or --timeout); nil means the socket is ready.
// Without --timeout, the socket's own SO_RCVTIMEO (for POLLIN) or
// SO_SNDTIMEO (for POLLOUT) bounds the wait as it bounds a blocking call,
// and its passing is the kernel's EAGAIN. A socket that is not ready and
// non-blocking (O_NONBLOCK) is not waited for: wait returns
// errNonBlocking, and the call the kernel's EAGAIN. Nothing but readiness
// is asked of a socket that is ready, which on a busy server most are.
func (l *Lab) wait(ctx context.Context, s *Socket, events int16, timeout time.Duration, call, what string) (*Report, time.Duration, error) {
	if ok, err := pollOnce(s.FD, events, 0); ok || err != nil {
		return nil, 0, err
	}
	return l.waitAfterEAGAIN(ctx, s, events, timeout, call, what)
}

// waitAfterEAGAIN is wait for a socket that a call made with MSG_DONTWAIT
// has just found not ready (EAGAIN): poll is not asked again first, so a
// recv or send whose socket is ready costs one system call, as it does
// in the learner's own program.
func (l *Lab) waitAfterEAGAIN(ctx context.Context, s *Socket, events int16, timeout time.Duration, call, what string) (*Report, time.Duration, error) {
	if nonBlocking(s.FD) {
		return nil, 0, errNonBlocking
	}
	return l.waitNotReady(ctx, s, events, timeout, call, what, nil)
}

// errNonBlocking is wait's answer for a non-blocking socket that is not
// ready: the call is to be made at once.
var errNonBlocking = errors.New("a non-blocking socket does not wait")

// waitOrUndo is wait for a call that has already changed the socket when
// the wait is stopped (connect's handshake has begun): undo puts the
// socket back before its state is read for the report. Its caller has
// made the socket non-blocking for the wait, so that is not asked.
func (l *Lab) waitOrUndo(ctx context.Context, s *Socket, events int16, timeout time.Duration, call, what string, undo func()) (*Report, time.Duration, error) {
	if ok, err := pollOnce(s.FD, events, 0); ok || err != nil {
		return nil, 0, err
	}
	return l.waitNotReady(ctx, s, events, timeout, call, what, undo)
}

// waitNotReady is the wait of wait, waitAfterEAGAIN and waitOrUndo, for a
// socket that poll or the call has just found not ready.
func (l *Lab) waitNotReady(ctx context.Context, s *Socket, events int16, timeout time.Duration, call, what string, undo func()) (*Report, time.Duration, error) {
	kernelTimeout := false
	if timeout == 0 {
		timeout = socketTimeout(s.FD, events)
		kernelTimeout = timeout > 0
	}
	data := func() waitData {
		return waitData{Label: s.Label(), Name: s.Name, What: what, Timeout: timeout.String()}
	}
	announce := func() string { return waitingProse.Render("waiting", data()) }
	if what == "" {
		announce = nil // the caller has said what it waits for already
	}
	end, waited, err := l.waitFor(ctx, s, events, timeout, announce)
	if err != nil || end == ready {
		return nil, waited, err
	}
	if end == timedOut && kernelTimeout {
		return nil, waited, unix.EAGAIN
	}
	if undo != nil {
		undo()
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

// socketTimeout is the socket's SO_RCVTIMEO or SO_SNDTIMEO, or zero.
func socketTimeout(fd int, events int16) time.Duration {
	opt := unix.SO_RCVTIMEO
	if events == unix.POLLOUT {
		opt = unix.SO_SNDTIMEO
	}
	tv, err := unix.GetsockoptTimeval(fd, unix.SOL_SOCKET, opt)
	if err != nil {
		return 0
	}
	return time.Duration(tv.Nano())
}

// nonBlocking says whether O_NONBLOCK is set: the socket's calls return
// EAGAIN instead of waiting.
func nonBlocking(fd int) bool {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	return err == nil && flags&unix.O_NONBLOCK != 0
}
