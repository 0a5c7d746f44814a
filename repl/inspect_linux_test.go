package repl

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"sockstep/steps"
)

// TestShowCountsDroppedDatagrams fills a UDP socket's receive buffer until
// the kernel drops a datagram, and wants show and the state line to give
// the kernel's own count of drops, as `ss -u -m` would (here through the
// socket's SO_MEMINFO, in the test straight from getsockopt).
func TestShowCountsDroppedDatagrams(t *testing.T) {
	s, out := fullSession(t)
	mustEval(t, s, "socket udp as r", "bind r 127.0.0.1 0", "socket udp as u")
	r := mustFind(t, s, "r")
	mustEval(t, s, fmt.Sprintf("connect u 127.0.0.1 %d", steps.Read(r).Local.Port()))
	drops := func() int {
		var info [unix.SK_MEMINFO_VARS]uint32
		size := uint32(unsafe.Sizeof(info))
		if _, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(r.FD), unix.SOL_SOCKET, unix.SO_MEMINFO,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0); errno != 0 {
			t.Skipf("SO_MEMINFO: %v", errno)
		}
		return int(info[unix.SK_MEMINFO_DROPS])
	}
	got, _ := evalOut(s, out, "show r")
	if strings.Contains(got, "dropped") {
		t.Fatalf("got\n%s\nwant no drops before anything was sent", got)
	}
	for i := 0; drops() == 0; i++ {
		if i == 20 {
			t.Fatal("20 datagrams of 60000 bytes and no drop")
		}
		mustEval(t, s, "send u --bytes 60000")
	}
	n := drops()
	got, _ = evalOut(s, out, "show r")
	if want := fmt.Sprintf("; %d dropped by the kernel instead of queued (SO_MEMINFO)", n); !strings.Contains(got, want) {
		t.Errorf("show r: got\n%s\nwant %q", got, want)
	}
	if !strings.Contains(got, "SO_MEMINFO, fcntl, poll") || strings.Contains(got, "TCP_INFO") {
		t.Errorf("show r: got\n%s\nwant a UDP socket's sources, without TCP_INFO", got)
	}
	got, _ = evalOut(s, out, "send u x")
	if want := fmt.Sprintf("r (fd %d)  next datagram 60000 bytes, %d dropped", r.FD, drops()); !strings.Contains(got, want) {
		t.Errorf("send u x: got\n%s\nwant the state line %q", got, want)
	}
}

// TestShowNamesAListenersSources shows a listener with a client waiting:
// the clients come from the kernel's connection table, and a listener is
// not asked for a peer or queued bytes, so its sources say so.
func TestShowNamesAListenersSources(t *testing.T) {
	s, out := pairSession(t)
	server := mustFind(t, s, "server")
	mustEval(t, s, "socket as waiting", fmt.Sprintf("connect waiting 127.0.0.1 %d", steps.Read(server).Local.Port()))
	got, _ := evalOut(s, out, "show server")
	if !strings.Contains(got, ", from 127.0.0.1:") {
		t.Fatalf("show server: got\n%s\nwant the waiting client", got)
	}
	if !strings.Contains(got, "TCP_INFO, /proc/net/tcp and tcp6, fcntl, poll") || strings.Contains(got, "getpeername") {
		t.Errorf("show server: got\n%s\nwant a listener's sources: the connection table, no getpeername", got)
	}
	got, _ = evalOut(s, out, "show conn")
	if !strings.Contains(got, "getpeername, TCP_INFO, SIOCINQ/SIOCOUTQ, sock_diag, fcntl, poll") {
		t.Errorf("show conn: got\n%s\nwant a connection's sources", got)
	}
}

// TestShowAfterTheConnectionEnds shows a client whose connection was
// reset, before and after recv reads the reset, and one whose connect was
// refused, and checks each line that changed against the kernel: the port
// getsockname still reports has gone back (a new socket binds it), an
// error is pending (POLLERR), and once it is read recv returns 0 bytes at
// once and send fails with EPIPE.
func TestShowAfterTheConnectionEnds(t *testing.T) {
	s, out := pairSession(t)
	client := mustFind(t, s, "client")
	port := int(steps.Read(client).Local.Port())
	mustEval(t, s, "option conn SO_LINGER on 0", "close conn")
	show := func(name string, want ...string) {
		t.Helper()
		got, _ := evalOut(s, out, "show "+name)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("show %s: got\n%s\nwant %q", name, got, w)
			}
		}
	}
	sockName := func(fd int) string {
		t.Helper()
		sa, err := unix.Getsockname(fd)
		if err != nil {
			t.Fatal(err)
		}
		in := sa.(*unix.SockaddrInet4)
		return fmt.Sprintf("%d.%d.%d.%d:%d", in.Addr[0], in.Addr[1], in.Addr[2], in.Addr[3], in.Port)
	}
	show("client", "(getsockname still says "+sockName(client.FD)+")",
		"no call waits, and an error is pending (poll's POLLERR)", "sock_diag")
	wantReleased(t, s, out, "client", port)
	fds := []unix.PollFd{{Fd: int32(client.FD)}}
	if _, err := unix.Poll(fds, 0); err != nil || fds[0].Revents&unix.POLLERR == 0 {
		t.Errorf("poll: revents %#x, %v; want POLLERR", fds[0].Revents, err)
	}

	if _, err := evalOut(s, out, "recv client"); err == nil {
		t.Fatal("recv client after the reset: no error")
	}
	show("client", "the connection is over: recv returns 0 bytes at once, send fails with EPIPE")
	if n, _, err := unix.Recvfrom(client.FD, make([]byte, 8), unix.MSG_DONTWAIT); n != 0 || err != nil {
		t.Errorf("recv: %d bytes, %v; want 0 bytes at once", n, err)
	}
	if _, err := unix.SendmsgN(client.FD, []byte("x"), nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL); err != unix.EPIPE {
		t.Errorf("send: %v; want EPIPE", err)
	}

	nobody := freePort(t)
	mustEval(t, s, "socket as refused")
	evalOut(s, out, fmt.Sprintf("connect refused 127.0.0.1 %d", nobody))
	refused := mustFind(t, s, "refused")
	sa, err := unix.Getsockname(refused.FD)
	if err != nil {
		t.Fatal(err)
	}
	gone := sa.(*unix.SockaddrInet4).Port
	show("refused", "(getsockname still says "+sockName(refused.FD)+")",
		"not connected: accept, recv and send would fail at once")
	wantReleased(t, s, out, "refused", gone)
	show("server", "local   127.0.0.1:") // a listener keeps its port
}

// TestShowBytesNotSent shows a client whose peer, with a receive buffer of
// a few kilobytes, does not read: show splits the send queue into what is
// in flight and what TCP has not sent, with the kernel's count.
func TestShowBytesNotSent(t *testing.T) {
	s, out := fullSession(t)
	port := freePort(t)
	mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
		"option server SO_RCVBUF 1000", "socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port),
		"accept server as conn", "send client --bytes 60000 --timeout 1s")
	client := mustFind(t, s, "client")
	info, err := unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil || info.Notsent_bytes == 0 {
		t.Fatalf("TCP_INFO: %d bytes not sent, %v; want bytes waiting", info.Notsent_bytes, err)
	}
	got, _ := evalOut(s, out, "show client")
	if want := fmt.Sprintf("of the send-q, %d bytes not yet sent (TCP_INFO): the bytes in flight fill the peer's receive window;", info.Notsent_bytes); !strings.Contains(got, want) {
		t.Errorf("show client: got\n%s\nwant %q", got, want)
	}
	if got, _ = evalOut(s, out, "show conn"); strings.Contains(got, "not yet sent") {
		t.Errorf("show conn: got\n%s\nwant nothing not sent: conn sent nothing", got)
	}
	// The peer closes without reading: its reset throws the client's
	// queue away, though TCP_INFO still counts the bytes.
	mustEval(t, s, "close conn")
	if got, _ = evalOut(s, out, "show client"); !strings.Contains(got, "CLOSED") || strings.Contains(got, "not yet sent") {
		t.Errorf("show client after the reset: got\n%s\nwant CLOSED, and nothing said to wait", got)
	}
}

// TestShowWhatTheNextCallDoes puts sockets where show's "blocks?" line and
// the READY column of sockets have something other than "would wait" to
// say, and holds what they say against the calls themselves, each made
// with MSG_DONTWAIT, so that a call that would wait fails with EAGAIN
// instead of hanging the test.
func TestShowWhatTheNextCallDoes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, s *Session) // leaves the socket to show, named client
		blocks  string
		ready   string
		recvErr error // what recv returns, nil for 0 bytes
		sendErr error // what send returns after that recv, if it fails
	}{
		{
			name: "reset after the peer's FIN",
			setup: func(t *testing.T, s *Session) {
				mustEval(t, s, "close conn", "send client x") // the peer answers with RST
			},
			blocks: "no call waits, and an error is pending (poll's POLLERR): recv returns the bytes still queued, then 0 if the peer's FIN had come, else the error",
			ready:  "error", recvErr: nil, sendErr: unix.EPIPE,
		},
		{
			name: "reset with no FIN",
			setup: func(t *testing.T, s *Session) {
				mustEval(t, s, "option conn SO_LINGER on 0", "close conn")
			},
			blocks: "no call waits, and an error is pending (poll's POLLERR)",
			ready:  "error", recvErr: unix.ECONNRESET, sendErr: unix.EPIPE,
		},
		{
			name: "over, the reset reported",
			setup: func(t *testing.T, s *Session) {
				mustEval(t, s, "option conn SO_LINGER on 0", "close conn")
				s.Eval(context.Background(), "recv client") // ECONNRESET, which takes the pending error
			},
			blocks: "the connection is over: recv returns 0 bytes at once, send fails with EPIPE",
			ready:  "recv send", recvErr: nil, sendErr: unix.EPIPE,
		},
		{
			name: "UDP refused",
			setup: func(t *testing.T, s *Session) {
				mustEval(t, s, "socket udp as client", fmt.Sprintf("connect client 127.0.0.1 %d", freePort(t)), "send client x")
			},
			blocks: "an error is pending (poll's POLLERR): the next recv or send fails with it at once",
			ready:  "error", recvErr: unix.ECONNREFUSED,
		},
		{
			name: "non-blocking",
			setup: func(t *testing.T, s *Session) {
				mustEval(t, s, "option client O_NONBLOCK on")
			},
			blocks: "recv: would fail with EAGAIN send: no",
			ready:  "send", recvErr: unix.EAGAIN,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s *Session
			var out *strings.Builder
			if tc.name == "UDP refused" {
				s, out = fullSession(t)
			} else {
				s, out = pairSession(t)
			}
			tc.setup(t, s)
			got, _ := evalOut(s, out, "show client")
			if !strings.Contains(strings.Join(strings.Fields(got), " "), tc.blocks) {
				t.Errorf("show client: got\n%s\nwant %q", got, tc.blocks)
			}
			table, _ := evalOut(s, out, "sockets")
			row := ""
			for line := range strings.Lines(table) {
				if strings.HasPrefix(strings.TrimSpace(line), "client (fd") {
					row = strings.TrimSpace(line)
				}
			}
			if !strings.HasSuffix(row, "  "+tc.ready) {
				t.Errorf("sockets: got row %q, want READY %q", row, tc.ready)
			}
			if explained := strings.Contains(table, "READY error: an error is pending"); explained != (tc.ready == "error") {
				t.Errorf("sockets: got\n%s\nwant READY error explained: %v", table, !explained)
			}

			client := mustFind(t, s, "client")
			n, _, err := unix.Recvfrom(client.FD, make([]byte, 8), unix.MSG_DONTWAIT)
			if !errors.Is(err, tc.recvErr) || (err == nil && n != 0) {
				t.Errorf("recv: %d bytes, %v; want 0 bytes or %v", n, err, tc.recvErr)
			}
			if tc.sendErr != nil {
				if _, err := unix.SendmsgN(client.FD, []byte("x"), nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL); !errors.Is(err, tc.sendErr) {
					t.Errorf("send: %v; want %v", err, tc.sendErr)
				}
			}
		})
	}
}

// TestShowAnAcceptedSocketAfterAReset resets an accepted connection while
// its listener lives: the port the connection let go of is the listener's
// still, and show must not call it free. Once the listener is closed too,
// it is. Each time a bind of the port's own checks what show says.
func TestShowAnAcceptedSocketAfterAReset(t *testing.T) {
	s, out := pairSession(t)
	server := mustFind(t, s, "server")
	port := int(steps.Read(server).Local.Port())
	mustEval(t, s, "shutdown conn both", "send client more") // conn's kernel answers with RST
	if want := fmt.Sprintf("the socket let go of port %d when it became CLOSED, but the port is not free", port); !strings.Contains(wantReleased(t, s, out, "conn", port), want) {
		t.Errorf("show conn, the listener open: want %q", want)
	}
	mustEval(t, s, "close server")
	wantReleased(t, s, out, "conn", port)
}

// wantReleased shows a CLOSED socket whose port went back, and holds what
// show says of it against a bind of the port's own: "went back to the
// kernel" if it is free, "not free" if something holds it, such as the
// listener of an accepted socket, or any other connection from that port
// (the tests of the other packages run beside these). It returns what
// show printed.
func wantReleased(t *testing.T, s *Session, out *strings.Builder, name string, port int) string {
	t.Helper()
	got, _ := evalOut(s, out, "show "+name)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	free := fmt.Sprintf("none: port %d went back to the kernel", port)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		free = fmt.Sprintf("the socket let go of port %d when it became CLOSED, but the port is not free", port)
	}
	if !strings.Contains(got, free) {
		t.Errorf("show %s: got\n%s\nwant %q, as a bind of port %d finds", name, got, free, port)
	}
	return got
}

// TestShowSendWithAFillingBuffer fills the send buffer of a connection
// whose peer does not read, in steps of the kernel's own telling: first
// until poll calls it not writable, then until a send fails with EAGAIN.
// At each step what show and the READY column say of send is held against
// a send of a few bytes made just after (MSG_DONTWAIT): the kernel takes
// such a send while any room is left, though poll waits for a third of the
// buffer to be free.
func TestShowSendWithAFillingBuffer(t *testing.T) {
	for _, f := range loopbacks {
		t.Run(f.name, func(t *testing.T) {
			s, out := fullSession(t)
			port := freePort(t)
			mustEval(t, s, "socket "+f.name+" as server", fmt.Sprintf("bind server %s %d", f.host, port), "listen server",
				"socket "+f.name+" as client", fmt.Sprintf("connect client %s %d", f.host, port), "accept server as conn")
			conn := mustFind(t, s, "conn")
			chunk := make([]byte, 64<<10)
			for _, stage := range []struct {
				name string
				done func() bool // the buffer is filled enough
				poll bool        // what poll says then of POLLOUT
			}{
				{"poll says not writable", func() bool { return !pollOut(t, conn.FD) }, false},
				{"send fails", func() bool { return false }, false},
			} {
				for !stage.done() {
					if _, err := unix.SendmsgN(conn.FD, chunk, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL); errors.Is(err, unix.EAGAIN) {
						break
					} else if err != nil {
						t.Fatal(err)
					}
				}
				if got := pollOut(t, conn.FD); got != stage.poll {
					t.Fatalf("%s: poll says writable: %v, want %v", stage.name, got, stage.poll)
				}
				shown, _ := evalOut(s, out, "show conn")
				table, _ := evalOut(s, out, "sockets")
				_, err := unix.SendmsgN(conn.FD, []byte("hello"), nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
				if err != nil && !errors.Is(err, unix.EAGAIN) {
					t.Fatal(err)
				}
				taken := err == nil
				want := "send: would wait: the send buffer is full"
				if taken {
					want = "send: no, though poll and select call it not writable until a third of the send buffer is free"
				}
				if !strings.Contains(shown, "SO_MEMINFO") {
					t.Errorf("%s: show conn got\n%s\nwant SO_MEMINFO among what it read", stage.name, shown)
				}
				if !strings.Contains(strings.Join(strings.Fields(shown), " "), want) {
					t.Errorf("%s: a 5-byte send taken: %v; show conn got\n%s\nwant %q", stage.name, taken, shown, want)
				}
				row := ""
				for line := range strings.Lines(table) {
					if strings.HasPrefix(strings.TrimSpace(line), "conn (fd") {
						row = strings.TrimSpace(line)
					}
				}
				if ready := strings.HasSuffix(row, " send"); ready != taken {
					t.Errorf("%s: a 5-byte send taken: %v; sockets got row %q", stage.name, taken, row)
				}
			}
		})
	}
}

// pollOut says whether poll calls the socket writable now.
func pollOut(t *testing.T, fd int) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(fds, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0 && fds[0].Revents&unix.POLLOUT != 0
}

// synSentClient makes, in s, a listener whose accept queue is full (a
// backlog of 0, with first connected) and client, non-blocking, whose
// connect to it has begun: the listener's kernel ignores its SYN, so it
// stays in SYN_SENT, its SYN sent again and again.
func synSentClient(t *testing.T, s *Session) {
	t.Helper()
	port := freePort(t)
	mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server 0",
		"socket as first", fmt.Sprintf("connect first 127.0.0.1 %d", port),
		"socket as client", "option client O_NONBLOCK on")
	s.Eval(context.Background(), fmt.Sprintf("connect client 127.0.0.1 %d", port)) // EINPROGRESS
}

// TestShowInSynSent shows a client whose handshake cannot finish: its
// listener's accept queue is full, so the listener's kernel ignores the
// SYN and the client stays in SYN_SENT. What show says of recv, send and
// accept, blocking and not, is held against the calls themselves: made
// with MSG_DONTWAIT, then blocking with a short SO_RCVTIMEO and
// SO_SNDTIMEO, where a call that waits for the handshake fails with
// EAGAIN only once the timeout has passed.
func TestShowInSynSent(t *testing.T) {
	for _, nonBlocking := range []bool{true, false} {
		t.Run(fmt.Sprintf("non-blocking %v", nonBlocking), func(t *testing.T) {
			s, out := fullSession(t)
			synSentClient(t, s)
			if !nonBlocking {
				mustEval(t, s, "option client O_NONBLOCK off")
			}
			client := mustFind(t, s, "client")
			if state := steps.Read(client).State; state != steps.SynSent {
				t.Skipf("the client is %s, not SYN_SENT", state)
			}
			got, _ := evalOut(s, out, "show client")
			said := strings.Join(strings.Fields(got), " ")

			// What the kernel does.
			if _, _, err := unix.Recvfrom(client.FD, make([]byte, 8), unix.MSG_DONTWAIT); err != unix.EAGAIN {
				t.Fatalf("recv in SYN_SENT, MSG_DONTWAIT: %v, want EAGAIN", err)
			}
			if _, err := unix.SendmsgN(client.FD, []byte("x"), nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL); err != unix.EAGAIN {
				t.Fatalf("send in SYN_SENT, MSG_DONTWAIT: %v, want EAGAIN", err)
			}
			wait := 50 * time.Millisecond
			tv := unix.NsecToTimeval(wait.Nanoseconds())
			for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
				if err := unix.SetsockoptTimeval(client.FD, unix.SOL_SOCKET, opt, &tv); err != nil {
					t.Fatal(err)
				}
			}
			blocking := map[string]func() error{
				"recv": func() error { _, _, err := unix.Recvfrom(client.FD, make([]byte, 8), 0); return err },
				"send": func() error { _, err := unix.SendmsgN(client.FD, []byte("x"), nil, nil, unix.MSG_NOSIGNAL); return err },
			}
			if !nonBlocking {
				for call, f := range blocking {
					start := time.Now()
					// A call that waits with a timeout is not restarted after
					// a signal (signal(7)): Go's preemption signal can end it
					// early with EINTR, and it is made again.
					err := f()
					for tries := 0; err == unix.EINTR && tries < 100; tries++ {
						err = f()
					}
					if err != unix.EAGAIN || time.Since(start) < wait {
						t.Fatalf("blocking %s in SYN_SENT: %v after %v, want EAGAIN after SO_RCVTIMEO/SO_SNDTIMEO's %v", call, err, time.Since(start), wait)
					}
				}
			}
			start := time.Now()
			if _, _, err := unix.Accept(client.FD); err != unix.EINVAL || time.Since(start) >= wait {
				t.Fatalf("accept in SYN_SENT: %v after %v, want EINVAL at once", err, time.Since(start))
			}

			want := "recv and send would wait until it is; accept fails with EINVAL at once"
			if nonBlocking {
				want = "recv and send would fail with EAGAIN; accept fails with EINVAL at once"
			}
			if !strings.Contains(said, "the handshake is not finished: "+want) || strings.Contains(said, "would fail at once") {
				t.Errorf("show client in SYN_SENT: got\n%s\nwant %q", got, want)
			}
		})
	}
}

// TestSocketsNamesTheDestinationOfAHandshake: a socket in SYN_SENT has a
// destination, which the kernel's table lists though getpeername refuses
// it until the handshake is done; show's remote and the REMOTE column of
// sockets must give it.
func TestSocketsNamesTheDestinationOfAHandshake(t *testing.T) {
	for _, f := range loopbacks {
		t.Run(f.name, func(t *testing.T) {
			s, out := fullSession(t)
			port := freePort(t)
			// The accept queue is full, so the kernel drops client2's SYN.
			mustEval(t, s, "socket "+f.name+" as server", fmt.Sprintf("bind server %s %d", f.host, port), "listen server 0",
				"socket "+f.name+" as client", fmt.Sprintf("connect client %s %d", f.host, port),
				"socket "+f.name+" as client2", "option client2 O_NONBLOCK on")
			evalOut(s, out, fmt.Sprintf("connect client2 %s %d", f.host, port))
			client2 := mustFind(t, s, "client2")
			snap := steps.Read(client2)
			var remote string
			conns, err := steps.Connections()
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range conns {
				if c.State == steps.SynSent && c.Local == snap.Local {
					remote = c.Remote.String()
				}
			}
			if snap.State != steps.SynSent || remote == "" {
				t.Fatalf("client2 is %s, and the kernel's table has no SYN_SENT line from %s", snap.State, snap.Local)
			}
			if shown, _ := evalOut(s, out, "show client2"); !regexp.MustCompile(`(?m)^\s*remote\s+` + regexp.QuoteMeta(remote) + `$`).MatchString(shown) {
				t.Errorf("show client2 in SYN_SENT: got\n%s\nwant remote %s, as sockets gives it", shown, remote)
			}
			got, _ := evalOut(s, out, "sockets")
			for _, line := range strings.Split(got, "\n") {
				if f := strings.Fields(line); len(f) > 6 && f[0] == "client2" {
					if f[5] != remote || f[6] != "SYN_SENT" {
						t.Errorf("got row %q, want REMOTE %s in SYN_SENT", line, remote)
					}
					return
				}
			}
			t.Errorf("no row of client2 in\n%s", got)
		})
	}
}

// loopbacks are the two families, by the word socket takes, with their
// loopback address.
var loopbacks = []struct{ name, host string }{{"ipv4", "127.0.0.1"}, {"ipv6", "::1"}}

// TestShowSaysWhetherIPv4Reaches: show of an IPv6 listener on :: says
// whether IPv4 clients reach it, as an IPv4 connect to its port finds
// out: they do unless IPV6_V6ONLY is on.
func TestShowSaysWhetherIPv4Reaches(t *testing.T) {
	for _, v6only := range []string{"on", "off"} {
		t.Run(v6only, func(t *testing.T) {
			s, out := fullSession(t)
			mustEval(t, s, "socket tcp ipv6 as server", "option server IPV6_V6ONLY "+v6only, "bind server :: 0", "listen server")
			port := steps.Read(mustFind(t, s, "server")).Local.Port()
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			refused := unix.Connect(fd, &unix.SockaddrInet4{Port: int(port), Addr: [4]byte{127, 0, 0, 1}})
			if refused != nil && !errors.Is(refused, unix.ECONNREFUSED) {
				t.Fatal(refused)
			}
			want := ", IPv4 too"
			if refused != nil {
				want = ", IPv6 only"
			}
			got, err := evalOut(s, out, "show server")
			if err != nil {
				t.Fatal(err)
			}
			if line := regexp.MustCompile(`local .*`).FindString(got); !strings.Contains(line, "(every interface"+want) {
				t.Errorf("an IPv4 connect gave %v; got %q, want it to say (every interface%s", refused, line, want)
			}
		})
	}
}

// TestShowSaysSendFailsOnceShut: after shutdown write, poll calls a
// socket writable, yet send fails with EPIPE at once; show must say so,
// and sockets must explain its READY send, where an empty send on the
// socket (which sends nothing) fails so, and neither where it does not.
func TestShowSaysSendFailsOnceShut(t *testing.T) {
	for _, tt := range []struct {
		name  string
		lines []string
		sock  string
	}{
		{"established", nil, "client"},
		{"this side shut down writing", []string{"shutdown client write"}, "client"},
		{"the peer's FIN came, then this side shut down writing", []string{"shutdown client write", "shutdown conn write"}, "conn"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, out := pairSession(t)
			mustEval(t, s, tt.lines...)
			_, err := unix.SendmsgN(mustFind(t, s, tt.sock).FD, nil, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
			if err != nil && !errors.Is(err, unix.EPIPE) {
				t.Fatal(err)
			}
			epipe := errors.Is(err, unix.EPIPE)
			show, _ := evalOut(s, out, "show "+tt.sock)
			if said := strings.Contains(show, "send: fails with EPIPE") || strings.Contains(show, "send fails with EPIPE"); said != epipe {
				t.Errorf("an empty send gave %v; show says EPIPE: %v, want %v\n%s", err, said, epipe, show)
			}
			table, _ := evalOut(s, out, "sockets")
			if said := strings.Contains(table, "failing with EPIPE"); said != epipe {
				t.Errorf("an empty send gave %v; sockets explains EPIPE: %v, want %v\n%s", err, said, epipe, table)
			}
		})
	}
}

// TestShowUDPSendQueue: on UDP, SIOCOUTQ gives the memory that datagrams
// not yet sent by the network device hold (sk_wmem_alloc), not bytes of
// data waiting; on loopback each datagram is handed on within sendto.
// show gives the kernel's number after a sendto, and says what it counts.
func TestShowUDPSendQueue(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			var out strings.Builder
			s := New(&out, Options{Width: 200})
			t.Cleanup(s.Close)
			family := "ipv4"
			if host == "::1" {
				family = "ipv6"
			}
			mustEval(t, s, "socket udp "+family+" as r", "bind r "+host+" 0", "socket udp "+family+" as u")
			port := steps.Read(mustFind(t, s, "r")).Local.Port()
			mustEval(t, s, fmt.Sprintf("sendto u %s %d %q", host, port, strings.Repeat("x", 1000)))
			outq, err := unix.IoctlGetInt(mustFind(t, s, "u").FD, unix.SIOCOUTQ)
			if err != nil {
				t.Fatal(err)
			}
			got, err := evalOut(s, &out, "show u")
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("send-q %s of memory held by datagrams the network device has not sent yet (SIOCOUTQ)", steps.Counted(outq, "byte"))
			if !strings.Contains(got, want) {
				t.Errorf("show u after sendto of 1000 bytes (SIOCOUTQ %d): got\n%s\nwant %q", outq, got, want)
			}
		})
	}
}
