package steps

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestConnectionEndings plays the ways a connection ends that a learner
// meets by sending or receiving at the wrong moment, and checks what send
// and recv say against what the kernel then does: each report's claims
// about the next calls are made, and must come true.
func TestConnectionEndings(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, l *Lab) // from a pair: server, client, conn
		step  []string                   // the step whose report is checked
		says  []string
		not   []string
		next  string
		then  func(t *testing.T, l *Lab) // the calls the report spoke of
	}{
		{
			name:  "send after the peer closed: its kernel resets",
			setup: func(t *testing.T, l *Lab) { run(t, l, "close", "client") },
			step:  []string{"send", "conn", "bye"},
			says:  []string{"But client had closed its socket", "reset (RST)", "CLOSED", "send still returned 3", "recv on conn (fd", "returns 0 bytes", "EPIPE"},
			not:   []string{"not acknowledged", "ECONNRESET"},
			next:  "close conn",
			then: func(t *testing.T, l *Lab) {
				wantRecv(t, l, "")
				refused(t, l, unix.EPIPE, "send", "conn", "again")
				wantRecv(t, l, "")
			},
		},
		{
			name: "send after the peer closed, with bytes still queued",
			setup: func(t *testing.T, l *Lab) {
				run(t, l, "send", "client", "hi")
				run(t, l, "close", "client")
			},
			step: []string{"send", "conn", "bye"},
			says: []string{"reset (RST)", "returns the 2 bytes still queued, then 0 bytes", "EPIPE"},
			next: "recv conn",
			then: func(t *testing.T, l *Lab) {
				wantRecv(t, l, "hi")
				wantRecv(t, l, "")
				refused(t, l, unix.EPIPE, "send", "conn", "again")
			},
		},
		{
			name: "recv after that reset",
			setup: func(t *testing.T, l *Lab) {
				run(t, l, "close", "client")
				run(t, l, "send", "conn", "bye")
			},
			step: []string{"recv", "conn"},
			says: []string{"= 0", "is over", "CLOSED", "reset it", "all that is left is to close it"},
			not:  []string{"closed its side", "waits for this side"},
			next: "close conn",
			then: func(t *testing.T, l *Lab) { refused(t, l, unix.EPIPE, "send", "conn", "again") },
		},
		{
			name: "recv once both sides have closed, without a reset",
			setup: func(t *testing.T, l *Lab) {
				run(t, l, "shutdown", "conn", "write")
				run(t, l, "close", "client")
			},
			step: []string{"recv", "conn"},
			says: []string{"= 0", "is over", "CLOSED", "all that is left is to close it"},
			not:  []string{"reset", "waits for this side"},
			next: "close conn",
			then: func(t *testing.T, l *Lab) { refused(t, l, unix.EPIPE, "send", "conn", "again") },
		},
		{
			name: "recv after this side shut down writing",
			setup: func(t *testing.T, l *Lab) {
				run(t, l, "shutdown", "conn", "write")
				run(t, l, "send", "client", "still listening?")
			},
			step: []string{"recv", "conn"},
			says: []string{"= 16"},
			next: "recv conn (until the peer closes too: 0 bytes)",
			then: func(t *testing.T, l *Lab) {
				refused(t, l, unix.EPIPE, "send", "conn", "Hello back")
				run(t, l, "close", "client")
				wantRecv(t, l, "")
			},
		},
		{
			name:  "recv after this side shut down reading",
			setup: func(t *testing.T, l *Lab) { run(t, l, "shutdown", "conn", "read") },
			step:  []string{"recv", "conn"},
			says:  []string{"= 0", "yet the peer has not closed", "SHUT_RD", "still ESTABLISHED", "bytes the peer sends still arrive"},
			not:   []string{"its kernel sent FIN", "is over"},
			next:  "close conn",
			then: func(t *testing.T, l *Lab) {
				run(t, l, "send", "client", "more")
				wantRecv(t, l, "more")
			},
		},
		{
			name:  "shutdown read alone: the peer can still send",
			setup: func(t *testing.T, l *Lab) {},
			step:  []string{"shutdown", "conn", "read"},
			says:  []string{"still accepted and can still be read", "ESTABLISHED"},
			not:   []string{"reset", "both directions"},
			next:  "close conn",
			then: func(t *testing.T, l *Lab) {
				run(t, l, "send", "client", "more")
				wantRecv(t, l, "more")
			},
		},
		{
			name:  "shutdown both: data from the peer resets",
			setup: func(t *testing.T, l *Lab) {},
			step:  []string{"shutdown", "conn", "both"},
			says:  []string{"If the peer sends more data, Linux answers it with a reset (RST)", "next call on conn (fd", "ECONNRESET"},
			next:  "close conn",
			then:  peerSendsAfterBothShut,
		},
		{
			name:  "shutdown read after write: both are shut",
			setup: func(t *testing.T, l *Lab) { run(t, l, "shutdown", "conn", "write") },
			step:  []string{"shutdown", "conn", "read"},
			says:  []string{"had shut down writing before, so both directions are now shut", "reset (RST)", "ECONNRESET"},
			not:   []string{"still accepted"},
			next:  "close conn",
			then:  peerSendsAfterBothShut,
		},
		{
			name:  "shutdown write after read: both are shut",
			setup: func(t *testing.T, l *Lab) { run(t, l, "shutdown", "conn", "read") },
			step:  []string{"shutdown", "conn", "write"},
			says:  []string{"had shut down reading before, so both directions are now shut", "reset (RST)", "ECONNRESET"},
			not:   []string{"can still receive", "can still send back"},
			next:  "close conn",
			then:  peerSendsAfterBothShut,
		},
		{
			name:  "shutdown write after the peer's FIN: the connection is over",
			setup: func(t *testing.T, l *Lab) { run(t, l, "shutdown", "client", "write") },
			step:  []string{"shutdown", "conn", "write"},
			says: []string{"whose own FIN had come first (conn (fd", "was CLOSE_WAIT)", "The connection is over, and conn (fd",
				"recv returns 0 bytes, and send fails with EPIPE", "client (fd", "TIME_WAIT for a minute, as the end that closed first"},
			not:  []string{"can still receive", "can still send back"},
			next: "close conn",
			then: func(t *testing.T, l *Lab) {
				wantRecv(t, l, "")
				refused(t, l, unix.EPIPE, "send", "conn", "again")
				wantHeldByTimeWait(t, sock(t, l, "client"))
			},
		},
		{
			name: "shutdown write after the peer's FIN, with bytes still queued",
			setup: func(t *testing.T, l *Lab) {
				run(t, l, "send", "client", "last")
				run(t, l, "shutdown", "client", "write")
			},
			step: []string{"shutdown", "conn", "both"},
			says: []string{"The connection is over", "recv returns the 4 bytes still queued, then 0 bytes"},
			next: "recv conn",
			then: func(t *testing.T, l *Lab) {
				wantRecv(t, l, "last")
				wantRecv(t, l, "")
			},
		},
		{
			name:  "recv after shutting down both",
			setup: func(t *testing.T, l *Lab) { run(t, l, "shutdown", "conn", "both") },
			step:  []string{"recv", "conn"},
			says:  []string{"= 0", "SHUT_RD", "shut down writing too", "reset (RST)", "ECONNRESET"},
			not:   []string{"still arrive"},
			next:  "close conn",
			then:  peerSendsAfterBothShut,
		},
		{
			name:  "send to a socket that shut down both directions",
			setup: func(t *testing.T, l *Lab) { run(t, l, "shutdown", "conn", "both") },
			step:  []string{"send", "client", "more"},
			says:  []string{"conn (fd", "had shut down both directions", "reset (RST)", "over for conn", "recv on client (fd", "EPIPE"},
			not:   []string{"closed its socket"},
			next:  "close client",
			then: func(t *testing.T, l *Lab) {
				refused(t, l, unix.ECONNRESET, "recv", "conn", "--timeout", "1s")
				if got := run(t, l, "recv", "client").Call; !strings.HasSuffix(got, "= 0") {
					t.Errorf("recv client: got %q, want 0 bytes", got)
				}
				refused(t, l, unix.EPIPE, "send", "client", "again")
			},
		},
		{
			name: "recv of bytes that came before a reset",
			setup: func(t *testing.T, l *Lab) {
				run(t, l, "send", "conn", "never read")
				run(t, l, "send", "client", "hi")
				run(t, l, "close", "client") // with unread bytes: RST, not FIN
			},
			step: []string{"recv", "conn"},
			says: []string{`= 2`, "has been reset since", "the next call fails with ECONNRESET"},
			next: "close conn",
			then: func(t *testing.T, l *Lab) {
				refused(t, l, unix.ECONNRESET, "recv", "conn", "--timeout", "1s")
				wantRecv(t, l, "")
				refused(t, l, unix.EPIPE, "send", "conn", "again")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, families[0])
			// Where each end's bytes go: the address of the other end.
			other := map[string]string{"client": "conn", "conn": "client"}
			address := map[string]string{}
			for name := range other {
				address[name] = Read(sock(t, l, name)).Local.String()
			}
			tt.setup(t, l)
			rep := run(t, l, tt.step[0], tt.step[1:]...)
			got := rep.Call + "\n" + rep.Says
			for _, want := range tt.says {
				if !strings.Contains(got, want) {
					t.Errorf("got %q, want it to contain %q", got, want)
				}
			}
			for _, bad := range tt.not {
				if strings.Contains(got, bad) {
					t.Errorf("got %q, want no %q in it", got, bad)
				}
			}
			if sender := tt.step[1]; strings.Contains(rep.Says, "reset (RST)") && tt.step[0] == "send" {
				if peer := address[other[sender]]; !strings.Contains(rep.Says, peer) {
					t.Errorf("got %q, want it to name the peer the bytes went to, %s", rep.Says, peer)
				}
				if n := len(rep.Packets); n != 2 || rep.Packets[1].What != "RST" || rep.Packets[1].To != sender {
					t.Errorf("got packets %+v, want the bytes and the RST that answered them", rep.Packets)
				}
			}
			if rep.Next != tt.next {
				t.Errorf("got next %q, want %q", rep.Next, tt.next)
			}
			tt.then(t, l)
		})
	}
}

// wantRecv receives on conn and wants exactly want ("" for the 0 bytes of
// a connection that has ended).
func wantRecv(t *testing.T, l *Lab, want string) {
	t.Helper()
	rep := run(t, l, "recv", "conn", "--timeout", "1s")
	if string(rep.Data) != want || rep.Stopped {
		t.Errorf("recv conn: got %q (%s), want %q", rep.Data, rep.Call, want)
	}
}

// TestClosedListenerPort closes a listener after its connection ended in
// each order, or while it is still open, and checks what close says of
// the port against a bind to the same address right after.
func TestClosedListenerPort(t *testing.T) {
	tests := []struct {
		name  string
		first []string // closed before the listener
		says  string
		free  bool
	}{
		{"the server's end closed first: TIME_WAIT on the port", []string{"conn", "client"}, "is not free yet: a new bind there would fail with EADDRINUSE", false},
		{"the client closed first", []string{"client", "conn"}, "is free for another socket", true},
		{"the connection still open", []string{"client"}, "is not free yet", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, families[0])
			address := Read(sock(t, l, "server")).Local
			for _, name := range tt.first {
				run(t, l, "close", name)
			}
			wantSays(t, "close server", run(t, l, "close", "server"), tt.says)
			run(t, l, "socket", "as", "again")
			rep, err := try(t, l, "bind", "again", address.Addr().String(), fmt.Sprint(address.Port()))
			if err != nil {
				t.Fatal(err)
			}
			if free := !rep.Failed(); free != tt.free {
				t.Errorf("bind to %s after the listener closed: got %q, want free %v, as close said", address, rep.Call, tt.free)
			} else if !free {
				checkFailure(t, rep, "bind", unix.EADDRINUSE)
				// close said `ports PORT` lists what holds the port.
				conns, err := Connections()
				held := slices.ContainsFunc(conns, func(c Connection) bool { return c.Local.Port() == address.Port() })
				if err != nil || !held {
					t.Errorf("got no connection on port %d in the kernel's table (%v), want what holds it", address.Port(), err)
				}
			}
		})
	}
}

// TestAbortiveClose closes with SO_LINGER on and 0 seconds, while the
// connection is accepted and while it still waits in the accept queue,
// and checks close's and accept's reports against what the kernel then
// keeps and what the other end's next call returns.
func TestAbortiveClose(t *testing.T) {
	t.Run("accepted", func(t *testing.T) {
		l := newLab(t)
		pair(t, l, families[0])
		client := Read(sock(t, l, "client"))
		run(t, l, "option", "client", "SO_LINGER", "on", "0")
		rep := run(t, l, "close", "client")
		wantSays(t, "close", rep, "aborted the connection", "reset (RST) instead of FIN", "not even TIME_WAIT", "ECONNRESET")
		if len(rep.Packets) != 1 || rep.Packets[0].What != "RST" {
			t.Errorf("got packets %+v, want one RST", rep.Packets)
		}
		if st, found := ConnectionState(client.Local, client.Remote); found {
			t.Errorf("after the abort the kernel still holds the client's end, %s", st)
		}
		refused(t, l, unix.ECONNRESET, "recv", "conn", "--timeout", "1s")
	})
	t.Run("still in the accept queue", func(t *testing.T) {
		l := newLab(t)
		port := listener(t, l, families[0], "server")
		run(t, l, "socket", "as", "client")
		run(t, l, "connect", "client", "127.0.0.1", port)
		run(t, l, "option", "client", "SO_LINGER", "on", "0")
		run(t, l, "close", "client")
		rep := run(t, l, "accept", "server", "as", "conn")
		wantSays(t, "accept", rep, "reset the connection while it waited", "CLOSED already", "ECONNRESET")
		if rep.Next != "recv conn (to see the reset)" {
			t.Errorf("got next %q, want recv conn to see the reset", rep.Next)
		}
		refused(t, l, unix.ECONNRESET, "recv", "conn", "--timeout", "1s")
	})
}

// TestResetReachesThePeer closes conn with bytes it never read, or with
// SO_LINGER on and 0 seconds, so that its kernel resets the connection,
// and checks what close says becomes of the other end against the
// kernel: the end the client's close left behind is gone without anyone
// seeing the reset, and an open client reads what is queued, then gets
// ECONNRESET, or, if conn's FIN had come first, 0 bytes and EPIPE.
func TestResetReachesThePeer(t *testing.T) {
	tests := []struct {
		name  string
		setup [][]string // from a pair: server, client, conn
		says  string     // QUEUED: the bytes queued at the client; FD: its fd
		then  func(t *testing.T, l *Lab, queued int)
	}{
		{
			name:  "the client had closed its socket",
			setup: [][]string{{"send", "client", "hi"}, {"close", "client"}},
			says:  "client had closed its socket already, so the reset only ends what the kernel still kept of the connection at its end: no program holds it, and no call sees the reset.",
		},
		{
			name:  "the client has nothing queued",
			setup: [][]string{{"send", "client", "unread"}},
			says:  "client (fd FD)'s next call fails with ECONNRESET.",
			then:  wantReset,
		},
		{
			name:  "the client has bytes queued",
			setup: [][]string{{"send", "conn", "data-to-client"}, {"send", "client", "unread"}},
			says:  "recv client returns the QUEUED bytes still queued first; then its next call fails with ECONNRESET.",
			then:  wantReset,
		},
		{
			name:  "aborted, the client has bytes queued",
			setup: [][]string{{"option", "conn", "SO_LINGER", "on", "0"}, {"send", "conn", "data-to-client"}},
			says:  "recv client returns the QUEUED bytes still queued first; then its next call fails with ECONNRESET.",
			then:  wantReset,
		},
		{
			name:  "the client had conn's FIN",
			setup: [][]string{{"send", "conn", "xy"}, {"shutdown", "conn", "write"}, {"send", "client", "unread"}},
			says:  "client (fd FD) had had conn's FIN before the reset, so recv client returns the QUEUED bytes still queued, then 0 bytes, and send client fails with EPIPE.",
			then: func(t *testing.T, l *Lab, queued int) {
				if rep := run(t, l, "recv", "client", "--timeout", "1s"); len(rep.Data) != queued {
					t.Errorf("recv client: got %q, want the %d bytes queued", rep.Data, queued)
				}
				if rep := run(t, l, "recv", "client", "--timeout", "1s"); len(rep.Data) != 0 || rep.Stopped {
					t.Errorf("recv client: got %q (%s), want 0 bytes", rep.Data, rep.Call)
				}
				refused(t, l, unix.EPIPE, "send", "client", "more")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, families[0])
			client := sock(t, l, "client")
			fd, end := client.FD, Read(client)
			for _, step := range tt.setup {
				run(t, l, step[0], step[1:]...)
			}
			var queued int
			if tt.then != nil {
				queued = Read(client).RecvQ
			} else if st, found := ConnectionState(end.Local, end.Remote); !found {
				t.Fatal("the kernel keeps nothing of the client's end: there is nothing to reset")
			} else {
				t.Logf("the client's end is %s", st)
			}
			rep := run(t, l, "close", "conn")
			wantSays(t, "close conn", rep, strings.NewReplacer("QUEUED", fmt.Sprint(queued), "FD", fmt.Sprint(fd)).Replace(tt.says))
			if tt.then != nil {
				tt.then(t, l, queued)
			} else if st, found := ConnectionState(end.Local, end.Remote); found {
				t.Errorf("after the reset the kernel still holds the client's end, %s", st)
			}
		})
	}
}

// wantReset wants the client's recv to return the bytes queued, if any,
// then fail with ECONNRESET.
func wantReset(t *testing.T, l *Lab, queued int) {
	t.Helper()
	if queued > 0 {
		if rep := run(t, l, "recv", "client", "--timeout", "1s"); len(rep.Data) != queued {
			t.Errorf("recv client: got %q, want the %d bytes queued", rep.Data, queued)
		}
	}
	refused(t, l, unix.ECONNRESET, "recv", "client", "--timeout", "1s")
}

// peerSendsAfterBothShut makes the calls the narration of a socket that
// has shut down both directions speaks of: the peer sends, Linux resets,
// and conn's next call fails with ECONNRESET, which it explains.
func peerSendsAfterBothShut(t *testing.T, l *Lab) {
	run(t, l, "send", "client", "more")
	rep := refused(t, l, unix.ECONNRESET, "recv", "conn", "--timeout", "1s")
	if want := "had shut down both directions"; !strings.Contains(rep.Failure.ForStep, want) {
		t.Errorf("recv conn: got %q, want it to say %q", rep.Failure.ForStep, want)
	}
}

// TestAfterAResetANewSocketIsNeeded takes a client whose connection was
// reset, which the kernel keeps marked as connected: send, shutdown and
// connect all fail, and each says that a new connection needs a new
// socket. A socket that never connected is told apart.
func TestAfterAResetANewSocketIsNeeded(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	port := portOf(t, l, "server")
	run(t, l, "send", "client", "unread")
	run(t, l, "close", "conn") // with unread bytes: RST
	refused(t, l, unix.ECONNRESET, "recv", "client")
	wantKernelState(t, "after the reset", sock(t, l, "client"), Closed)

	const newSocket = "a socket connects only once, so a new connection needs a new socket"
	rep := refused(t, l, unix.EPIPE, "send", "client", "more")
	if !strings.Contains(rep.Failure.Fix, newSocket) {
		t.Errorf("send: got fix %q, want %q", rep.Failure.Fix, newSocket)
	}
	rep = refused(t, l, unix.ENOTCONN, "shutdown", "client", "write")
	if !strings.Contains(rep.Failure.ForStep, "its connection is over") || !strings.Contains(rep.Failure.Fix, newSocket) {
		t.Errorf("shutdown: got %q, fix %q, want the connection over and %q", rep.Failure.ForStep, rep.Failure.Fix, newSocket)
	}
	rep = refused(t, l, unix.EISCONN, "connect", "client", "127.0.0.1", port)
	if want := "connection is over (it is CLOSED), yet the kernel still counts the socket as connected"; !strings.Contains(foldParagraphs(rep.Failure.ForStep), want) {
		t.Errorf("connect: got %q, want %q", rep.Failure.ForStep, want)
	}

	run(t, l, "socket", "as", "fresh")
	rep = refused(t, l, unix.ENOTCONN, "shutdown", "fresh", "write")
	if !strings.Contains(rep.Failure.ForStep, "it never connected") || rep.Failure.Fix == "" || strings.Contains(rep.Failure.Fix, newSocket) {
		t.Errorf("shutdown of a new socket: got %q, fix %q, want it never connected and the general fix", rep.Failure.ForStep, rep.Failure.Fix)
	}
}

// TestCloseDatagramSocket closes UDP sockets with and without a default
// peer and datagrams nobody read, and checks what close says against what
// the kernel reported just before: the default peer, the size of the
// first datagram waiting, and that nothing reaches the peer.
func TestCloseDatagramSocket(t *testing.T) {
	tests := []struct {
		name    string
		connect bool     // r has s as its default peer
		sent    []string // datagrams s sends r before the close
		says    string   // PEER: r's default peer
		first   string   // the first datagram waiting, in words, or ""
	}{
		{"bound", false, nil, "had no connection, so nothing was sent.", ""},
		{"connected", true, nil, "had a default peer, PEER, but UDP has no connection to end, so nothing was sent.", ""},
		{"datagrams waiting", true, []string{"hello", ""}, "had a default peer, PEER, but UDP has no connection to end", "5 bytes"},
		{"an empty datagram waiting", false, []string{"", "hello"}, "had no connection", "empty (0 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			for _, name := range []string{"r", "s"} {
				run(t, l, "socket", "udp", "as", name)
				run(t, l, "bind", name, "127.0.0.1", "0")
			}
			if tt.connect {
				run(t, l, "connect", "r", "127.0.0.1", portOf(t, l, "s"))
			}
			for _, text := range tt.sent {
				run(t, l, "sendto", "s", "127.0.0.1", portOf(t, l, "r"), text)
			}
			before := Read(sock(t, l, "r"))
			if before.Connected() != tt.connect || before.DatagramWaiting() != (tt.first != "") {
				t.Fatalf("the kernel gives r peer %s, a datagram waiting %v; the test expects %v, %q", ShowAddr(before.Remote), before.DatagramWaiting(), tt.connect, tt.first)
			}
			rep := run(t, l, "close", "r")
			wantSays(t, "close", rep, strings.ReplaceAll(tt.says, "PEER", ShowAddr(before.Remote)))
			thrown := "Datagrams that nobody read were thrown away with it: at least one, and the first was " + tt.first + "; the kernel tells the size of the first only"
			if got := strings.Contains(rep.Says, thrown); got != (tt.first != "") {
				t.Errorf("got %q, want %q in it: %v", rep.Says, thrown, tt.first != "")
			}
			if Read(sock(t, l, "s")).DatagramWaiting() {
				t.Errorf("after close r, s has a datagram waiting: close sent something")
			}
		})
	}
}

// TestRecvSuggestsSendOnlyToAPeerThatCanRead reads a connection to its end
// (CLOSE_WAIT) from two clients: one that closed its socket, to which a
// send would only bring back a reset, and one that only shut down
// writing and still reads. recv suggests close for the first and send
// for the second, and the kernel agrees: a send to the first resets the
// connection, one to the second arrives.
func TestRecvSuggestsSendOnlyToAPeerThatCanRead(t *testing.T) {
	for _, tc := range []struct {
		end, next string
		reset     bool
	}{
		{"close", "close conn", true},
		{"shutdown", `send conn "Hello back"`, false},
	} {
		t.Run(tc.end, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, families[0])
			run(t, l, "send", "client", "hi")
			if tc.end == "close" {
				run(t, l, "close", "client")
			} else {
				run(t, l, "shutdown", "client", "write")
			}
			rep := run(t, l, "recv", "conn")
			wantKernelState(t, "after the peer's FIN", sock(t, l, "conn"), CloseWait)
			if rep.Next != tc.next {
				t.Errorf("recv conn: got next %q, want %q", rep.Next, tc.next)
			}
			run(t, l, "send", "conn", "Hello back")
			if got := Read(sock(t, l, "conn")).State == Closed; got != tc.reset {
				t.Errorf("a send after it: the connection reset %v, want %v", got, tc.reset)
			}
		})
	}
}
