package steps

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A client whose connect was refused connects once a server listens, as
// after a refused blocking connect in C or Python.
func TestConnectAgainAfterRefused(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "as", "server")
	run(t, l, "bind", "server", "127.0.0.1", "0")
	port := portOf(t, l, "server")
	run(t, l, "socket", "as", "client")
	// Nothing listens yet: the bound socket refuses.
	if rep, _ := try(t, l, "connect", "client", "127.0.0.1", port); rep == nil || rep.Failure == nil || rep.Failure.Name != "ECONNREFUSED" {
		t.Fatalf("connect before listen: got %+v, want ECONNREFUSED", rep)
	}
	run(t, l, "listen", "server")
	run(t, l, "connect", "client", "127.0.0.1", port)
	client, _ := l.Find("client")
	if got := Read(client).State; got != Established {
		t.Errorf("client state: got %s, want ESTABLISHED", got)
	}
}

// A non-blocking connect returns EINPROGRESS; the report says the
// handshake was over already only when the kernel's state, read after
// the call, is ESTABLISHED: on loopback it is, and at a full accept queue
// it is not.
func TestNonBlockingConnect(t *testing.T) {
	for _, full := range []bool{false, true} {
		t.Run(map[bool]string{false: "loopback", true: "full accept queue"}[full], func(t *testing.T) {
			l := newLab(t)
			var port string
			if full {
				port = hangingConnect(t, l, families[0])
			} else {
				port = listener(t, l, families[0], "server")
				run(t, l, "socket", "as", "client")
			}
			run(t, l, "option", "client", "nonblock", "on")
			rep, err := try(t, l, "connect", "client", "127.0.0.1", port)
			if err != nil || rep.Call != "connect("+strconv.Itoa(sock(t, l, "client").FD)+", 127.0.0.1:"+port+") = -1 EINPROGRESS" {
				t.Fatalf("got %q, %v, want EINPROGRESS", rep.Call, err)
			}
			done := Read(sock(t, l, "client")).State == Established
			if done == full {
				t.Fatalf("got the handshake done %v, want %v: the test's premise failed", done, !full)
			}
			if said := strings.Contains(rep.Says, "done already"); said != done {
				t.Errorf("got says %q: said done already %v, want %v (the kernel's state is %s)", rep.Says, said, done, Read(sock(t, l, "client")).State)
			}
			if !full {
				return
			}
			q := Read(sock(t, l, "full"))
			if want := fmt.Sprintf("accept queue is full (%d/%d)", q.AcceptQueue, q.Backlog); !strings.Contains(foldParagraphs(rep.Says), want) {
				t.Errorf("got says %q, want %q in it", rep.Says, want)
			}
			// The accept it gives makes room, and the SYN sent again gets in.
			run(t, l, "accept", "full")
			for end := time.Now().Add(3 * time.Second); Read(sock(t, l, "client")).State != Established; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(end) {
					t.Fatalf("after accept full: client is %s, want ESTABLISHED", Read(sock(t, l, "client")).State)
				}
			}
		})
	}
}

// TestConnectToEveryInterface connects to 0.0.0.0 and to ::, which Linux
// takes for this machine, as Python's connect does here: the call is made,
// and the report names the peer the kernel connected to, loopback, and
// says what to write instead. It stays on loopback: for a destination of
// 0.0.0.0 the kernel's route lookup substitutes the loopback address and
// device (ip_route_output_key_hash_rcu), and the test checks the peer it
// got before anything is sent.
func TestConnectToEveryInterface(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			port := listener(t, l, f, "server")
			run(t, l, "socket", "tcp", f.name, "as", "client")
			every := "0.0.0.0"
			if f.name == "ipv6" {
				every = "::"
			}
			rep := run(t, l, "connect", "client", every, port)
			peer := Read(sock(t, l, "client")).Remote
			if want := f.loopback; peer.Addr().String() != want {
				t.Fatalf("the kernel connected client to %s, want %s", peer, want)
			}
			for _, want := range []string{every + " names no machine", "the peer is " + peer.String(), "write " + f.loopback, "connected from"} {
				if !strings.Contains(rep.Says, want) {
					t.Errorf("got %q, want %q", rep.Says, want)
				}
			}
		})
	}
	l := newLab(t)
	run(t, l, "socket", "as", "client")
	if _, err := try(t, l, "connect", "client", "any", "8081"); err == nil {
		t.Error(`connect to "any", bind's word for every interface: got no usage error`)
	}
}

// TestConnectTwice connects a connected socket again, and a listener: the
// kernel refuses both with EISCONN, and the report says which it was.
func TestConnectTwice(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	port := portOf(t, l, "server")
	for _, tt := range []struct{ name, says, not string }{
		{"client", "is already connected", "listening"},
		{"server", "is a listening socket", "already connected"},
	} {
		rep := refused(t, l, unix.EISCONN, "connect", tt.name, "127.0.0.1", port)
		if got := rep.Failure.ForStep; !strings.Contains(got, tt.says) || strings.Contains(got, tt.not) {
			t.Errorf("connect %s: got %q, want %q and no %q", tt.name, got, tt.says, tt.not)
		}
	}
}

// TestConnectTwiceFromOnePort binds two sockets to one address and port
// (SO_REUSEADDR) and connects both to one server: the kernel refuses the
// second with EADDRNOTAVAIL, and the report names the first.
func TestConnectTwiceFromOnePort(t *testing.T) {
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	for _, name := range []string{"a", "b"} {
		run(t, l, "socket", "as", name)
		run(t, l, "option", name, "SO_REUSEADDR", "on")
	}
	run(t, l, "bind", "a", "127.0.0.1", "0")
	run(t, l, "bind", "b", "127.0.0.1", portOf(t, l, "a"))
	run(t, l, "connect", "a", "127.0.0.1", port)
	rep := refused(t, l, unix.EADDRNOTAVAIL, "connect", "b", "127.0.0.1", port)
	if want := sock(t, l, "a").Label() + " is already connected from the address and port"; !strings.Contains(foldParagraphs(rep.Failure.ForStep), want) {
		t.Errorf("got %q, want %q in it", rep.Failure.ForStep, want)
	}
}

// TestConnectSendTimeout: on Linux SO_SNDTIMEO bounds a blocking connect.
// When it runs out, connect returns EINPROGRESS and the handshake goes
// on (SYN_SENT); a second connect waits for the same handshake and, when
// the timeout runs out again, returns EALREADY; once the listener has
// room and SO_SNDTIMEO is 0, a connect waits until the kernel's next SYN
// is answered, and succeeds.
func TestConnectSendTimeout(t *testing.T) {
	l := newLab(t)
	port := hangingConnect(t, l, families[0])
	run(t, l, "option", "client", "SO_SNDTIMEO", "200ms")
	held := socketTimeout(sock(t, l, "client").FD, unix.POLLOUT)

	start := time.Now()
	rep := run(t, l, "connect", "client", "127.0.0.1", port)
	took := time.Since(start)
	if !strings.HasSuffix(rep.Call, "= -1 EINPROGRESS") || took < held || took > waitLimit {
		t.Fatalf("got %q after %v, want EINPROGRESS after SO_SNDTIMEO's %v", rep.Call, took, held)
	}
	if state := Read(sock(t, l, "client")).State; state != SynSent {
		t.Errorf("after the timeout: got %s, want %s", state, SynSent)
	}
	says := foldParagraphs(rep.Says)
	for _, want := range []string{"SO_SNDTIMEO (" + held.String() + ") ran out", "accept queue is full", "goes on with the handshake"} {
		if !strings.Contains(says, want) {
			t.Errorf("got %q, want %q in it", says, want)
		}
	}
	if !strings.Contains(rep.Python, "BlockingIOError: [Errno 115]") {
		t.Errorf("got python %q, want it to say what Python raises", rep.Python)
	}

	start = time.Now()
	rep = refused(t, l, unix.EALREADY, "connect", "client", "127.0.0.1", port)
	if took := time.Since(start); took < held || took > waitLimit {
		t.Errorf("the second connect returned after %v, want it to wait SO_SNDTIMEO's %v", took, held)
	}
	if !strings.Contains(foldParagraphs(rep.Failure.ForStep), "waited for it until SO_SNDTIMEO") {
		t.Errorf("got %q, want it to say the connect waited for the handshake already under way", rep.Failure.ForStep)
	}
	if state := Read(sock(t, l, "client")).State; state != SynSent {
		t.Errorf("after the second timeout: got %s, want %s", state, SynSent)
	}

	// The kernel's own blocking connect, with no sockstep between, does
	// the same. A signal that comes while it waits (Go's runtime sends
	// its threads SIGURG) ends a connect that has a timeout with EINTR, as
	// Linux does not restart it: then it is tried again, on a new socket.
	p, _ := strconv.Atoi(port)
	for try := 1; ; try++ {
		err := kernelsConnect(t, held, p)
		if errors.Is(err, unix.EINTR) && try < 5 {
			continue
		}
		if !errors.Is(err, unix.EINPROGRESS) {
			t.Errorf("a blocking connect with SO_SNDTIMEO: the kernel returned %v, want EINPROGRESS", err)
		}
		break
	}

	run(t, l, "accept", "full", "as", "conn1") // room in the queue for the next SYN
	run(t, l, "option", "client", "SO_SNDTIMEO", "0")
	rep = run(t, l, "connect", "client", "127.0.0.1", port)
	if rep.Failed() || !strings.HasSuffix(rep.Call, "= 0") {
		t.Fatalf("got %q, want the connect to finish once the listener has room", rep.Call)
	}
	if state := Read(sock(t, l, "client")).State; state != Established {
		t.Errorf("at the end: got %s, want %s", state, Established)
	}
}

// kernelsConnect makes a blocking connect to 127.0.0.1:port on a socket
// of its own whose SO_SNDTIMEO is timeout, and returns what it returned;
// it closes the socket, so that its handshake takes no room in the
// listener's queue.
func kernelsConnect(t *testing.T, timeout time.Duration, port int) error {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}) }()
	select {
	case err := <-done:
		return err
	case <-time.After(waitLimit):
		t.Fatalf("a blocking connect with SO_SNDTIMEO %v did not return within %v", timeout, waitLimit)
		return nil
	}
}

// connect's help and its report say a connected UDP socket takes
// datagrams from its peer only: a datagram from another socket to its
// address never reaches its queue, while its peer's does.
func TestConnectedUDPTakesItsPeerOnly(t *testing.T) {
	if !strings.Contains(strings.Join(strings.Fields(ConnectStep.About), " "), "only the datagrams from that peer") {
		t.Fatalf("connect's help does not say that a connected UDP socket takes datagrams from its peer only:\n%s", ConnectStep.About)
	}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			for _, name := range []string{"a", "peer", "other"} {
				run(t, l, "socket", "udp", f.name, "as", name)
				run(t, l, "bind", name, f.loopback, "0")
			}
			rep := run(t, l, "connect", "a", f.loopback, portOf(t, l, "peer"))
			wantSays(t, "connect", rep, "the kernel gives it only the datagrams that come from there")
			run(t, l, "sendto", "other", f.loopback, portOf(t, l, "a"), "stray")
			run(t, l, "sendto", "peer", f.loopback, portOf(t, l, "a"), "from the peer")
			buf := make([]byte, 64)
			var got []string
			for {
				n, _, err := unix.Recvfrom(sock(t, l, "a").FD, buf, unix.MSG_DONTWAIT)
				if err != nil {
					break
				}
				got = append(got, string(buf[:n]))
			}
			if len(got) != 1 || got[0] != "from the peer" {
				t.Errorf("a, connected to peer, got datagrams %q; want only its peer's", got)
			}
		})
	}
}

// TestStoppedConnectDrawsItsSYNs stops a connect to a full accept queue
// after 1.5 s: the kernel had sent its SYN, and again a second later,
// unanswered. The stopped call goes into the session's history, for the
// diagram, with those SYNs to the listener.
func TestStoppedConnectDrawsItsSYNs(t *testing.T) {
	l := newLab(t)
	port := hangingConnect(t, l, families[0])
	rep, err := try(t, l, "connect", "client", "127.0.0.1", port, "--timeout", "1500ms")
	if err != nil || !rep.Stopped {
		t.Fatalf("got %v, %v; want the connect stopped by --timeout", rep, err)
	}
	m := regexp.MustCompile(`^(\d+) SYNs?, unanswered$`).FindStringSubmatch(packetsOf(rep))
	if m == nil {
		t.Fatalf("got packets %v, want the SYNs to full, unanswered", rep.Packets)
	}
	if n, _ := strconv.Atoi(m[1]); n < 1 || n > 2 {
		t.Errorf("got %s SYNs in 1.5 s; the kernel sends one at once and the next a second later", m[1])
	}
	history := l.History()
	if last := history[len(history)-1]; last.Socket != "client" || !slices.Equal(last.Packets, rep.Packets) || last.Packets[0].To != "full" {
		t.Errorf("got last event %+v, want the stopped connect of client, with its SYNs to full", last)
	}
}

// packetsOf is a report's one packet label, or its packets printed.
func packetsOf(rep *Report) string {
	if len(rep.Packets) == 1 {
		return rep.Packets[0].What
	}
	return fmt.Sprint(rep.Packets)
}

// TestNextAfterANonBlockingConnect connects a non-blocking socket to
// sockets outside the lab: a listener with room, where the handshake is
// done before connect returns; one whose accept queue is full, where the
// socket stays in SYN_SENT; and one bound but not listening, whose reset
// leaves it CLOSED with the error pending. What next suggests must work in
// the state the kernel reports: send once the connection is ESTABLISHED,
// show while it is not, and connect again, which reports the error, once
// it has failed.
func TestNextAfterANonBlockingConnect(t *testing.T) {
	for _, tc := range []struct {
		name   string
		listen bool
		fill   bool // the accept queue: backlog 0 and one connection waiting
	}{
		{"listener", true, false},
		{"full accept queue", true, true},
		{"nobody listening", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd, p := outsideSocket(t, unix.SOCK_STREAM)
			t.Cleanup(func() { unix.Close(fd) })
			port := strconv.Itoa(p)
			if tc.listen {
				backlog := 128
				if tc.fill {
					backlog = 0
				}
				if err := unix.Listen(fd, backlog); err != nil {
					t.Fatal(err)
				}
			}
			l := newLab(t)
			if tc.fill {
				run(t, l, "socket", "as", "first")
				run(t, l, "connect", "first", "127.0.0.1", port)
			}
			run(t, l, "socket", "as", "c")
			run(t, l, "option", "c", "O_NONBLOCK", "on")
			rep := run(t, l, "connect", "c", "127.0.0.1", port)
			c := sock(t, l, "c")
			state := Read(c).State
			want := map[TCPState]string{Established: "send c ", SynSent: "show c ", Closed: "connect c 127.0.0.1 " + port + " "}[state]
			if want == "" {
				t.Fatalf("the kernel says c is %s", state)
			}
			if !strings.HasPrefix(rep.Next, want) {
				t.Fatalf("c is %s: got next %q, want %q…", state, rep.Next, want)
			}
			switch state {
			case Established:
				text, err := strconv.Unquote(strings.TrimPrefix(rep.Next, want))
				if err != nil {
					t.Fatalf("next %q: %v", rep.Next, err)
				}
				if r := run(t, l, "send", "c", text); r.Failed() {
					t.Errorf("%s: %s", rep.Next, r.Call)
				}
			case SynSent:
				// send would fail with EAGAIN until the handshake is done.
				if _, err := unix.SendmsgN(c.FD, []byte("x"), nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL); !errors.Is(err, unix.EAGAIN) {
					t.Errorf("in SYN_SENT, send returned %v, want EAGAIN", err)
				}
			case Closed:
				refused(t, l, unix.ECONNREFUSED, "connect", "c", "127.0.0.1", port)
			}
		})
	}
}

// TestConnectAfterAReportedRefusal: once the error of a refused
// non-blocking connect has been reported (here by recv), the kernel
// answers the next connect with ECONNABORTED, and the one after starts a
// new handshake, as the report says; the errno's general text says so
// too.
func TestConnectAfterAReportedRefusal(t *testing.T) {
	fd, p := outsideSocket(t, unix.SOCK_STREAM) // bound, not listening: a connect is refused
	t.Cleanup(func() { unix.Close(fd) })
	port := strconv.Itoa(p)
	l := newLab(t)
	run(t, l, "socket", "as", "c")
	run(t, l, "option", "c", "O_NONBLOCK", "on")
	run(t, l, "connect", "c", "127.0.0.1", port)
	refused(t, l, unix.ECONNREFUSED, "recv", "c")
	rep := refused(t, l, unix.ECONNABORTED, "connect", "c", "127.0.0.1", port)
	for _, want := range []string{"answers the next connect on such a socket with ECONNABORTED, once", "the connect after it starts a new handshake", "`close c`"} {
		if !strings.Contains(strings.Join(strings.Fields(rep.Failure.ForStep), " "), want) {
			t.Errorf("connect's ECONNABORTED: got %q, want it to say %q", rep.Failure.ForStep, want)
		}
	}
	if strings.Contains(rep.Failure.Cause, "rare") {
		t.Errorf("ECONNABORTED's cause calls it rare: %s", rep.Failure.Cause)
	}
	// The connect after it starts a new handshake, refused in turn.
	if rep := run(t, l, "connect", "c", "127.0.0.1", port); rep.Failure != nil && rep.Failure.Number != int(unix.ECONNREFUSED) {
		t.Errorf("the connect after ECONNABORTED: %s, want a new handshake (EINPROGRESS, or ECONNREFUSED)", rep.Call)
	}
}

// TestSendAfterARefusedConnect: a send on a TCP socket whose
// non-blocking connect was refused reports the connect's ECONNREFUSED,
// and says so, not that a UDP datagram was answered; the socket is
// CLOSED, as it says.
func TestSendAfterARefusedConnect(t *testing.T) {
	fd, p := outsideSocket(t, unix.SOCK_STREAM) // bound, not listening: a connect is refused
	t.Cleanup(func() { unix.Close(fd) })
	l := newLab(t)
	run(t, l, "socket", "as", "c")
	run(t, l, "option", "c", "O_NONBLOCK", "on")
	run(t, l, "connect", "c", "127.0.0.1", strconv.Itoa(p))
	rep := refused(t, l, unix.ECONNREFUSED, "send", "c", "x")
	says := strings.Join(strings.Fields(rep.Failure.ForStep), " ")
	if !strings.Contains(says, "The connect that c (fd") || strings.Contains(says, "UDP") {
		t.Errorf("got %q, want the refused connect of a TCP socket", says)
	}
	if st := Read(sock(t, l, "c")).State; st != Closed || !strings.Contains(says, "is CLOSED") {
		t.Errorf("the kernel says c is %s; the report says %q", st, says)
	}
}

// TestConnectThatFillsTheQueue: the connect whose connection fills the
// listener's accept queue, as the kernel counts it (one more than the
// backlog waits), says the queue is full, and only that one; a connect
// after it then waits, its SYN ignored, as the report said.
func TestConnectThatFillsTheQueue(t *testing.T) {
	for _, backlog := range []string{"0", "1"} {
		for _, f := range families {
			t.Run(f.name+" backlog "+backlog, func(t *testing.T) {
				l := newLab(t)
				port := listener(t, l, f, "server", backlog)
				server := sock(t, l, "server")
				for i := 0; ; i++ {
					name := fmt.Sprint("c", i)
					run(t, l, "socket", "tcp", f.name, "as", name)
					rep := run(t, l, "connect", name, f.loopback, port)
					q := Read(server)
					full := q.AcceptQueue > q.Backlog
					said := strings.Contains(foldParagraphs(rep.Says), "The queue is now full (Linux lets one more than the backlog wait): its kernel ignores the SYNs of new clients, whose connects wait until `accept server` makes room.")
					if said != full {
						t.Errorf("connect %s with %d/%d waiting: said full %v, want %v; says %q", name, q.AcceptQueue, q.Backlog, said, full, rep.Says)
					}
					if full {
						break
					}
					if i > 3 {
						t.Fatalf("the queue never filled: %d/%d", q.AcceptQueue, q.Backlog)
					}
				}
				run(t, l, "socket", "tcp", f.name, "as", "late")
				run(t, l, "option", "late", "nonblock", "on")
				try(t, l, "connect", "late", f.loopback, port)
				time.Sleep(100 * time.Millisecond)
				if state := Read(sock(t, l, "late")).State; state != SynSent {
					t.Errorf("a client of the full queue is %s, want SYN_SENT", state)
				}
			})
		}
	}
}
