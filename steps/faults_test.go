package steps

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFaults makes one system call fail, through the fault seam in
// hooks.go, with an errno that loopback will not produce on demand, and
// checks the report and that the failed step changed nothing: no socket
// added to or lost from the table, every socket's kernel state as it was.
func TestFaults(t *testing.T) {
	v4 := families[0]
	tests := []struct {
		name  string
		setup func(t *testing.T, l *Lab) []string // the step and its arguments
		fault func(unix.Errno)                    // installs the failing call
		errno unix.Errno
	}{
		{"socket EMFILE", func(t *testing.T, l *Lab) []string {
			return []string{"socket", "as", "s"}
		}, func(e unix.Errno) { socketCall = func(int, int, int) (int, error) { return -1, e } }, unix.EMFILE},
		{"socket EAFNOSUPPORT", func(t *testing.T, l *Lab) []string {
			return []string{"socket", "ipv6"}
		}, func(e unix.Errno) { socketCall = func(int, int, int) (int, error) { return -1, e } }, unix.EAFNOSUPPORT},
		{"bind EACCES", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "as", "s")
			return []string{"bind", "s", "", "80"}
		}, func(e unix.Errno) { bindCall = func(int, unix.Sockaddr) error { return e } }, unix.EACCES},
		{"accept ECONNABORTED", func(t *testing.T, l *Lab) []string {
			pairWaiting(t, l)
			return []string{"accept", "server", "--timeout", "2s"}
		}, func(e unix.Errno) {
			acceptCall = func(int) (int, netip.AddrPort, error) { return -1, netip.AddrPort{}, e }
		}, unix.ECONNABORTED},
		{"accept EMFILE", func(t *testing.T, l *Lab) []string {
			pairWaiting(t, l)
			return []string{"accept", "server", "as", "conn", "--timeout", "2s"}
		}, func(e unix.Errno) {
			acceptCall = func(int) (int, netip.AddrPort, error) { return -1, netip.AddrPort{}, e }
		}, unix.EMFILE},
		{"connect ENETUNREACH", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "as", "client")
			return []string{"connect", "client", v4.loopback, "8081"}
		}, func(e unix.Errno) { connectCall = func(int, unix.Sockaddr) error { return e } }, unix.ENETUNREACH},
		{"connect EHOSTUNREACH", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "as", "client")
			return []string{"connect", "client", v4.loopback, "8081"}
		}, func(e unix.Errno) { connectCall = func(int, unix.Sockaddr) error { return e } }, unix.EHOSTUNREACH},
		{"recv ECONNRESET", func(t *testing.T, l *Lab) []string {
			pair(t, l, v4)
			run(t, l, "send", "client", "hello")
			return []string{"recv", "conn", "--timeout", "2s"}
		}, func(e unix.Errno) {
			recvCall = func(int, []byte, int) (int, unix.Sockaddr, error) { return -1, nil, e }
		}, unix.ECONNRESET},
		{"recv ETIMEDOUT", func(t *testing.T, l *Lab) []string {
			pair(t, l, v4)
			run(t, l, "send", "client", "hello")
			return []string{"recv", "conn"}
		}, func(e unix.Errno) {
			recvCall = func(int, []byte, int) (int, unix.Sockaddr, error) { return -1, nil, e }
		}, unix.ETIMEDOUT},
		{"send ENOBUFS", func(t *testing.T, l *Lab) []string {
			pair(t, l, v4)
			return []string{"send", "client", "hello"}
		}, func(e unix.Errno) {
			sendCall = func(int, []byte, []byte, unix.Sockaddr, int) (int, error) { return -1, e }
		}, unix.ENOBUFS},
		{"listen EADDRINUSE", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "as", "server")
			return []string{"listen", "server"}
		}, func(e unix.Errno) { listenCall = func(int, int) error { return e } }, unix.EADDRINUSE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			line := tt.setup(t, l)
			before := viewLab(l)
			made := l.made["s"] + l.made["c"]
			saveHooks(t)
			tt.fault(tt.errno)
			refused(t, l, tt.errno, line[0], line[1:]...)
			checkUnchanged(t, strings.Join(line, " "), before, l)
			if now := l.made["s"] + l.made["c"]; now != made {
				t.Errorf("got %d names handed out, want %d: a failed step used up a name", now, made)
			}
		})
	}
}

// pairWaiting makes a listener, server, with one connection, from client,
// waiting in its accept queue.
func pairWaiting(t *testing.T, l *Lab) {
	t.Helper()
	port := listener(t, l, families[0], "server")
	run(t, l, "socket", "as", "client")
	run(t, l, "connect", "client", "127.0.0.1", port)
}

// TestSocketEMFILE checks that a socket the kernel would not make leaves
// no half-made entry: the name is free for the next socket, which gets the
// first automatic name.
func TestSocketEMFILE(t *testing.T) {
	l := newLab(t)
	saveHooks(t)
	real := socketCall
	socketCall = func(int, int, int) (int, error) { return -1, unix.EMFILE }
	for _, args := range [][]string{{"as", "server"}, {}} {
		rep := refused(t, l, unix.EMFILE, "socket", args...)
		if !strings.Contains(rep.Failure.ForStep, "file descriptor") {
			t.Errorf("got %q, want the reason: no file descriptor left", rep.Failure.ForStep)
		}
	}
	if got := l.Sockets(); len(got) != 0 {
		t.Fatalf("got %d sockets after EMFILE, want none", len(got))
	}
	socketCall = real
	run(t, l, "socket", "as", "server")
	run(t, l, "socket")
	if got, want := l.Names(), []string{"server", "s1"}; !slices.Equal(got, want) {
		t.Errorf("got names %q, want %q", got, want)
	}
}

// TestCloseEINTR checks close interrupted by a signal: Linux has released
// the descriptor all the same, so the socket must be forgotten, and never
// closed a second time (the number may already belong to another file).
func TestCloseEINTR(t *testing.T) {
	for _, all := range []bool{false, true} {
		name := "close s"
		if all {
			name = "close all"
		}
		t.Run(name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "as", "s")
			run(t, l, "socket", "as", "other")
			s, other := sock(t, l, "s"), sock(t, l, "other")
			saveHooks(t)
			real := closeCall
			var closed []int
			closeCall = func(fd int) error {
				closed = append(closed, fd)
				err := real(fd)
				if fd == s.FD {
					return unix.EINTR
				}
				return err
			}
			arg := "s"
			if all {
				arg = "all"
			}
			rep, err := try(t, l, "close", arg)
			if err != nil {
				t.Fatal(err)
			}
			if all {
				want := fmt.Sprintf("close(%d) = -1 EINTR (errno %d); close(%d) = 0", s.FD, unix.EINTR, other.FD)
				if rep.Call != want || rep.Failure == nil || rep.Failure.Name != "EINTR" {
					t.Errorf("got %q (failure %+v), want %q with EINTR explained", rep.Call, rep.Failure, want)
				}
			} else {
				checkFailure(t, rep, "close", unix.EINTR)
			}
			if _, err := unix.FcntlInt(uintptr(s.FD), unix.F_GETFD, 0); err != unix.EBADF {
				t.Errorf("fd %d: got %v, want it closed (EBADF)", s.FD, err)
			}
			if _, err := l.Find("s"); !IsUsage(err) || !strings.Contains(err.Error(), "gone") {
				t.Errorf("find s: got %v, want that s is gone", err)
			}
			l.CloseAll()
			if got, want := closed, []int{s.FD, other.FD}; !slices.Equal(got, want) {
				t.Errorf("got close calls %v, want %v: each fd exactly once", got, want)
			}
			if len(l.Sockets()) != 0 {
				t.Errorf("got %d sockets left, want 0", len(l.Sockets()))
			}
		})
	}
}

// TestPollEINTR interrupts the first poll of a wait with a signal: the
// wait must go on, not stop, and the call then complete.
func TestPollEINTR(t *testing.T) {
	l := newLab(t)
	pairWaiting(t, l)
	run(t, l, "accept", "server", "as", "conn")
	told := countWaiting(t, l)
	saveHooks(t)
	real, polls := pollCall, 0
	pollCall = func(fds []unix.PollFd, ms int) (int, error) {
		polls++
		if polls == 1 {
			return -1, unix.EINTR
		}
		return real(fds, ms)
	}
	client := sock(t, l, "client")
	const text = "late but here"
	wrote := make(chan error, 1)
	time.AfterFunc(50*time.Millisecond, func() {
		_, err := unix.Write(client.FD, []byte(text))
		wrote <- err
	})
	defer func() {
		if err := <-wrote; err != nil {
			t.Errorf("write: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	rep, err := tryCtx(ctx, t, l, "recv", "conn", "--timeout", "3s")
	if err != nil || rep.Failed() {
		t.Fatalf("got %+v, %v, want the data", rep, err)
	}
	if !bytes.Equal(rep.Data, []byte(text)) {
		t.Errorf("got %q, want %q", rep.Data, text)
	}
	if polls < 2 {
		t.Errorf("got %d polls, want the wait to poll again after EINTR", polls)
	}
	if len(*told) != 1 {
		t.Errorf("got told %q, want one message", *told)
	}
}
