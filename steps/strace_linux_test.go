package steps

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A traced call is one call of the steps' system calls (hooks.go), as the
// kernel was asked it: what strace shows of it.
type traced struct {
	call     string // socket, accept, connect, send, recv, poll
	fd       int
	flags    int // send's and recv's flags
	size     int // send's bytes, recv's buffer
	result   int
	nonBlock bool // O_NONBLOCK was set on fd when the call was made (fcntl)
}

// traceCalls records every system call the steps make through their
// hooks until the test ends, each with the socket's O_NONBLOCK flag read
// from the kernel as the call was made.
func traceCalls(t *testing.T) *[]traced {
	t.Helper()
	saveHooks(t)
	var calls []traced
	add := func(c traced) {
		c.nonBlock = nonBlocking(c.fd)
		calls = append(calls, c)
	}
	socket, accept, connect, send, recv, poll := socketCall, acceptCall, connectCall, sendCall, recvCall, pollCall
	socketCall = func(domain, typ, proto int) (int, error) {
		fd, err := socket(domain, typ, proto)
		calls = append(calls, traced{call: "socket", fd: fd, result: fd})
		return fd, err
	}
	acceptCall = func(fd int) (int, netip.AddrPort, error) {
		add(traced{call: "accept", fd: fd})
		nfd, peer, err := accept(fd)
		calls[len(calls)-1].result = nfd
		return nfd, peer, err
	}
	connectCall = func(fd int, sa unix.Sockaddr) error {
		add(traced{call: "connect", fd: fd})
		return connect(fd, sa)
	}
	sendCall = func(fd int, p, oob []byte, to unix.Sockaddr, flags int) (int, error) {
		add(traced{call: "send", fd: fd, flags: flags, size: len(p)})
		n, err := send(fd, p, oob, to, flags)
		calls[len(calls)-1].result = n
		return n, err
	}
	recvCall = func(fd int, p []byte, flags int) (int, unix.Sockaddr, error) {
		add(traced{call: "recv", fd: fd, flags: flags, size: len(p)})
		n, from, err := recv(fd, p, flags)
		calls[len(calls)-1].result = n
		return n, from, err
	}
	pollCall = func(fds []unix.PollFd, timeout int) (int, error) {
		add(traced{call: "poll", fd: int(fds[0].Fd)})
		return poll(fds, timeout)
	}
	return &calls
}

// closeOnExec says whether the kernel marks fd close-on-exec.
func closeOnExec(t *testing.T, fd int) bool {
	t.Helper()
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	return flags&unix.FD_CLOEXEC != 0
}

// lowestFree is the lowest file descriptor number the kernel has free.
func lowestFree(t *testing.T) int {
	t.Helper()
	fd, err := unix.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	return fd
}

// callsOf is the traced calls of one kind, in order.
func callsOf(calls []traced, call string) []traced {
	var of []traced
	for _, c := range calls {
		if c.call == call {
			of = append(of, c)
		}
	}
	return of
}

// TestWhatStraceShows makes each call in the ways the README's "What
// strace shows" and the calls' help say it is made, and holds each of
// their sentences to the system calls the step made, as the kernel was
// asked them: the flags it passed, the calls made and not made, and the
// socket's mode and close-on-exec flag read from the kernel.
func TestWhatStraceShows(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## What strace shows")
	section, _, _ = strings.Cut(section, "\n## ")
	section = strings.Join(strings.Fields(section), " ")
	tests := []struct {
		name   string
		readme []string         // what the README says of it
		help   map[*Step]string // and `help CALL`
		check  func(t *testing.T, l *Lab, f family)
	}{
		{"socket and accept are close-on-exec",
			[]string{"`socket` and `accept` add SOCK_CLOEXEC (accept is made as accept4)"},
			map[*Step]string{SocketStep: "sockstep adds SOCK_CLOEXEC", AcceptStep: "accept4, with SOCK_CLOEXEC"},
			func(t *testing.T, l *Lab, f family) {
				pair(t, l, f)
				for _, name := range []string{"server", "client", "conn"} {
					if s := sock(t, l, name); !closeOnExec(t, s.FD) {
						t.Errorf("%s: the kernel does not mark fd %d close-on-exec", name, s.FD)
					}
				}
			}},
		{"accept polls first",
			[]string{"`accept` waits in poll until a connection is queued, and calls accept only then"},
			map[*Step]string{AcceptStep: "sockstep waits in poll until a connection is queued"},
			func(t *testing.T, l *Lab, f family) {
				port := listener(t, l, f, "server")
				run(t, l, "socket", f.name, "as", "client")
				run(t, l, "connect", "client", f.loopback, port)
				calls := traceCalls(t)
				run(t, l, "accept", "server")
				server := sock(t, l, "server").FD
				if len(*calls) < 2 || (*calls)[0].call != "poll" || (*calls)[0].fd != server || (*calls)[len(*calls)-1].call != "accept" {
					t.Errorf("got calls %+v, want poll on fd %d, then accept", *calls, server)
				}
			}},
		{"accept that times out calls no accept",
			[]string{"When `--timeout` or SO_RCVTIMEO passes first, no accept is made"},
			nil,
			func(t *testing.T, l *Lab, f family) {
				listener(t, l, f, "server")
				calls := traceCalls(t)
				if rep, err := try(t, l, "accept", "server", "--timeout", "50ms"); err != nil || !rep.Stopped {
					t.Fatalf("accept --timeout on an empty queue: got %v, %v; want it to time out", rep, err)
				}
				run(t, l, "option", "server", "SO_RCVTIMEO", "50ms")
				refused(t, l, unix.EAGAIN, "accept", "server")
				if accepts := callsOf(*calls, "accept"); len(accepts) != 0 || len(callsOf(*calls, "poll")) == 0 {
					t.Errorf("got calls %+v, want polls and no accept", *calls)
				}
			}},
		{"a blocking connect is made non-blocking",
			[]string{"fcntl (O_NONBLOCK on), connect (EINPROGRESS), poll until the handshake ends, getsockopt SO_ERROR, a second connect that finishes it, and fcntl (O_NONBLOCK off)"},
			map[*Step]string{ConnectStep: "sockstep makes the socket non-blocking for it: strace shows connect (EINPROGRESS), poll, SO_ERROR and a second connect"},
			func(t *testing.T, l *Lab, f family) {
				port := listener(t, l, f, "server")
				run(t, l, "socket", f.name, "as", "client")
				calls := traceCalls(t)
				run(t, l, "connect", "client", f.loopback, port)
				connects := callsOf(*calls, "connect")
				if len(connects) != 2 || !connects[0].nonBlock || !connects[1].nonBlock {
					t.Errorf("got calls %+v, want two connects, each on a socket with O_NONBLOCK", *calls)
				}
				if Read(sock(t, l, "client")).NonBlocking {
					t.Error("after connect the kernel has O_NONBLOCK set on client: it was not cleared")
				}
			}},
		{"recv and send pass MSG_DONTWAIT, and send MSG_NOSIGNAL",
			[]string{"`recv`, `recvfrom`, `send` and `sendto` pass MSG_DONTWAIT", "`send` and `sendto` pass MSG_NOSIGNAL too"},
			map[*Step]string{RecvStep: "sockstep passes MSG_DONTWAIT", SendStep: "sockstep passes MSG_DONTWAIT and MSG_NOSIGNAL"},
			func(t *testing.T, l *Lab, f family) {
				pair(t, l, f)
				calls := traceCalls(t)
				client := sock(t, l, "client")
				go func() {
					time.Sleep(50 * time.Millisecond) // recv finds nothing first, and waits
					unix.Write(client.FD, []byte("hello"))
				}()
				rep := run(t, l, "recv", "conn")
				run(t, l, "send", "conn", "hi")
				run(t, l, "sendto", "conn", f.loopback, portOf(t, l, "server"), "hi")
				recvs, sends := callsOf(*calls, "recv"), callsOf(*calls, "send")
				if len(recvs) != 2 || recvs[0].result != -1 || recvs[1].result != 5 || !strings.HasSuffix(rep.Call, " = 5") {
					t.Errorf("got calls %+v and %q, want a recv that found nothing, a wait, and a recv of 5 bytes shown as one", *calls, rep.Call)
				}
				for _, c := range recvs {
					if c.flags != unix.MSG_DONTWAIT {
						t.Errorf("recv's flags are %#x, want MSG_DONTWAIT", c.flags)
					}
				}
				for _, c := range sends {
					if c.flags != unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL {
						t.Errorf("send's flags are %#x, want MSG_DONTWAIT|MSG_NOSIGNAL", c.flags)
					}
				}
				if len(sends) != 2 {
					t.Errorf("got calls %+v, want send and sendto", *calls)
				}
			}},
		{"recv of a datagram passes MSG_TRUNC",
			[]string{"`recv` or `recvfrom` of one datagram adds MSG_TRUNC, with which the kernel returns the datagram's whole length: the call line shows what the call returns without it, at most the buffer's size"},
			map[*Step]string{RecvStep: "for one datagram it adds MSG_TRUNC"},
			func(t *testing.T, l *Lab, f family) {
				run(t, l, "socket", "udp", f.name, "as", "a")
				run(t, l, "bind", "a", f.loopback, "0")
				run(t, l, "socket", "udp", f.name, "as", "b")
				run(t, l, "sendto", "b", f.loopback, portOf(t, l, "a"), "hello world")
				calls := traceCalls(t)
				rep := run(t, l, "recvfrom", "a", "5")
				recvs := callsOf(*calls, "recv")
				if len(recvs) != 1 || recvs[0].flags != unix.MSG_DONTWAIT|unix.MSG_TRUNC || recvs[0].result != len("hello world") {
					t.Fatalf("got calls %+v, want one recv with MSG_DONTWAIT|MSG_TRUNC that returns the datagram's length", *calls)
				}
				if !strings.Contains(rep.Call, " = 5 ") {
					t.Errorf("got %q, want = 5, what recvfrom returns without MSG_TRUNC", rep.Call)
				}
			}},
		{"bulk sends and reads in 64 KiB calls",
			[]string{"`send --bytes N` on TCP sends in calls of at most 64 KiB, and `recv --all` reads in calls of 64 KiB"},
			nil,
			func(t *testing.T, l *Lab, f family) {
				pair(t, l, f)
				calls := traceCalls(t)
				run(t, l, "send", "client", "--bytes", "200000")
				run(t, l, "recv", "conn", "--all")
				sends, recvs := callsOf(*calls, "send"), callsOf(*calls, "recv")
				if len(sends) < 4 || len(recvs) < 2 {
					t.Fatalf("got calls %+v, want 200000 bytes sent and read in pieces", *calls)
				}
				for _, c := range sends {
					if c.size > 64<<10 {
						t.Errorf("a send of %d bytes, more than 64 KiB", c.size)
					}
				}
				for _, c := range recvs {
					if c.size != 64<<10 {
						t.Errorf("a recv of %d bytes, not 64 KiB", c.size)
					}
				}
			}},
		{"sockstep's own sockets are closed at once",
			[]string{"it makes sockets of its own that it closes at once: one that binds, to learn whether a port is free or what sock_diag lists, or a UDP one that connects, to learn a route's MTU"},
			nil,
			func(t *testing.T, l *Lab, f family) {
				run(t, l, "socket", f.name, "as", "s") // the netlink socket is made
				free := lowestFree(t)
				listener(t, l, f, "server")  // binds one to learn what sock_diag lists
				run(t, l, "close", "server") // and one to learn whether the port is free
				if got := lowestFree(t); got != free {
					t.Errorf("after bind and close, the lowest free fd is %d, not %d: sockstep left a socket of its own open", got, free)
				}
			}},
	}
	for _, tt := range tests {
		for _, s := range tt.readme {
			if !strings.Contains(section, s) {
				t.Errorf("%s: the README's \"What strace shows\" does not say %q", tt.name, s)
			}
		}
		for step, s := range tt.help {
			if about := strings.Join(strings.Fields(step.About), " "); !strings.Contains(about, s) {
				t.Errorf("%s: help %s does not say %q:\n%s", tt.name, step.Name, s, about)
			}
		}
		for _, f := range families {
			t.Run(fmt.Sprintf("%s %s", tt.name, f.name), func(t *testing.T) {
				tt.check(t, newLab(t), f)
			})
		}
	}
}

// TestCallLineQuotesAsStrace sends the same bytes from Python under
// strace and with send, and holds the data in send's call line to what
// strace shows of it: quotes and backslashes escaped, controls and
// non-ASCII bytes as strace writes them, and long data cut as strace cuts
// it at 64 bytes (-s 64).
func TestCallLineQuotesAsStrace(t *testing.T) {
	python := needPython(t, "the call lines are not checked against strace")
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not on PATH, so the call lines are not checked against it")
	}
	sent := []string{
		`say "hi"`, `back\slash`, `"`, `\`, `\"`,
		"a\nb\rc\td\x00e\x1b[2J\x7f\v\f\a",
		"\x001", "\x019", "\x0089", "\x08\x0e\x1f\x80\xff7",
		"héllo €", "\xe2\x80\xae", // U+202E, which reorders what follows it
		strings.Repeat("x", 64), strings.Repeat("x", 65), strings.Repeat("x", 100),
		strings.Repeat("y", 63) + "\n", strings.Repeat("y", 63) + "é", strings.Repeat("\"", 70),
	}
	var args []string
	for _, s := range sent {
		args = append(args, hex.EncodeToString([]byte(s)))
	}
	out := filepath.Join(t.TempDir(), "trace")
	script := `import socket, sys
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", 0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(r.getsockname())
for h in sys.argv[1:]:
    s.send(bytes.fromhex(h))
`
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, strace, append([]string{"-qq", "-s", "64", "-e", "trace=sendto", "-o", out, python, "-c", script}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here (%v): %s", err, b)
	}
	trace, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^sendto\(\d+, (.*), (\d+), 0, NULL, 0\) +=  *\d+$`)
	shown := line.FindAllStringSubmatch(string(trace), -1)
	if len(shown) != len(sent) {
		t.Fatalf("strace shows %d sends, want %d:\n%s", len(shown), len(sent), trace)
	}

	l := newLab(t)
	run(t, l, "socket", "udp", "as", "r")
	run(t, l, "bind", "r", "127.0.0.1", "0")
	run(t, l, "socket", "udp", "as", "u")
	run(t, l, "connect", "u", "127.0.0.1", portOf(t, l, "r"))
	fd := sock(t, l, "u").FD
	for i, s := range sent {
		rep := run(t, l, "send", "u", s)
		want := fmt.Sprintf("send(%d, %s, %s) = %d", fd, shown[i][1], shown[i][2], len(s))
		if rep.Call != want {
			t.Errorf("send %q: the call line is\n  %s\nwant, as strace shows the data,\n  %s", s, rep.Call, want)
		}
		run(t, l, "recv", "r")
	}
}
