package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitLimit is how long a stopped wait may take to give the prompt back.
const waitLimit = 2 * time.Second

// countWaiting replaces the lab's Waiting with one that records what it is
// told, still checking the text.
func countWaiting(t *testing.T, l *Lab) *[]string {
	var told []string
	l.Waiting = func(what func() string) {
		checkText(t, "waiting", what())
		told = append(told, what())
	}
	return &told
}

// hangingConnect makes a listener whose accept queue is full, so that the
// kernel drops the next SYN it gets and a connect to it waits in SYN_SENT:
// with a backlog of 0 one finished connection fills the queue. It returns
// the listener's port; the connection that fills the queue is "first".
func hangingConnect(t *testing.T, l *Lab, f family) string {
	t.Helper()
	port := listener(t, l, f, "full", "0")
	run(t, l, "socket", "tcp", f.name, "as", "first")
	run(t, l, "connect", "first", f.loopback, port)
	if q := Read(sock(t, l, "full")); q.AcceptQueue != 1 || q.Backlog != 0 {
		t.Fatalf("got accept queue %d/%d, want 1/0", q.AcceptQueue, q.Backlog)
	}
	run(t, l, "socket", "tcp", f.name, "as", "client")
	return port
}

// connectingTo starts client's non-blocking connect to port, a listener
// whose accept queue is full (hangingConnect), and checks that the kernel
// answers EINPROGRESS and keeps client in SYN_SENT. client stays
// non-blocking.
func connectingTo(t *testing.T, l *Lab, f family, port string) {
	t.Helper()
	run(t, l, "option", "client", "O_NONBLOCK", "on")
	if rep := run(t, l, "connect", "client", f.loopback, port); !strings.Contains(rep.Call, "EINPROGRESS") {
		t.Fatalf("a non-blocking connect to a full accept queue: %s, want EINPROGRESS", rep.Call)
	}
	if st := Read(sock(t, l, "client")).State; st != SynSent {
		t.Fatalf("the kernel says client is %s, want SYN_SENT", st)
	}
}

// TestWaitStops stops each call that waits, by --timeout and by Ctrl-C
// (a cancelled context), and checks that the prompt comes back quickly,
// that the learner was told once what was awaited and how to stop it, and
// that the socket is as it was.
func TestWaitStops(t *testing.T) {
	v4 := families[0]
	tests := []struct {
		name  string
		setup func(t *testing.T, l *Lab) []string // the step and its arguments, without --timeout
		sock  string                              // the socket that waits
		what  string                              // what the learner is told it waits for
		// ignore clears what the kernel leaves behind, nil for nothing.
		ignore func(*kernelView)
	}{
		{"accept", func(t *testing.T, l *Lab) []string {
			listener(t, l, v4, "server")
			return []string{"accept", "server"}
		}, "server", "a client to connect", nil},
		{"accept ipv6", func(t *testing.T, l *Lab) []string {
			listener(t, l, families[1], "server")
			return []string{"accept", "server", "as", "conn"}
		}, "server", "a client to connect", nil},
		{"recv", func(t *testing.T, l *Lab) []string {
			pair(t, l, v4)
			return []string{"recv", "conn"}
		}, "conn", "data from ", nil},
		{"recv udp", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "udp", "as", "u")
			run(t, l, "bind", "u", v4.loopback, "0")
			return []string{"recv", "u", "100"}
		}, "u", "data", nil},
		{"connect to a full accept queue", func(t *testing.T, l *Lab) []string {
			port := hangingConnect(t, l, v4)
			return []string{"connect", "client", v4.loopback, port}
		}, "client", "the handshake with 127.0.0.1:", connectResidue},
		{"connect to a full accept queue ipv6", func(t *testing.T, l *Lab) []string {
			port := hangingConnect(t, l, families[1])
			return []string{"connect", "client", "::1", port}
		}, "client", "the handshake with [::1]:", connectResidue},
	}
	const timeout = 200 * time.Millisecond
	for _, tt := range tests {
		for _, how := range []string{"timeout", "ctrl-c"} {
			t.Run(tt.name+" "+how, func(t *testing.T) {
				t.Parallel() // these waits replace no hook
				l := newLab(t)
				line := tt.setup(t, l)
				told := countWaiting(t, l)
				s := sock(t, l, tt.sock)
				before := viewLab(l)

				ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
				defer cancel()
				wantCall := "stopped waiting (Ctrl-C)"
				if how == "timeout" {
					line = append(line, "--timeout", timeout.String())
					wantCall = "timed out after " + timeout.String()
				} else {
					time.AfterFunc(timeout, cancel)
				}
				start := time.Now()
				rep, err := tryCtx(ctx, t, l, line[0], line[1:]...)
				took := time.Since(start)
				if err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				if !rep.Stopped || rep.Failure != nil || !rep.Failed() {
					t.Errorf("%q: got stopped %v, failure %v, want a stopped report", line, rep.Stopped, rep.Failure)
				}
				if !strings.HasSuffix(rep.Call, wantCall) || !strings.HasPrefix(rep.Call, fmt.Sprintf("%s(%d", line[0], s.FD)) {
					t.Errorf("%q: got call %q, want the call … %s", line, rep.Call, wantCall)
				}
				if took < timeout || took > waitLimit {
					t.Errorf("%q: got back after %v, want between %v and %v", line, took, timeout, waitLimit)
				}
				if len(*told) != 1 || !strings.Contains((*told)[0], "Ctrl-C") || !strings.Contains((*told)[0], tt.what) || !strings.Contains((*told)[0], s.Label()) {
					t.Errorf("%q: got told %q, want one message about %q on %s that mentions Ctrl-C", line, *told, tt.what, s.Label())
				}
				if snap := Read(s); line[0] == "connect" {
					// The handshake was dissolved: the socket is CLOSED again.
					if snap.State != Closed {
						t.Errorf("%q: got %s, want %s", line, snap.State, Closed)
					}
					wantSays(t, strings.Join(line, " "), rep, "is CLOSED again", "can connect again")
				} else {
					wantSays(t, strings.Join(line, " "), rep, "Nothing changed", "("+foldParagraphs(snap.Summary(s.Kind))+")")
				}
				if how == "timeout" {
					wantSays(t, strings.Join(line, " "), rep, tt.what, timeout.String())
				}
				checkUnchangedBut(t, strings.Join(line, " "), before, l, tt.ignore)
				if rep.Data != nil {
					t.Errorf("%q: got data %q, want none", line, rep.Data)
				}
			})
		}
	}
}

// TestConnectAgainAfterStop checks that a connect stopped in its handshake
// left a socket that can connect, as the report says, with the address
// the kernel shows: the port the kernel chose for the attempt, or at a
// bind to port 0, went back, and a port the learner bound stays. Once the
// full queue has room, the same socket connects to the same listener.
func TestConnectAgainAfterStop(t *testing.T) {
	tests := []struct {
		name string
		bind string // the port client is bound to first: "" for none, "0", or "PORT" for a free one
		want string // what the report says of its address, with PORT and RELEASED for the ports
	}{
		{"no address", "", "with no address: port RELEASED, which the kernel had chosen for it, went back to the kernel, and it can connect again"},
		{"bound to port 0", "0", "with no port: port RELEASED, which the kernel had chosen for it, went back to the kernel, and it can connect again"},
		{"bound to a port", "PORT", "still bound to 127.0.0.1:PORT, and it can connect again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			port := hangingConnect(t, l, families[0])
			bound := tt.bind
			if bound == "PORT" {
				run(t, l, "socket", "as", "probe")
				run(t, l, "bind", "probe", "127.0.0.1", "0")
				bound = portOf(t, l, "probe")
				run(t, l, "close", "probe")
			}
			if bound != "" {
				run(t, l, "bind", "client", "127.0.0.1", bound)
			}
			rep := run0(t, l, "connect", "client", "127.0.0.1", port, "--timeout", "100ms")
			if !rep.Stopped {
				t.Fatalf("got %q, want the connect to time out", rep.Call)
			}
			// The report blames the full queue and says what makes room; the rest
			// of the test makes room that way and connects.
			wantSays(t, "connect to a full queue", rep, "full (fd", "accept queue is full (1/0;", "`accept full` makes room; connect again then, and it succeeds")
			snap := Read(sock(t, l, "client"))
			if snap.State != Closed {
				t.Errorf("after the stop: got %s, want %s", snap.State, Closed)
			}
			// What the kernel says of the socket's address: a port it chose
			// has gone back, one the learner chose stays.
			if released := snap.Released.IsValid(); released != (tt.bind != "PORT") || released && snap.Local.Port() != 0 ||
				!released && fmt.Sprint(snap.Local.Port()) != bound {
				t.Fatalf("after the stop: the kernel shows local %s, released %s", ShowAddr(snap.Local), ShowAddr(snap.Released))
			}
			want := strings.NewReplacer("RELEASED", fmt.Sprint(snap.Released.Port()), "PORT", bound).Replace(tt.want)
			wantSays(t, "connect stopped", rep, "dissolved the half-made connection", "client (fd "+fmt.Sprint(sock(t, l, "client").FD)+") is CLOSED again", want)
			run(t, l, "accept", "full")
			run(t, l, "connect", "client", "127.0.0.1", port, "--timeout", "3s")
			if snap := Read(sock(t, l, "client")); snap.State != Established || fmt.Sprint(snap.Remote.Port()) != port {
				t.Errorf("connect again: got %s to %s, want %s to port %s", snap.State, ShowAddr(snap.Remote), Established, port)
			}
		})
	}
}

// run0 runs a step that must not return a usage error, whatever its report.
func run0(t *testing.T, l *Lab, name string, args ...string) *Report {
	t.Helper()
	rep, err := try(t, l, name, args...)
	if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return rep
}

// TestConnectStoppedByPoll stops a connect whose handshake the kernel did
// finish, by making poll never report it (the fault seam): the half-made
// connection must be dissolved and the socket be CLOSED again.
func TestConnectStoppedByPoll(t *testing.T) {
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	run(t, l, "socket", "as", "client")
	saveHooks(t)
	pollCall = func(fds []unix.PollFd, ms int) (int, error) {
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return 0, nil
	}
	for _, how := range []string{"timeout", "ctrl-c"} {
		t.Run(how, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
			defer cancel()
			args := []string{"client", "127.0.0.1", port}
			if how == "timeout" {
				args = append(args, "--timeout", "150ms")
			} else {
				time.AfterFunc(150*time.Millisecond, cancel)
			}
			start := time.Now()
			rep, err := tryCtx(ctx, t, l, "connect", args...)
			if err != nil || !rep.Stopped {
				t.Fatalf("got %+v, %v, want a stopped report", rep, err)
			}
			if took := time.Since(start); took > waitLimit {
				t.Errorf("got back after %v, want under %v", took, waitLimit)
			}
			client := sock(t, l, "client")
			snap := Read(client)
			if snap.State != Closed || snap.Connected() {
				t.Errorf("got %s to %s, want %s with no peer", snap.State, ShowAddr(snap.Remote), Closed)
			}
			wantSays(t, "connect", rep, "dissolved the half-made connection", client.Label()+" is CLOSED again", "can connect again")
			if strings.Contains(rep.Says, "queue is full") {
				t.Errorf("got %q, want no full queue blamed: the listener's queue has room", rep.Says)
			}
		})
	}
}

// TestNonBlockingNeverWaits: on a socket with O_NONBLOCK, a call that
// cannot finish at once returns the kernel's EAGAIN at once, without a
// wait, whether or not the lab reads state for a report (CallsOnly);
// and the same call on the same socket, ready, succeeds.
func TestNonBlockingNeverWaits(t *testing.T) {
	for _, callsOnly := range []bool{false, true} {
		for _, tt := range []struct {
			name    string
			socket  string
			call    []string
			readyBy []string // what makes the call able to finish
		}{
			{"accept", "server", []string{"accept", "server", "as", "second"}, []string{"connect", "other", "127.0.0.1", "PORT"}},
			{"recv", "conn", []string{"recv", "conn", "100"}, []string{"send", "client", "hello"}},
			{"send", "client", []string{"send", "client", "--bytes", "64M"}, nil},
		} {
			t.Run(fmt.Sprintf("%s calls only %v", tt.name, callsOnly), func(t *testing.T) {
				l := newLab(t)
				told := countWaiting(t, l)
				pair(t, l, families[0])
				run(t, l, "socket", "tcp", "ipv4", "as", "other")
				run(t, l, "option", tt.socket, "nonblock", "on")
				call := func() *Report {
					l.CallsOnly = callsOnly
					defer func() { l.CallsOnly = false }()
					return runLine(t, l, stepNamed(t, tt.call[0]), strings.Join(tt.call[1:], " "))
				}
				start := time.Now()
				rep := call()
				if took := time.Since(start); took > waitLimit || len(*told) > 0 {
					t.Errorf("%s on a non-blocking socket took %v and said it waited for %q, want EAGAIN at once", tt.name, took, *told)
				}
				if tt.readyBy == nil { // a bulk send stops with part sent
					if !strings.Contains(rep.Call, "EAGAIN") {
						t.Errorf("%s: got %q, want it to end with EAGAIN", tt.name, rep.Call)
					}
					return
				}
				checkFailure(t, rep, tt.name, unix.EAGAIN)
				args := slices.Clone(tt.readyBy[1:])
				for i, a := range args {
					if a == "PORT" {
						args[i] = portOf(t, l, "server")
					}
				}
				run(t, l, tt.readyBy[0], args...)
				deadline := time.Now().Add(waitLimit)
				rep = call()
				for rep.Failure != nil && rep.Failure.Number == int(unix.EAGAIN) && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
					rep = call()
				}
				if rep.Failed() {
					t.Errorf("%s on a ready non-blocking socket: got %v, want success", tt.name, rep.Call)
				}
			})
		}
	}
}

// TestEAGAINSaysWhy makes accept and recv fail with EAGAIN in both ways
// the kernel has: a non-blocking socket with nothing ready, and a blocking
// one whose SO_RCVTIMEO passes. The report gives the one that happened.
func TestEAGAINSaysWhy(t *testing.T) {
	for _, tt := range []struct{ name, socket string }{{"accept", "server"}, {"recv", "conn"}} {
		for _, how := range [][]string{{"nonblock", "on"}, {"SO_RCVTIMEO", "50ms"}} {
			t.Run(tt.name+" "+how[0], func(t *testing.T) {
				l := newLab(t)
				pair(t, l, families[0])
				run(t, l, "option", tt.socket, how[0], how[1])
				rep := refused(t, l, unix.EAGAIN, tt.name, tt.socket)
				says, other := "non-blocking", "SO_RCVTIMEO"
				if how[0] == "SO_RCVTIMEO" {
					says, other = other, says
				}
				if !strings.Contains(rep.Failure.ForStep, says) || strings.Contains(rep.Failure.ForStep, other) {
					t.Errorf("got %q, want %s and no %s", rep.Failure.ForStep, says, other)
				}
			})
		}
	}
}

// TestReadyCallsAskNoPoll: a recv whose bytes have arrived, or a send
// with room, is one system call, as in the learner's own program; only a
// call that finds its socket not ready (EAGAIN) waits in poll, and then
// the call is made again.
func TestReadyCallsAskNoPoll(t *testing.T) {
	for _, callsOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("calls only %v", callsOnly), func(t *testing.T) {
			l := newLab(t)
			pair(t, l, families[0])
			saveHooks(t)
			polls, recvs := 0, 0
			realPoll, realRecv := pollCall, recvCall
			pollCall = func(fds []unix.PollFd, ms int) (int, error) {
				polls++
				return realPoll(fds, ms)
			}
			recvCall = func(fd int, p []byte, flags int) (int, unix.Sockaddr, error) {
				recvs++
				return realRecv(fd, p, flags)
			}
			call := func(step, line string) *Report {
				l.CallsOnly = callsOnly
				defer func() { l.CallsOnly = false }()
				return runLine(t, l, stepNamed(t, step), line)
			}

			call("send", "client hello")
			if polls != 0 {
				t.Errorf("send with room: got %d polls, want none", polls)
			}
			deadline := time.Now().Add(waitLimit)
			for Read(sock(t, l, "conn")).RecvQ == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			rep := call("recv", "conn")
			if string(rep.Data) != "hello" || polls != 0 || recvs != 1 {
				t.Errorf("recv of bytes waiting: got %q with %d polls and %d recvs, want hello with none and 1", rep.Data, polls, recvs)
			}

			polls, recvs = 0, 0
			rep = call("recv", "conn --timeout 50ms")
			if !rep.Stopped || polls == 0 || recvs != 1 {
				t.Errorf("recv with nothing waiting: got %q with %d polls and %d recvs, want it stopped after 1 recv and a wait in poll", rep.Call, polls, recvs)
			}

			polls, recvs = 0, 0
			client := sock(t, l, "client").FD
			time.AfterFunc(50*time.Millisecond, func() { unix.Write(client, []byte("late")) }) // a failure shows as no data
			rep = call("recv", "conn --timeout 5s")
			if string(rep.Data) != "late" || polls == 0 || recvs != 2 {
				t.Errorf("recv of bytes that come later: got %q with %d polls and %d recvs, want late, a wait in poll, and 2 recvs", rep.Data, polls, recvs)
			}
		})
	}
}

// TestABlockingLabReadsNoTimeout: a lab whose driver promises never to
// make a socket non-blocking or give it SO_RCVTIMEO (auto) waits without
// reading either back from the kernel. The test breaks the promise behind
// the lab's back to see that: the blocking lab waits until it is stopped,
// where any other lab answers EAGAIN as the kernel would.
func TestABlockingLabReadsNoTimeout(t *testing.T) {
	for _, how := range []string{"O_NONBLOCK", "SO_RCVTIMEO"} {
		for _, tt := range []struct{ call, socket string }{{"accept", "server"}, {"recv", "conn"}} {
			for _, blocking := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s %s blocking lab %v", tt.call, how, blocking), func(t *testing.T) {
					l := newLab(t)
					pair(t, l, families[0])
					fd := sock(t, l, tt.socket).FD
					var err error
					if how == "O_NONBLOCK" {
						err = unix.SetNonblock(fd, true)
					} else {
						err = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 20_000})
					}
					if err != nil {
						t.Fatal(err)
					}
					l.Blocking = blocking
					ctx, stop := context.WithTimeout(context.Background(), 200*time.Millisecond)
					defer stop()
					rep, err := stepNamed(t, tt.call).Run(ctx, l, []string{tt.socket})
					if err != nil {
						t.Fatal(err)
					}
					if blocking && !rep.Stopped {
						t.Errorf("got %q, want the wait to last until it was stopped: a blocking lab reads no %s", rep.Call, how)
					}
					if !blocking {
						checkFailure(t, rep, tt.call, unix.EAGAIN)
					}
				})
			}
		}
	}
}

// TestSendWaitsFor holds what a blocking send says it waits for against
// the kernel's state of the socket while it waits: in SYN_SENT (a
// non-blocking connect, then blocking again) it waits for the handshake;
// on a connection whose peer does not read, for room in the send buffer.
func TestSendWaitsFor(t *testing.T) {
	for _, f := range families {
		for _, tt := range []struct {
			name  string
			setup func(t *testing.T, l *Lab) []string // the send's arguments
			state TCPState                            // the sender's, while it waits
			what  string
		}{
			{"in SYN_SENT", func(t *testing.T, l *Lab) []string {
				connectingTo(t, l, f, hangingConnect(t, l, f))
				run(t, l, "option", "client", "O_NONBLOCK", "off")
				return []string{"client", "--timeout", "100ms", "hi"}
			}, SynSent, "the handshake to finish"},
			{"buffer full", func(t *testing.T, l *Lab) []string {
				pair(t, l, f)
				run(t, l, "option", "client", "SO_SNDBUF", "1")
				return []string{"client", "--bytes", "10M", "--timeout", "100ms"}
			}, Established, "room in the send buffer"},
		} {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				l := newLab(t)
				args := tt.setup(t, l)
				client := sock(t, l, "client")
				var told []string
				var states []TCPState
				l.Waiting = func(what func() string) {
					told = append(told, what())
					states = append(states, Read(client).State)
				}
				rep, err := try(t, l, "send", args...)
				if err != nil {
					t.Fatal(err)
				}
				if len(told) != 1 || states[0] != tt.state {
					t.Fatalf("send %s: told %q with the sender in %v, want one wait in %s", strings.Join(args, " "), told, states, tt.state)
				}
				if !strings.Contains(told[0], "waiting for "+tt.what) {
					t.Errorf("send in %s: told %q, want it to wait for %s", tt.state, told[0], tt.what)
				}
				if rep.Stopped && !strings.Contains(rep.Says, tt.what) {
					t.Errorf("send in %s timed out: %q, want it to name %s", tt.state, rep.Says, tt.what)
				}
			})
		}
	}
}

// TestRecvInSynSent holds what recv says on a socket whose non-blocking
// connect has not finished (SYN_SENT) against what the kernel does there:
// a recv that may not wait returns EAGAIN at once, and a blocking one
// waits (measured with SO_RCVTIMEO on the socket itself) until the
// handshake is done and data has come. sockstep's recv says which of the
// two it met, and that it waits for the handshake first.
func TestRecvInSynSent(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			port := hangingConnect(t, l, f)
			connectingTo(t, l, f, port)
			client := sock(t, l, "client")
			buf := make([]byte, 16)
			if _, _, err := unix.Recvfrom(client.FD, buf, 0); err != unix.EAGAIN {
				t.Fatalf("the kernel's non-blocking recv in SYN_SENT: %v, want EAGAIN", err)
			}
			rep := refused(t, l, unix.EAGAIN, "recv", "client")
			if says := foldParagraphs(rep.Failure.ForStep); !strings.Contains(says, "non-blocking") || strings.Contains(says, "SO_RCVTIMEO") {
				t.Errorf("non-blocking recv in SYN_SENT: %q, want it to say the socket is non-blocking", says)
			}

			run(t, l, "option", "client", "O_NONBLOCK", "off")
			// The kernel's blocking recv waits here: until SO_RCVTIMEO.
			const rcvTimeout = 100 * time.Millisecond
			tv := unix.NsecToTimeval(rcvTimeout.Nanoseconds())
			if err := unix.SetsockoptTimeval(client.FD, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, _, err := unix.Recvfrom(client.FD, buf, 0)
			// A wait with a timeout is not restarted after a signal
			// (signal(7)): Go's preemption signal may end it with EINTR.
			for tries := 0; err == unix.EINTR && tries < 100; tries++ {
				_, _, err = unix.Recvfrom(client.FD, buf, 0)
			}
			if took := time.Since(start); err != unix.EAGAIN || took < rcvTimeout*9/10 {
				t.Fatalf("the kernel's blocking recv in SYN_SENT: %v after %v, want EAGAIN after %v", err, took, rcvTimeout)
			}
			tv = unix.Timeval{}
			if err := unix.SetsockoptTimeval(client.FD, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
				t.Fatal(err)
			}
			var told []string
			var states []TCPState
			l.Waiting = func(what func() string) {
				told = append(told, what())
				states = append(states, Read(client).State)
			}
			rep, err = try(t, l, "recv", "client", "--timeout", "100ms")
			if err != nil {
				t.Fatal(err)
			}
			if len(told) != 1 || states[0] != SynSent {
				t.Fatalf("blocking recv in SYN_SENT: told %q with the socket in %v, want one wait in SYN_SENT (report %q)", told, states, rep.Call)
			}
			const what = "the handshake to finish (SYN_SENT), then for data"
			if !strings.Contains(told[0], "waiting for "+what) {
				t.Errorf("blocking recv in SYN_SENT: told %q, want it to wait for %s", told[0], what)
			}
			if !rep.Stopped || !strings.Contains(foldParagraphs(rep.Says), what) {
				t.Errorf("blocking recv in SYN_SENT timed out: %q %q, want it to name %s", rep.Call, rep.Says, what)
			}
		})
	}
}

// TestRecvRefusedInSynSent holds what a recv that waited in SYN_SENT says
// when the handshake is refused: the listener is gone, the kernel answers
// the SYN sent again with a reset, and recv reports the connect's
// ECONNREFUSED (measured with a blocking recv of the kernel's own on a
// second socket). No datagram was sent.
func TestRecvRefusedInSynSent(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			port := hangingConnect(t, l, f)
			run(t, l, "socket", "tcp", f.name, "as", "witness")
			for _, name := range []string{"client", "witness"} {
				run(t, l, "option", name, "O_NONBLOCK", "on")
				run(t, l, "connect", name, f.loopback, port)
				run(t, l, "option", name, "O_NONBLOCK", "off")
			}
			run(t, l, "close", "full")
			if _, _, err := unix.Recvfrom(sock(t, l, "witness").FD, make([]byte, 16), 0); err != unix.ECONNREFUSED {
				t.Fatalf("the kernel's blocking recv in SYN_SENT, the listener closed: %v, want ECONNREFUSED", err)
			}
			rep := refused(t, l, unix.ECONNREFUSED, "recv", "client", "--timeout", "10s")
			says := foldParagraphs(rep.Failure.ForStep)
			if strings.Contains(says, "datagram") || !strings.Contains(says, "connect") {
				t.Errorf("recv refused in SYN_SENT: %q, want the connect's refusal, not a datagram's", says)
			}
			if state := Read(sock(t, l, "client")).State; !strings.Contains(says, "is "+state.String()) {
				t.Errorf("recv refused in SYN_SENT: %q, want it to say the socket is %s", says, state)
			}
		})
	}
}
