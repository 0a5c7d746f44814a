package steps

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var waitingProse = loadProse("waiting.txt", "waiting", "stopped", "timed out")

// waitData is what waiting.txt can use.
type waitData struct {
	Label, Name, What, Timeout, State string
	Stopper                           string // what stopped the wait: Ctrl-C, or the signal sockstep was sent
	Waited                            ms
	Undone                            bool   // the call was undone (connect's handshake dissolved), and the socket is CLOSED
	Local                             string // then the address it still has, or ""
	Released                          int    // or the port that went back to the kernel with it
	NoAddress                         bool   // and it has no address either, as a new socket
	LabTimeout                        bool   // Timeout is sockstep's --timeout, not the command's
}

// A waiting is the waiting of one call that the learner would make
// blocking: the socket, what it waits for (POLLIN for accept and recv,
// POLLOUT for connect and send) and the words that tell it. A call that
// sockstep makes as several calls with MSG_DONTWAIT, waiting after each
// EAGAIN (recv, send), keeps one waiting for all of them: the timeout
// bounds all its waits together, as it bounds the one blocking call they
// stand for, and what it waits for is told once.
type waiting struct {
	s          *Socket
	events     int16
	timeout    time.Duration // --timeout; zero takes the socket's own
	call, what string        // what == "": the caller has told it already
	undo       func()        // puts the socket back when the wait is stopped (connect)

	start         time.Time // of the first wait
	rounds        int       // waits so far
	kernelTimeout bool      // timeout is the socket's SO_RCVTIMEO or SO_SNDTIMEO
	labTimeout    bool      // timeout is the lab's Timeout (sockstep --timeout)
	progressed    bool      // the call moved on since the last wait (send took some bytes)
	fruitless     int       // waits in a row that ended ready, after which the call found nothing
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
func (l *Lab) wait(ctx context.Context, w *waiting) (*Report, time.Duration, error) {
	if ok, err := pollOnce(w.s.FD, w.events, 0); ok || err != nil {
		return nil, 0, err
	}
	return l.waitAfterEAGAIN(ctx, w)
}

// waitAfterEAGAIN is wait for a socket that a call made with MSG_DONTWAIT
// has just found not ready (EAGAIN): poll is not asked again first, so a
// recv or send whose socket is ready costs one system call, as it does
// in the learner's own program.
func (l *Lab) waitAfterEAGAIN(ctx context.Context, w *waiting) (*Report, time.Duration, error) {
	if w.rounds == 0 && !l.Blocking && nonBlocking(w.s.FD) {
		return nil, 0, errNonBlocking
	}
	return l.waitNotReady(ctx, w)
}

// errNonBlocking is wait's answer for a non-blocking socket that is not
// ready: the call is to be made at once.
var errNonBlocking = errors.New("a non-blocking socket does not wait")

// waitOrUndo is wait for a call that has already changed the socket when
// the wait is stopped (connect's handshake has begun): w.undo puts the
// socket back before its state is read for the report. Its caller has
// made the socket non-blocking for the wait, so that is not asked.
func (l *Lab) waitOrUndo(ctx context.Context, w *waiting) (*Report, time.Duration, error) {
	if ok, err := pollOnce(w.s.FD, w.events, 0); ok || err != nil {
		return nil, 0, err
	}
	return l.waitNotReady(ctx, w)
}

// waitNotReady is the wait of wait, waitAfterEAGAIN and waitOrUndo, for a
// socket that poll or the call has just found not ready. It returns how
// long this call has waited in all.
func (l *Lab) waitNotReady(ctx context.Context, w *waiting) (*Report, time.Duration, error) {
	s := w.s
	if w.rounds == 0 {
		w.start = time.Now()
		if w.timeout == 0 && !l.Blocking {
			w.timeout = socketTimeout(s.FD, w.events)
			w.kernelTimeout = w.timeout > 0
		}
		if w.timeout == 0 && l.Timeout > 0 {
			w.timeout, w.labTimeout = l.Timeout, true
		}
	}
	w.rounds++
	what, timeout := w.what, w.timeout // not w: the closures would move it to the heap
	data := func() waitData {
		return waitData{Label: s.Label(), Name: s.Name, What: what, Timeout: timeout.String()}
	}
	var announce func() string
	if w.what != "" && w.rounds == 1 {
		announce = func() string { return waitingProse.Render("waiting", data()) }
	}
	// A socket that poll called ready, where the call still found nothing,
	// may be one that poll calls ready for ever (a UDP socket after
	// shutdown(SHUT_RD) is always readable to poll, yet recv waits for a
	// datagram): it is asked again after a pause, not at once.
	if w.rounds > 1 && !w.progressed {
		w.fruitless++
	} else {
		w.fruitless = 0
	}
	w.progressed = false
	pause := time.Duration(0)
	if w.fruitless > 0 {
		pause = min(pollSlice, time.Millisecond<<min(w.fruitless-1, 7))
	}
	end, err := l.waitFor(ctx, s, w.events, w.timeout, w.start, pause, announce)
	waited := time.Since(w.start)
	if err != nil || end == ready {
		return nil, waited, err
	}
	if end == timedOut && w.kernelTimeout {
		return nil, waited, unix.EAGAIN
	}
	if w.undo != nil {
		w.undo()
	}
	d := data()
	d.Waited = ms(waited)
	snap := Read(s)
	d.State = snap.Summary(s.Kind)
	if w.undo != nil && snap.FromKernel && snap.State == Closed {
		d.Undone, d.Released = true, int(snap.Released.Port())
		d.NoAddress = snap.Released.Addr().IsUnspecified()
		if snap.Bound() {
			d.Local = snap.Local.String()
		}
	}
	d.Stopper, d.LabTimeout = StopName(ctx), w.labTimeout
	section, result := "stopped", "stopped waiting ("+d.Stopper+")"
	if end == timedOut {
		section, result = "timed out", "timed out after "+w.timeout.String()
	}
	return &Report{Call: w.call + " … " + result, Says: waitingProse.Render(section, d), Stopped: true}, waited, nil
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

// A Signal is why a context was cancelled when sockstep, with no shell of
// its own, was sent a signal other than Ctrl-C's SIGINT: SIGTERM (kill,
// timeout, systemd), SIGHUP (its terminal went away) or SIGQUIT (Ctrl-\).
// It stops what runs as Ctrl-C does.
type Signal struct{ Name string }

func (sig Signal) Error() string { return "sockstep was sent " + sig.Name }

// SignalOf is the Signal that stops sockstep when it is sent sig.
func SignalOf(sig os.Signal) Signal {
	if number, ok := sig.(syscall.Signal); ok {
		return Signal{Name: unix.SignalName(number)}
	}
	return Signal{Name: sig.String()}
}

// StopName says what cancelled ctx: a Signal, or else Ctrl-C.
func StopName(ctx context.Context) string {
	var sig Signal
	if errors.As(context.Cause(ctx), &sig) {
		return sig.Name
	}
	return "Ctrl-C"
}
