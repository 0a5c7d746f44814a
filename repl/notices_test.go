package repl

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"sockstep/steps"

	"golang.org/x/sys/unix"
)

// fullSession is a session that narrates in full into the buffer it
// returns, closed when the test ends, so wide that no line is wrapped: a
// test can then look for a sentence within one line.
func fullSession(t *testing.T) (*Session, *strings.Builder) {
	t.Helper()
	out := new(strings.Builder)
	s := New(out, Options{Narration: Full, Width: 10000})
	t.Cleanup(s.Close)
	return s, out
}

// pairSession is a session with a listener named server, a client
// connected to it, and the connection accepted as conn.
func pairSession(t *testing.T) (*Session, *strings.Builder) {
	t.Helper()
	s, out := fullSession(t)
	port := freePort(t)
	mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
		"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept server as conn")
	out.Reset()
	return s, out
}

// outside is a socket of type typ (SOCK_STREAM, SOCK_DGRAM) for IPv4 that
// the session does not hold: what it sends arrives with no report of the
// session's to show it. close closes it, once, as the test's end does.
func outside(t *testing.T, typ int) (fd int, close func()) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, typ, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.CloseOnExec(fd)
	var once sync.Once
	close = func() { once.Do(func() { unix.Close(fd) }) }
	t.Cleanup(close)
	return fd, close
}

// boundUDP makes a UDP socket u in the session, sets the options given
// (such as "SO_RCVBUF 1") and binds it to 127.0.0.1 on a free port.
func boundUDP(t *testing.T, s *Session, options ...string) *steps.Socket {
	t.Helper()
	mustEval(t, s, "socket udp as u")
	for _, o := range options {
		mustEval(t, s, "option u "+o)
	}
	mustEval(t, s, fmt.Sprintf("bind u 127.0.0.1 %d", freePort(t)))
	return mustFind(t, s, "u")
}

// loopback is 127.0.0.1 at port, as the outside sockets' calls take it.
func loopback(port int) unix.Sockaddr {
	return &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
}

// outsidePair is a session with a listener named server and the connection
// of a client outside the session accepted from it as conn; it returns the
// client's file descriptor.
func outsidePair(t *testing.T) (*Session, *strings.Builder, int) {
	t.Helper()
	s, out := fullSession(t)
	port := freePort(t)
	mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server")
	client, _ := outside(t, unix.SOCK_STREAM)
	if err := unix.Connect(client, loopback(port)); err != nil {
		t.Fatal(err)
	}
	mustEval(t, s, "accept server as conn")
	out.Reset()
	return s, out, client
}

// arrived waits, at most 2 s, until the kernel's snapshot of sock passes
// ready: until what was sent to it from outside is queued.
func arrived(t *testing.T, sock *steps.Socket, ready func(steps.Snapshot) bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !ready(steps.Read(sock)); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: what was sent to it never arrived", sock.Label())
		}
	}
}

// writeTo sends data on the outside stream socket fd and waits until sock,
// its peer, has it queued.
func writeTo(t *testing.T, fd int, sock *steps.Socket, data string) {
	t.Helper()
	before := steps.Read(sock).RecvQ
	if _, err := unix.Write(fd, []byte(data)); err != nil {
		t.Fatal(err)
	}
	arrived(t, sock, func(s steps.Snapshot) bool { return s.RecvQ >= before+len(data) })
}

// sendDatagram sends data from the outside datagram socket fd to sock,
// bound to 127.0.0.1 at port, and waits until the kernel has queued it
// there (the memory its queue takes grows) or dropped it.
func sendDatagram(t *testing.T, fd int, sock *steps.Socket, data string) {
	t.Helper()
	before := steps.Read(sock)
	if err := unix.Sendto(fd, []byte(data), 0, loopback(int(before.Local.Port()))); err != nil {
		t.Fatal(err)
	}
	arrived(t, sock, func(s steps.Snapshot) bool { return s.QueueMemory > before.QueueMemory || s.Dropped > before.Dropped })
}

// TestNoticesOfAnEnd ends a connection in each of the ways that leave the
// socket CLOSED with its file descriptor still open, outside any report
// (the client is a socket the session does not hold, and a call written
// "conn: ..." is made on conn's descriptor with no step), and checks the
// notice the watcher posts against what the kernel does next: the calls
// the notice speaks of are made, and must return what it said.
func TestNoticesOfAnEnd(t *testing.T) {
	tests := []struct {
		name   string
		lines  []string // session lines, or calls outside it: "client: close", "conn: write bye"
		notice string
		then   []string // each line, then what its output must contain
	}{
		{
			name:   "the peer closed, then its kernel answered a send with RST",
			lines:  []string{"client: close", "conn: write bye"},
			notice: "the peer's kernel answered with a reset (RST): the connection is over; recv conn returns what is queued, then 0 bytes, and send fails with EPIPE",
			then:   []string{"recv conn", "= 0", "send conn x", "EPIPE", "recv conn", "= 0"},
		},
		{
			name:   "the peer aborted: SO_LINGER 0",
			lines:  []string{"client: abort"},
			notice: "the peer reset the connection (RST): the next call on it fails with ECONNRESET (a recv returns what is queued first); after that recv conn returns 0 bytes and send fails with EPIPE",
			then:   []string{"send conn x", "ECONNRESET", "recv conn", "= 0", "send conn x", "EPIPE"},
		},
		{
			name:   "the peer closed with bytes it had not read",
			lines:  []string{"send conn unread", "client: write hi", "client: close"},
			notice: "the next call on it fails with ECONNRESET (a recv returns what is queued first)",
			then:   []string{"recv conn", `"hi"`, "recv conn", "ECONNRESET", "recv conn", "= 0", "send conn x", "EPIPE"},
		},
		{
			name:   "this side shut down both directions, then the peer sent more",
			lines:  []string{"shutdown conn both", "client: write more"},
			notice: "the connection was reset (RST): this side had shut down both directions, and Linux resets such a connection when the peer sends more",
			then:   []string{"recv conn", "ECONNRESET", "recv conn", "= 0", "send conn x", "EPIPE"},
		},
		{
			name:   "this side shut down writing, then the peer closed",
			lines:  []string{"shutdown conn write", "client: close"},
			notice: "the connection is over (CLOSED): recv conn returns 0 bytes once what is queued is read, and send fails with EPIPE",
			then:   []string{"recv conn", "= 0", "send conn x", "EPIPE"},
		},
		{
			name:   "the peer shut down writing, then this side did, its FIN held by the peer's closed window until the peer read",
			lines:  []string{"client: shutdown write", "send conn --bytes 300000", "conn: shutdown write", "client: read all"},
			notice: "the peer acknowledged this side's FIN: the connection is over (CLOSED): recv conn returns 0 bytes once what is queued is read, and send fails with EPIPE",
			then:   []string{"recv conn", "= 0", "send conn x", "EPIPE"},
		},
		{
			name:   "the peer closed, then this side shut down writing",
			lines:  []string{"client: close", "conn: shutdown write"},
			notice: "the connection is over (CLOSED)",
			then:   []string{"recv conn", "= 0", "send conn x", "EPIPE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, out := fullSession(t)
			port := freePort(t)
			mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server")
			client, closeClient := outside(t, unix.SOCK_STREAM)
			if err := unix.Connect(client, loopback(port)); err != nil {
				t.Fatal(err)
			}
			mustEval(t, s, "accept server as conn")
			conn := mustFind(t, s, "conn")
			var notices []string
			for _, line := range tt.lines {
				before := steps.Read(conn)
				var err error
				switch line {
				case "client: close":
					closeClient()
				case "client: abort":
					err = unix.SetsockoptLinger(client, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
					closeClient()
				case "client: write hi", "client: write more":
					_, err = unix.Write(client, []byte(strings.TrimPrefix(line, "client: write ")))
				case "conn: write bye":
					_, err = unix.Write(conn.FD, []byte("bye"))
				case "conn: shutdown write":
					err = unix.Shutdown(conn.FD, unix.SHUT_WR)
					if st := steps.Read(conn).State; tt.lines[len(tt.lines)-1] == "client: read all" && st != steps.LastAck {
						t.Fatalf("conn is %s after its shutdown, not LAST_ACK with its FIN held", st)
					}
				case "client: shutdown write":
					err = unix.Shutdown(client, unix.SHUT_WR)
				case "client: read all":
					err = readToEnd(client)
				default:
					mustEval(t, s, line)
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				arrived(t, conn, func(now steps.Snapshot) bool { return now.State != before.State || now.RecvQ != before.RecvQ })
				got, _ := evalOut(s, out, "")
				for _, l := range strings.Split(got, "\n") {
					if strings.HasPrefix(l, "· conn (fd ") {
						notices = append(notices, l)
					}
				}
			}
			if !strings.Contains(strings.Join(notices, "\n"), tt.notice) {
				t.Errorf("got notices\n%s\nwant one containing %q", strings.Join(notices, "\n"), tt.notice)
			}
			for i := 0; i+1 < len(tt.then); i += 2 {
				line, want := tt.then[i], tt.then[i+1]
				if got, _ := evalOut(s, out, line); !strings.Contains(got, want) {
					t.Errorf("%s, after the notice: got\n%s\nwant %q", line, got, want)
				}
			}
		})
	}
}

// readToEnd reads the stream socket fd until the peer's FIN (a read of
// 0 bytes), at most 2 s for each read and 10,000 reads in all.
func readToEnd(fd int) error {
	tv := unix.NsecToTimeval((2 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for range 10000 {
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return nil
		}
	}
	return fmt.Errorf("no end after 10,000 reads")
}

// TestOwnShutdownIsNotThePeers: after this side's own shutdown(SHUT_RD),
// poll says nothing more will be read, as it does after the peer's FIN;
// neither a notice nor show may say the peer closed.
func TestOwnShutdownIsNotThePeers(t *testing.T) {
	s, out := pairSession(t)
	if got, _ := evalOut(s, out, "shutdown conn read"); strings.Contains(got, "the peer closed") {
		t.Errorf("shutdown conn read: got a notice that the peer closed\n%s", got)
	}
	got, _ := evalOut(s, out, "show conn")
	if strings.Contains(got, "has closed its side") || !strings.Contains(got, "shut down on this side (SHUT_RD)") {
		t.Errorf("show conn after shutdown read: got\n%s\nwant reading shut down on this side, and no peer closed", got)
	}
	mustEval(t, s, "close client")
	if got, _ := evalOut(s, out, "show conn"); !strings.Contains(got, "has closed its side") {
		t.Errorf("show conn after the peer's close: got\n%s\nwant the peer closed", got)
	}
}

// TestShowUDPQueue: for UDP the kernel gives the size of the next datagram
// only, and show and sockets must say so; recvfrom then takes exactly a
// datagram of that size.
func TestShowUDPQueue(t *testing.T) {
	s, out := fullSession(t)
	port := freePort(t)
	mustEval(t, s, "socket udp as u", fmt.Sprintf("bind u 127.0.0.1 %d", port), "socket udp as v",
		fmt.Sprintf("sendto v 127.0.0.1 %d hi", port), fmt.Sprintf("sendto v 127.0.0.1 %d there", port))
	if got, _ := evalOut(s, out, "show u"); !strings.Contains(got, "the next datagram waiting is 2 bytes") || strings.Contains(got, "acknowledged") {
		t.Errorf("show u: got\n%s\nwant the next datagram's size, and nothing of acknowledgements", got)
	}
	if got, _ := evalOut(s, out, "sockets"); !strings.Contains(got, "RECV-Q is the size of the next datagram only") {
		t.Errorf("sockets: got\n%s\nwant RECV-Q explained for UDP", got)
	}
	if got, _ := evalOut(s, out, "recvfrom u"); !strings.Contains(got, `2 bytes  "hi"`) {
		t.Errorf("recvfrom u: got\n%s\nwant the 2-byte datagram", got)
	}
}

// TestNoticesOfOneByte: one byte that arrives, on a connection or as a
// datagram, is told in the singular, as the kernel counts it.
func TestNoticesOfOneByte(t *testing.T) {
	s, out, client := outsidePair(t)
	writeTo(t, client, mustFind(t, s, "conn"), "y")
	if got, _ := evalOut(s, out, ""); !strings.Contains(got, ": 1 byte has arrived: recv conn reads it") {
		t.Errorf("1 byte sent to conn: got\n%s\nwant a notice that 1 byte has arrived", got)
	}
	u := boundUDP(t, s)
	v, _ := outside(t, unix.SOCK_DGRAM)
	sendDatagram(t, v, u, "y")
	if got, _ := evalOut(s, out, ""); !strings.Contains(got, "at least one datagram has arrived; the next is 1 byte:") {
		t.Errorf("a datagram of one byte sent to u: got\n%s\nwant a notice of a next datagram of 1 byte", got)
	}
}

// TestNoticesOfMoreBytes: bytes that arrive while others wait are told as
// the kernel's receive queue grew, and with the queue's length, each read
// from SIOCINQ around the send.
func TestNoticesOfMoreBytes(t *testing.T) {
	tests := []struct {
		name  string
		first string   // what the client outside sends first
		lines []string // then, after its notice
		send  string   // what the client sends then
	}{
		{"after bytes left unread", "0123456789", []string{"recv conn 3"}, "ab"},
		{"after bytes never read", "hello", nil, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, out, client := outsidePair(t)
			conn := mustFind(t, s, "conn")
			writeTo(t, client, conn, tt.first)
			mustEval(t, s, append([]string{""}, tt.lines...)...)
			before := steps.Read(conn).RecvQ
			writeTo(t, client, conn, tt.send)
			got, _ := evalOut(s, out, "")
			after := steps.Read(conn).RecvQ
			more := fmt.Sprintf("%d more bytes have", after-before)
			if after-before == 1 {
				more = "1 more byte has"
			}
			want := fmt.Sprintf("conn (fd %d): %s arrived, %d in all wait: recv conn reads them", conn.FD, more, after)
			if !strings.Contains(got, want) {
				t.Errorf("%q sent with %d bytes waiting: got\n%s\nwant %q", tt.send, before, got, want)
			}
		})
	}
}

// TestNoticesOfAHandshakeUnderWay: a non-blocking connect left in SYN_SENT
// (the listener's accept queue is full, so its kernel drops the SYN) is
// told when its handshake ends: once accept makes room and the SYN sent
// again is answered, or once the listener is closed and the SYN is
// answered with a reset. The state the notice names is the kernel's, and
// the call after it returns what the notice said.
func TestNoticesOfAHandshakeUnderWay(t *testing.T) {
	tests := []struct {
		name   string
		line   string // after client2's connect is under way
		state  steps.TCPState
		notice string
		then   string // what send client2 x must return after it
	}{
		{"accept makes room", "accept server as conn", steps.Established,
			"client2 (fd FD): the handshake has finished: client2 is connected to 127.0.0.1:PORT (ESTABLISHED), and send and recv work on it now", "= 1"},
		{"the listener is closed", "close server", steps.Closed,
			"client2 (fd FD): the handshake failed: the connection attempt is over (CLOSED), and the next call on client2 fails with the reason", "ECONNREFUSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, out := fullSession(t)
			port := freePort(t)
			mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server 0",
				"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port),
				"socket as client2", "option client2 O_NONBLOCK on")
			evalOut(s, out, fmt.Sprintf("connect client2 127.0.0.1 %d", port))
			client2 := mustFind(t, s, "client2")
			if state := steps.Read(client2).State; state != steps.SynSent {
				t.Fatalf("client2 after a non-blocking connect to a full queue: %s, want SYN_SENT", state)
			}
			got, _ := evalOut(s, out, tt.line)
			// The SYN is sent again after a second, then after two more.
			for deadline := time.Now().Add(8 * time.Second); steps.Read(client2).State == steps.SynSent && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			if state := steps.Read(client2).State; state != tt.state {
				t.Fatalf("client2 after %s: %s, want %s", tt.line, state, tt.state)
			}
			more, _ := evalOut(s, out, "")
			got += more
			want := strings.NewReplacer("PORT", fmt.Sprint(port), "FD", fmt.Sprint(client2.FD)).Replace(tt.notice)
			if !strings.Contains(got, want) || strings.Count(got, ": the handshake ") != 1 {
				t.Errorf("after %s: got\n%s\nwant one notice %q", tt.line, got, want)
			}
			if got, _ := evalOut(s, out, "send client2 x"); !strings.Contains(got, tt.then) {
				t.Errorf("send client2 x after the notice: got\n%s\nwant %q", got, tt.then)
			}
		})
	}
}

// TestNoticesOfWaitingClients: the notice of a connection waiting names
// the clients in the accept queue, also one that has closed its side while
// it waited (accept still returns it), and counts those it names where the
// kernel's table no longer lists one (its client reset it). The clients
// are outside the session, so no report of a connect has shown the queue.
func TestNoticesOfWaitingClients(t *testing.T) {
	tests := []struct {
		name   string
		then   func(t *testing.T, fd int, close func()) // to client a, after a and b connected
		listed []string                                 // the clients the notice names
	}{
		{"one closed while it waited", func(t *testing.T, fd int, close func()) { close() }, []string{"a", "b", "c"}},
		{"one reset while it waited", func(t *testing.T, fd int, close func()) {
			if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
				t.Fatal(err)
			}
			close()
		}, []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, out := fullSession(t)
			port := freePort(t)
			mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server")
			clients := map[string]string{}
			connect := func(name string) (int, func()) {
				fd, close := outside(t, unix.SOCK_STREAM)
				if err := unix.Connect(fd, loopback(port)); err != nil {
					t.Fatal(err)
				}
				sa, err := unix.Getsockname(fd)
				if err != nil {
					t.Fatal(err)
				}
				clients[name] = fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
				return fd, close
			}
			a, closeA := connect("a")
			connect("b")
			tt.then(t, a, closeA)
			connect("c")
			mustEval(t, s, "")
			server := mustFind(t, s, "server")
			queue := steps.Read(server).AcceptQueue
			connect("d")
			listed := append(tt.listed, "d")
			got, _ := evalOut(s, out, "")
			var line string
			for _, l := range strings.Split(got, "\n") {
				if strings.Contains(l, "waiting to be accepted") {
					line = l
				}
			}
			want := fmt.Sprintf("%d connections are waiting to be accepted (", queue+1)
			if len(listed) < queue+1 {
				want += fmt.Sprintf("%d of them ", len(listed))
			}
			if !strings.Contains(line, want) {
				t.Errorf("got %q, want it to begin %q", line, want)
			}
			for _, name := range listed {
				if !strings.Contains(line, clients[name]) {
					t.Errorf("got %q, want %s's address %s in it", line, name, clients[name])
				}
			}
			if strings.Count(line, "127.0.0.1:") != len(listed) {
				t.Errorf("got %q, want %d clients named", line, len(listed))
			}
		})
	}
}

// TestNoticesOfDatagramsBehindOthers: a datagram that joins a queue where
// others wait is told too, though SIOCINQ, the size of the next one only,
// does not change; a recvfrom that leaves datagrams waiting is told of as
// nothing new; and every datagram told of is there for recvfrom after.
// The datagrams come from a socket outside the session, so no report of
// a sendto has shown the queue.
func TestNoticesOfDatagramsBehindOthers(t *testing.T) {
	s, out := fullSession(t)
	u := boundUDP(t, s)
	v, _ := outside(t, unix.SOCK_DGRAM)
	more := fmt.Sprintf("u (fd %d): at least one more datagram has arrived, behind the next one: each recvfrom u reads one datagram", u.FD)
	for _, tt := range []struct {
		send, line   string // a datagram the outside socket sends, or a line
		notice, data string // notice "" wants none of u; the datagram recvfrom must read
	}{
		{send: "one", notice: "at least one datagram has arrived; the next is 3 bytes:"},
		{send: "two", notice: more},
		{line: "recvfrom u", data: `"one"`},
		{send: "three", notice: more},
		{line: "recvfrom u", data: `"two"`},
		{line: "recvfrom u", data: `"three"`},
	} {
		what := tt.line
		if tt.send != "" {
			what = "a datagram " + tt.send
			sendDatagram(t, v, u, tt.send)
		}
		got, _ := evalOut(s, out, tt.line)
		if tt.notice == "" && strings.Contains(got, "· u (fd") || !strings.Contains(got, tt.notice) {
			t.Errorf("%s: got\n%s\nwant notice %q", what, got, tt.notice)
		}
		if !strings.Contains(got, tt.data) {
			t.Fatalf("%s: got\n%s\nwant %s read", what, got, tt.data)
		}
	}
	if snap := steps.Read(u); snap.DatagramWaiting() {
		t.Errorf("after three recvfrom, a datagram waits still (%d bytes)", snap.RecvQ)
	}
}

// TestNoticesOfAFullQueue: the notice of a connection waiting says when
// the accept queue is full, as the kernel counts it (one more than the
// backlog may wait), and a connect to it then waits, its SYN ignored,
// until accept makes room. The clients that fill it are outside the
// session, so no report of a connect has shown the queue.
func TestNoticesOfAFullQueue(t *testing.T) {
	for _, backlog := range []int{0, 1} {
		t.Run(fmt.Sprint("backlog ", backlog), func(t *testing.T) {
			s, out := fullSession(t)
			port := freePort(t)
			mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), fmt.Sprintf("listen server %d", backlog))
			server := mustFind(t, s, "server")
			for i := 0; ; i++ {
				fd, _ := outside(t, unix.SOCK_STREAM)
				if err := unix.Connect(fd, loopback(port)); err != nil {
					t.Fatal(err)
				}
				got, _ := evalOut(s, out, "")
				snap := steps.Read(server)
				full := "the queue is full (backlog " + fmt.Sprint(backlog)
				if snap.AcceptQueue > snap.Backlog {
					if !strings.Contains(got, full) {
						t.Errorf("with %d waiting of backlog %d: got\n%s\nwant %q", snap.AcceptQueue, snap.Backlog, got, full)
					}
					break
				}
				if strings.Contains(got, full) {
					t.Errorf("with %d waiting of backlog %d: got\n%s\nwant no full queue", snap.AcceptQueue, snap.Backlog, got)
				}
				if i > backlog+2 {
					t.Fatalf("the queue never filled: %d of %d", snap.AcceptQueue, snap.Backlog)
				}
			}
			// One more client's SYN is ignored: its connect is under way still.
			mustEval(t, s, "socket as late", "option late O_NONBLOCK on")
			evalOut(s, out, fmt.Sprintf("connect late 127.0.0.1 %d", port))
			late := mustFind(t, s, "late")
			time.Sleep(100 * time.Millisecond)
			if state := steps.Read(late).State; state != steps.SynSent {
				t.Errorf("a client of a full queue is %s, want SYN_SENT", state)
			}
		})
	}
}

// TestNoticesOfDroppedDatagrams: a datagram the kernel drops because the
// receive buffer is full is told, once, with the count SO_MEMINFO gives.
// The datagrams come from a socket outside the session, so no report of a
// sendto has shown the count.
func TestNoticesOfDroppedDatagrams(t *testing.T) {
	s, out := fullSession(t)
	u := boundUDP(t, s, "SO_RCVBUF 1")
	v, _ := outside(t, unix.SOCK_DGRAM)
	told := 0
	for i := 0; i < 6; i++ {
		before := steps.Read(u).Dropped
		sendDatagram(t, v, u, "x")
		got, _ := evalOut(s, out, "")
		after := steps.Read(u).Dropped
		want := fmt.Sprintf("u (fd %d): the kernel dropped 1 datagram instead of queueing", u.FD)
		switch {
		case after > before && !strings.Contains(got, want):
			t.Errorf("datagram %d, dropped: got\n%s\nwant %q", i, got, want)
		case after == before && strings.Contains(got, "dropped"):
			t.Errorf("datagram %d, queued: got\n%s\nwant no notice of a drop", i, got)
		}
		if after > before {
			told++
		}
	}
	if told == 0 {
		t.Fatal("the kernel dropped no datagram: the test did not fill the buffer")
	}
}

// TestNoticesAfterTheQueueWasShown: bytes that arrived unseen and that a
// recv leaves queued are the recv's own report's to tell, as are those
// `sockets` or `show` has just listed: no notice follows that calls them
// arrived; bytes that come after are told as more, counted from SIOCINQ
// before and after they come.
func TestNoticesAfterTheQueueWasShown(t *testing.T) {
	tests := []struct {
		name string
		udp  bool
		line string // run once the peer has sent, no notice between
	}{
		{"recv that took part of the queue", false, "recv conn 58"},
		{"sockets", false, "sockets"},
		{"show", false, "show conn"},
		{"recvfrom that left datagrams queued", true, "recvfrom conn"},
		{"sockets, datagrams", true, "sockets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s *Session
			var out *strings.Builder
			if tt.udp {
				s, out = fullSession(t)
				port := freePort(t)
				mustEval(t, s, "socket udp as conn", fmt.Sprintf("bind conn 127.0.0.1 %d", port),
					"socket udp as client", fmt.Sprintf("connect client 127.0.0.1 %d", port))
			} else {
				s, out = pairSession(t)
			}
			conn, client := mustFind(t, s, "conn"), mustFind(t, s, "client")
			write := func(n int) {
				if _, err := unix.Write(client.FD, make([]byte, n)); err != nil {
					t.Error(err)
				}
			}
			write(10000)
			write(300)
			got, err := evalOut(s, out, tt.line)
			if err != nil {
				t.Fatalf("%s: %v\n%s", tt.line, err, got)
			}
			if !steps.Read(conn).DatagramWaiting() && steps.Read(conn).RecvQ == 0 {
				t.Fatalf("%s: nothing is queued after it: the test sent too little", tt.line)
			}
			if strings.Contains(got, "· conn (fd") {
				t.Errorf("%s: got\n%s\nwant no notice of conn: its queue was just shown", tt.line, got)
			}
			if tt.udp {
				return // a datagram behind others is TestNoticesOfDatagramsBehindOthers'
			}
			before := steps.Read(conn).RecvQ
			write(7)
			for deadline := time.Now().Add(2 * time.Second); steps.Read(conn).RecvQ < before+7 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			if after := steps.Read(conn).RecvQ; after != before+7 {
				t.Fatalf("the kernel has %d bytes queued after 7 more came to %d", after, before)
			}
			got, _ = evalOut(s, out, "help")
			want := fmt.Sprintf("conn (fd %d): 7 more bytes have arrived, %d in all wait", conn.FD, before+7)
			if !strings.Contains(got, want) {
				t.Errorf("7 bytes more: got\n%s\nwant %q", got, want)
			}
		})
	}
}

// TestNoticesOfDatagramsThatCameTogether: datagrams that arrive together
// while none waited are told as at least one, with the next one's size:
// SIOCINQ gives the first datagram's size, and nothing the kernel reports
// without reading them counts them. recvfrom then reads each of them.
func TestNoticesOfDatagramsThatCameTogether(t *testing.T) {
	for _, sizes := range [][]int{{400}, {400, 300, 200}} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			s, out := fullSession(t)
			port := freePort(t)
			mustEval(t, s, "socket udp as u", fmt.Sprintf("bind u 127.0.0.1 %d", port),
				"socket udp as v", fmt.Sprintf("connect v 127.0.0.1 %d", port))
			u, v := mustFind(t, s, "u"), mustFind(t, s, "v")
			for _, n := range sizes {
				if _, err := unix.Write(v.FD, make([]byte, n)); err != nil {
					t.Fatal(err)
				}
			}
			next := steps.Read(u).RecvQ
			got, _ := evalOut(s, out, "help")
			want := fmt.Sprintf("u (fd %d): at least one datagram has arrived; the next is %d bytes: each recvfrom u reads one datagram", u.FD, next)
			if !strings.Contains(got, want) {
				t.Errorf("%d datagrams sent: got\n%s\nwant %q", len(sizes), got, want)
			}
			for _, n := range sizes {
				if got, _ := evalOut(s, out, "recvfrom u 65536"); !strings.Contains(got, fmt.Sprintf("= %d ", n)) {
					t.Errorf("recvfrom u: got\n%s\nwant a datagram of %d bytes", got, n)
				}
			}
		})
	}
}

// TestNoticeOfAnEmptyDatagram: an empty datagram that arrives is told as
// one, and recvfrom then takes a datagram of the size the notice gave.
func TestNoticeOfAnEmptyDatagram(t *testing.T) {
	s, out := fullSession(t)
	u := boundUDP(t, s)
	v, _ := outside(t, unix.SOCK_DGRAM)
	sendDatagram(t, v, u, "")
	got, _ := evalOut(s, out, "")
	buf := make([]byte, 16)
	n, _, err := unix.Recvfrom(u.FD, buf, unix.MSG_PEEK|unix.MSG_DONTWAIT)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("the next is empty (%d bytes):", n); n != 0 || !strings.Contains(got, want) {
		t.Errorf("an empty datagram sent to u: got\n%s\nwant %q, recvfrom peeked %d bytes", got, want, n)
	}
}

// sockaddrOf is ap as the socket calls take it.
func sockaddrOf(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// TestNoNoticeRepeatsAReport: a step whose report shows the queue of the
// socket its bytes, datagram or connection reached (the peer a send
// reached, the listener a connect reached) is followed by no notice of
// that socket; what arrives after, with no report to show it, is told,
// counted from what the report showed.
func TestNoNoticeRepeatsAReport(t *testing.T) {
	waiting := []string{"socket TYPE as server", "bind server HOST 0", "listen server", "socket TYPE as client", "connect client HOST PORT"}
	pairLines := append(waiting, "accept server as conn")
	tests := []struct {
		name  string
		setup []string // TYPE is the family, HOST its loopback address, PORT the port bound
		line  string
		from  string // the socket the line sends from, which then sends again outside any report
		to    string // the socket whose queue the report shows
		// stream, listener, datagram or dropped; peer closed: the report
		// shows to's peer closed, and from (to itself) then sends to the
		// peer, whose kernel answers with a reset; over: the report shows
		// to's connection over, and nothing more can come to it
		kind string
	}{
		{"connect", []string{"socket TYPE as server", "bind server HOST 0", "listen server", "socket TYPE as client", "socket TYPE as late"},
			"connect client HOST PORT", "late", "server", "listener"},
		{"send", []string{"socket TYPE as server", "bind server HOST 0", "listen server", "socket TYPE as client", "connect client HOST PORT", "accept server as conn"},
			"send client hello", "client", "conn", "stream"},
		{"send --bytes", []string{"socket TYPE as server", "bind server HOST 0", "listen server", "socket TYPE as client", "connect client HOST PORT", "accept server as conn"},
			"send client --bytes 1000", "client", "conn", "stream"},
		{"sendto on a connection", []string{"socket TYPE as server", "bind server HOST 0", "listen server", "socket TYPE as client", "connect client HOST PORT", "accept server as conn"},
			"sendto client HOST PORT hello", "client", "conn", "stream"},
		{"sendto", []string{"socket udp TYPE as u", "bind u HOST 0", "socket udp TYPE as v"},
			"sendto v HOST PORT hi", "v", "u", "datagram"},
		{"sendto behind another", []string{"socket udp TYPE as u", "bind u HOST 0", "socket udp TYPE as v", "sendto v HOST PORT first"},
			"sendto v HOST PORT hi", "v", "u", "datagram"},
		{"send on a connected datagram socket", []string{"socket udp TYPE as u", "bind u HOST 0", "socket udp TYPE as v", "connect v HOST PORT"},
			"send v hi", "v", "u", "datagram"},
		{"sendto dropped", []string{"socket udp TYPE as u", "option u SO_RCVBUF 1", "bind u HOST 0", "socket udp TYPE as v",
			"sendto v HOST PORT x", "sendto v HOST PORT x", "sendto v HOST PORT x", "sendto v HOST PORT x", "sendto v HOST PORT x"},
			"sendto v HOST PORT x", "v", "u", "dropped"},
		{"shutdown both", pairLines, "shutdown client both", "conn", "conn", "peer closed"},
		{"close", pairLines, "close client", "conn", "conn", "peer closed"},
		{"close with bytes unread", append(pairLines, "send client hello"), "close conn", "", "client", "over"},
		{"shutdown after the peer's", append(pairLines, "shutdown client write"), "shutdown conn write", "", "client", "over"},
		{"send to a peer shut down both ways", append(pairLines, "shutdown conn both"), "send client hi", "", "conn", "over"},
		{"accept after the client sent and closed", []string{"socket TYPE as server", "bind server HOST 0", "listen server", "socket TYPE as client", "connect client HOST PORT", "send client hi", "close client"},
			"accept server as conn", "conn", "conn", "peer closed"},
		{"close a listener with a client waiting", waiting, "close server", "", "client", "over"},
		{"close a listener with two clients waiting", append(waiting, "socket TYPE as other", "connect other HOST PORT"), "close server", "", "other", "over"},
		{"close a listener with a client waiting that had sent", append(waiting, "send client hello"), "close server", "", "client", "over"},
		{"close a listener with a client waiting that had shut down writing", append(waiting, "shutdown client write"), "close server", "", "client", "over"},
	}
	for _, f := range []struct{ name, host string }{{"ipv4", "127.0.0.1"}, {"ipv6", "::1"}} {
		for _, tt := range tests {
			t.Run(f.name+" "+tt.name, func(t *testing.T) {
				s, out := fullSession(t)
				port := ""
				fill := func(line string) string {
					return strings.NewReplacer("TYPE", f.name, "HOST", f.host, "PORT", port).Replace(line)
				}
				for _, line := range tt.setup {
					mustEval(t, s, fill(line))
					if name, ok := strings.CutPrefix(line, "bind "); ok {
						port = fmt.Sprint(steps.Read(mustFind(t, s, strings.Fields(name)[0])).Local.Port())
					}
				}
				got, err := evalOut(s, out, fill(tt.line))
				if err != nil {
					t.Fatalf("%s: %v\n%s", fill(tt.line), err, got)
				}
				to := mustFind(t, s, tt.to)
				from := to
				if tt.from != "" {
					from = mustFind(t, s, tt.from)
				}
				snap := steps.Read(to)
				var shown, notice string
				var arrival func() bool
				switch tt.kind {
				case "listener":
					shown = fmt.Sprintf("accept queue %d/%d", snap.AcceptQueue, snap.Backlog)
					notice = fmt.Sprintf("%d connections are waiting to be accepted", snap.AcceptQueue+1)
					arrival = func() bool {
						err := unix.Connect(from.FD, sockaddrOf(snap.Local))
						return err == nil
					}
				case "stream":
					shown = fmt.Sprintf("recv-q %d", snap.RecvQ)
					notice = fmt.Sprintf("3 more bytes have arrived, %d in all wait", snap.RecvQ+3)
					arrival = func() bool {
						_, err := unix.Write(from.FD, []byte("abc"))
						return err == nil
					}
				case "peer closed", "over":
					shown = snap.State.String()
					notice = "the peer's kernel answered with a reset (RST)"
					arrival = func() bool {
						_, err := unix.Write(from.FD, []byte("abc"))
						return err == nil
					}
				case "datagram", "dropped":
					shown = "next datagram " + steps.DatagramSize(snap.RecvQ)
					notice = "at least one more datagram has arrived, behind the next one"
					if tt.kind == "dropped" {
						shown += fmt.Sprintf(", %d dropped", snap.Dropped)
						notice = "the kernel dropped 1 datagram instead of queueing"
					}
					arrival = func() bool {
						return unix.Sendto(from.FD, []byte("x"), 0, sockaddrOf(snap.Local)) == nil
					}
				}
				if !strings.Contains(got, "  "+to.Label()+"  ") || !strings.Contains(got, shown) {
					t.Fatalf("%s: got\n%s\nwant a state line of %s showing %q", fill(tt.line), got, to.Label(), shown)
				}
				if strings.Contains(got, "\n· ") {
					t.Errorf("%s: got\n%s\nwant no notice: the report's state lines show what changed", fill(tt.line), got)
				}
				if tt.kind == "over" {
					return
				}
				if !arrival() {
					t.Fatalf("%s could not send to %s outside a report", from.Label(), to.Label())
				}
				arrived(t, to, func(now steps.Snapshot) bool {
					return now.AcceptQueue > snap.AcceptQueue || now.RecvQ > snap.RecvQ || now.QueueMemory > snap.QueueMemory || now.Dropped > snap.Dropped || now.State != snap.State
				})
				if got, _ := evalOut(s, out, ""); !strings.Contains(got, "· "+to.Label()+": "+notice) {
					t.Errorf("after more came, outside a report: got\n%s\nwant a notice %q", got, notice)
				}
			})
		}
	}
}

// TestNoticesInALessonNameNoCall: inside a lesson (LeaveOutNext) a notice
// of bytes that arrived keeps its fact, how many the kernel has queued,
// and leaves out the recv it names elsewhere: the lesson's page says
// what to call next.
func TestNoticesInALessonNameNoCall(t *testing.T) {
	for _, lesson := range []bool{false, true} {
		t.Run(fmt.Sprint("lesson ", lesson), func(t *testing.T) {
			s, out, client := outsidePair(t)
			s.LeaveOutNext(func() bool { return lesson })
			conn := mustFind(t, s, "conn")
			for i, data := range []string{"hello", "abc"} {
				writeTo(t, client, conn, data)
				queued := steps.Read(conn).RecvQ
				want := fmt.Sprintf("· conn (fd %d): %d bytes have arrived", conn.FD, queued)
				if i > 0 {
					want = fmt.Sprintf("· conn (fd %d): %d more bytes have arrived, %d in all wait", conn.FD, len(data), queued)
				}
				if !lesson {
					want += ": recv conn reads them"
				}
				if got, _ := evalOut(s, out, ""); strings.TrimSpace(got) != want {
					t.Errorf("%q sent to conn: got\n%s\nwant %q", data, got, want)
				}
			}
		})
	}
}
