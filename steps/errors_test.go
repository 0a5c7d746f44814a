package steps

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUDP checks that the engine does not assume streams: a UDP socket is
// made and bound in both families, refuses to send without a peer, and
// carries a datagram to another UDP socket once connected.
func TestUDP(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			rep := run(t, l, "socket", "udp", f.name, "as", "u")
			u := sock(t, l, "u")
			if want := fmt.Sprintf("socket(%s, SOCK_DGRAM, 0) = %d", u.Family.Constant(), u.FD); rep.Call != want {
				t.Errorf("socket: got call %q, want %q", rep.Call, want)
			}
			if u.Kind != Datagram || u.Proto() != "udp"+f.name[len(f.name)-1:] {
				t.Errorf("socket: got %s %s, want a UDP socket", u.Kind, u.Proto())
			}
			var typ int
			typ, err := unix.GetsockoptInt(u.FD, unix.SOL_SOCKET, unix.SO_TYPE)
			if err != nil || typ != unix.SOCK_DGRAM {
				t.Errorf("socket: got SO_TYPE %d (%v), want SOCK_DGRAM", typ, err)
			}

			// The kernel binds an unbound socket before it looks for the
			// peer, so a refused send leaves it with a port: the report
			// must say which, and nothing else may change.
			run(t, l, "socket", "udp", f.name, "as", "lonely")
			lonely := sock(t, l, "lonely")
			before := viewLab(l)
			rep = refused(t, l, unix.EDESTADDRREQ, "send", "lonely", "hello")
			now := Read(lonely)
			if now.Bound() {
				if !strings.Contains(rep.Failure.ForStep, now.Local.String()) {
					t.Errorf("send without a peer: got %q, want it to say the kernel gave %s", rep.Failure.ForStep, now.Local)
				}
				wantState(t, "send without a peer", rep, lonely, "bound, "+now.Local.String())
				refused(t, l, unix.EINVAL, "bind", "lonely", f.loopback, "0")
			}
			checkUnchangedBut(t, "send without a peer", before, l, func(v *kernelView) { v.Local = netip.AddrPort{} })

			rep = run(t, l, "bind", "u", f.loopback, "0")
			snap := Read(u)
			if !snap.Bound() || snap.StateWord(Datagram) != "bound" {
				t.Errorf("bind: got %s %s, want a bound socket", snap.StateWord(Datagram), ShowAddr(snap.Local))
			}
			wantSays(t, "bind", rep, fmt.Sprint(snap.Local.Port()), snap.Local.String())
			wantState(t, "bind", rep, u, "bound, "+snap.Local.String())
			if want := "recvfrom u "; !strings.HasPrefix(rep.Next, want) {
				t.Errorf("bind: got next %q, want it to begin %q", rep.Next, want)
			}

			run(t, l, "socket", "udp", f.name, "as", "peer")
			run(t, l, "bind", "peer", f.loopback, "0")
			run(t, l, "connect", "peer", f.loopback, portOf(t, l, "u"))
			rep = run(t, l, "send", "peer", "ping")
			if !strings.HasSuffix(rep.Call, "= 4") {
				t.Errorf("send: got call %q, want 4 bytes sent", rep.Call)
			}
			wantSays(t, "send", rep, "4 bytes as one datagram to "+snap.Local.String())
			rep = run(t, l, "recv", "u")
			if !bytes.Equal(rep.Data, []byte("ping")) {
				t.Errorf("recv: got %q, want %q", rep.Data, "ping")
			}
			wantSays(t, "recv", rep, "one datagram of 4 bytes from "+Read(sock(t, l, "peer")).Local.String())

			// connect binds an unbound UDP socket as it sets the peer, and
			// the report says where replies come back; a bound one keeps
			// its address, and nothing is said of it.
			run(t, l, "socket", "udp", f.name, "as", "fresh")
			rep = run(t, l, "connect", "fresh", f.loopback, portOf(t, l, "u"))
			if local := Read(sock(t, l, "fresh")).Local; !local.IsValid() || local.Port() == 0 {
				t.Errorf("connect on an unbound UDP socket: got local %s, want an address the kernel chose", ShowAddr(local))
			} else {
				wantSays(t, "connect on an unbound UDP socket", rep, "so the kernel gave it one as it connected, "+local.String())
			}
			if rep = run(t, l, "connect", "peer", f.loopback, portOf(t, l, "u")); strings.Contains(rep.Says, "had no address") {
				t.Errorf("connect on a bound UDP socket: got %q, want no address said to be given", rep.Says)
			}
		})
	}
}

// TestRefused makes the kernel refuse each call a learner commonly gets
// wrong, on real sockets, and checks that the report names the errno and
// explains it, and that the failed call changed nothing.
func TestRefused(t *testing.T) {
	v4 := families[0]
	tests := []struct {
		name  string
		setup func(t *testing.T, l *Lab) []string // returns the step and its arguments
		errno unix.Errno
		// ignore clears what the kernel itself leaves behind after this
		// failure, nil when the failure changes nothing at all.
		ignore func(*kernelView)
		// then checks that the socket is still usable afterwards.
		then func(t *testing.T, l *Lab)
	}{
		{"EADDRINUSE second bind to a port", func(t *testing.T, l *Lab) []string {
			port := listener(t, l, v4, "server")
			run(t, l, "socket", "as", "second")
			return []string{"bind", "second", v4.loopback, port}
		}, unix.EADDRINUSE, nil, nil},
		{"EADDRINUSE second bind to a port ipv6", func(t *testing.T, l *Lab) []string {
			port := listener(t, l, families[1], "server")
			run(t, l, "socket", "ipv6", "as", "second")
			return []string{"bind", "second", "::1", port}
		}, unix.EADDRINUSE, nil, nil},
		{"EINVAL accept on a new socket", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "as", "s")
			return []string{"accept", "s", "--timeout", "1s"}
		}, unix.EINVAL, nil, nil},
		{"EINVAL accept on a bound socket", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "as", "s")
			run(t, l, "bind", "s", v4.loopback, "0")
			return []string{"accept", "s", "--timeout", "1s"}
		}, unix.EINVAL, nil, nil},
		{"EINVAL bind twice", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "as", "s")
			run(t, l, "bind", "s", v4.loopback, "0")
			return []string{"bind", "s", v4.loopback, "0"}
		}, unix.EINVAL, nil, nil},
		{"ECONNREFUSED connect to a closed port", func(t *testing.T, l *Lab) []string {
			return []string{"connect", "client", v4.loopback, closedPort(t, l, v4)}
		}, unix.ECONNREFUSED, connectResidue, connectAgain(v4)},
		{"ECONNREFUSED connect to a closed port ipv6", func(t *testing.T, l *Lab) []string {
			return []string{"connect", "client", "::1", closedPort(t, l, families[1])}
		}, unix.ECONNREFUSED, connectResidue, connectAgain(families[1])},
		{"EPIPE send on a never-connected socket", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "as", "s")
			return []string{"send", "s", "hello"}
		}, unix.EPIPE, nil, nil},
		{"EPIPE send on a listener", func(t *testing.T, l *Lab) []string {
			listener(t, l, v4, "server")
			return []string{"send", "server", "hello"}
		}, unix.EPIPE, nil, nil},
		{"ECONNRESET send just after the peer reset", func(t *testing.T, l *Lab) []string {
			resetPair(t, l)
			return []string{"send", "conn", "anyone there?"}
		}, unix.ECONNRESET, reported, nil},
		{"EPIPE send after the peer reset", func(t *testing.T, l *Lab) []string {
			resetPair(t, l)
			refused(t, l, unix.ECONNRESET, "send", "conn", "anyone there?")
			return []string{"send", "conn", "anyone there?"}
		}, unix.EPIPE, nil, nil},
		{"ECONNRESET recv after the peer reset", func(t *testing.T, l *Lab) []string {
			resetPair(t, l)
			return []string{"recv", "conn", "--timeout", "1s"}
		}, unix.ECONNRESET, reported, nil},
		{"ENOTCONN recv on a new socket", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "as", "s")
			return []string{"recv", "s", "--timeout", "1s"}
		}, unix.ENOTCONN, nil, nil},
		{"ENOTCONN recv on a listener", func(t *testing.T, l *Lab) []string {
			listener(t, l, v4, "server")
			return []string{"recv", "server", "--timeout", "1s"}
		}, unix.ENOTCONN, nil, nil},
		{"EISCONN connect on a listener", func(t *testing.T, l *Lab) []string {
			port := listener(t, l, v4, "server")
			return []string{"connect", "server", v4.loopback, port, "--timeout", "1s"}
		}, unix.EISCONN, nil, nil},
		{"EISCONN connect twice", func(t *testing.T, l *Lab) []string {
			pair(t, l, v4)
			return []string{"connect", "client", v4.loopback, portOf(t, l, "server"), "--timeout", "1s"}
		}, unix.EISCONN, nil, nil},
		{"EADDRNOTAVAIL bind to an address of another machine", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "as", "s")
			return []string{"bind", "s", "192.0.2.1", "0"}
		}, unix.EADDRNOTAVAIL, nil, nil},
		{"EADDRNOTAVAIL bind to an address of another machine ipv6", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "ipv6", "as", "s")
			return []string{"bind", "s", "2001:db8::1", "0"}
		}, unix.EADDRNOTAVAIL, nil, nil},
		{"EOPNOTSUPP listen on UDP", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "udp", "as", "u")
			run(t, l, "bind", "u", v4.loopback, "0")
			return []string{"listen", "u"}
		}, unix.EOPNOTSUPP, nil, nil},
		{"EOPNOTSUPP accept on UDP", func(t *testing.T, l *Lab) []string {
			run(t, l, "socket", "udp", "as", "u")
			return []string{"accept", "u", "--timeout", "1s"}
		}, unix.EOPNOTSUPP, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			line := tt.setup(t, l)
			before := viewLab(l)
			rep := refused(t, l, tt.errno, line[0], line[1:]...)
			if !strings.HasPrefix(rep.Call, line[0]+"(") {
				t.Errorf("got call %q, want the %s call", rep.Call, line[0])
			}
			if want := proseOf[line[0]].Render("python", nil); rep.Python == "" && want != "" {
				t.Errorf("got no python line, want one")
			}
			checkUnchangedBut(t, strings.Join(line, " "), before, l, tt.ignore)
			if tt.then != nil {
				tt.then(t, l)
			}
		})
	}
}

// closedPort returns a loopback port nobody listens on, found by binding a
// socket to port 0 and closing it, and makes a socket named client.
func closedPort(t *testing.T, l *Lab, f family) string {
	t.Helper()
	run(t, l, "socket", "tcp", f.name, "as", "probe")
	run(t, l, "bind", "probe", f.loopback, "0")
	port := portOf(t, l, "probe")
	run(t, l, "close", "probe")
	run(t, l, "socket", "tcp", f.name, "as", "client")
	return port
}

// resetPair makes a connection whose client end is closed with bytes it
// never read, so that its kernel answers with a reset (RST): conn, the
// server's end, has been reset by its peer.
func resetPair(t *testing.T, l *Lab) {
	t.Helper()
	pair(t, l, families[0])
	run(t, l, "send", "conn", "nobody reads this")
	rep := run(t, l, "close", "client")
	wantSays(t, "close with unread bytes", rep, "reset (RST)")
	if st := Read(sock(t, l, "conn")).State; st != Closed {
		t.Fatalf("after the reset: got conn %s, want %s", st, Closed)
	}
}

// reported clears the pending error that the call reported: reporting it
// is what takes it off the socket.
func reported(v *kernelView) { v.PendingError = false }

// connectResidue clears what Linux leaves on a TCP socket whose handshake
// was refused: getsockname still reports the address and port the kernel
// chose for it (the port itself is released), and SIOCOUTQ counts the
// refused SYN. The socket is CLOSED all the same, as the report says.
func connectResidue(v *kernelView) { v.Local, v.SendQ = netip.AddrPort{}, 0 }

// connectAgain checks what the refused connect's report promises: the
// socket can connect again, and then it really is connected.
func connectAgain(f family) func(t *testing.T, l *Lab) {
	return func(t *testing.T, l *Lab) {
		port := listener(t, l, f, "server")
		run(t, l, "connect", "client", f.loopback, port)
		if snap := Read(sock(t, l, "client")); snap.State != Established || fmt.Sprint(snap.Remote.Port()) != port {
			t.Errorf("connect again: got %s to %s, want %s to port %s", snap.State, ShowAddr(snap.Remote), Established, port)
		}
	}
}
