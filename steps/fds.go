package steps

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// A program of the learner's own gets file descriptor 3 for its first
// socket (0, 1 and 2 are its standard input, output and error), and the
// lowest number free for each one after. sockstep's own descriptors would
// take numbers among the learner's: Go's poller (an epoll and an eventfd,
// made at the first file sockstep opens), the line editor's history file,
// the netlink socket that asks sock_diag. So from start-up until the lab
// makes its first socket, the numbers below learnerFDs are held: what
// sockstep opens meanwhile lands above them, and the learner's sockets are
// numbered as in their own program. The netlink socket, opened later, is
// moved above them (aboveLearners).
const learnerFDs = 64

var lowFDs struct {
	sync.Mutex
	held []int
}

func init() {
	lowFDs.held = holdLowFDs()
}

// holdLowFDs takes every free number below learnerFDs (no more than half
// of what the process may open), then has Go's poller made above them.
func holdLowFDs() []int {
	limit := learnerFDs
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < 2*learnerFDs {
		limit = int(rl.Cur / 2)
	}
	var held []int
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		if fd >= limit {
			unix.Close(fd)
			break
		}
		held = append(held, fd)
	}
	// Go makes its poller's descriptors at the first file that may be
	// polled, such as a pipe.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	return held
}

// giveLowFDs gives the held numbers back, for the learner's sockets.
func giveLowFDs() {
	lowFDs.Lock()
	defer lowFDs.Unlock()
	for _, fd := range lowFDs.held {
		unix.Close(fd)
	}
	lowFDs.held = nil
}

// aboveLearners moves one of sockstep's own descriptors above the numbers
// kept for the learner's sockets.
func aboveLearners(fd int) int {
	if fd >= learnerFDs {
		return fd
	}
	high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, learnerFDs)
	if err != nil {
		return fd
	}
	unix.Close(fd)
	return high
}
