package steps

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// spread sends one datagram from each of n new sockets, so that each
// comes from a port of its own, to the loopback port of the family, and
// counts how many each of socks received.
func spread(t *testing.T, f family, port string, socks []*Socket, n int) []int {
	t.Helper()
	domain, addr := f.at(t, port)
	for range n {
		fd, err := unix.Socket(domain, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		err = unix.Sendto(fd, []byte("x"), 0, addr)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
	}
	got := make([]int, len(socks))
	for i, s := range socks {
		for {
			if _, _, err := unix.Recvfrom(s.FD, make([]byte, 8), unix.MSG_DONTWAIT); err != nil {
				break
			}
			got[i]++
		}
	}
	return got
}

// TestReuseaddrOnUDP: SO_REUSEADDR on two UDP sockets lets them bind one
// address and port, and a datagram goes to one of them only; turned off,
// it makes a third socket's bind there fail. The report says what the
// kernel did, and nothing of TCP's TIME_WAIT.
func TestReuseaddrOnUDP(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			var on *Report
			for _, name := range []string{"a", "b", "c"} {
				run(t, l, "socket", "udp", f.name, "as", name)
				on = run(t, l, "option", name, "reuseaddr", "on")
			}
			run(t, l, "bind", "a", f.loopback, "0")
			port := portOf(t, l, "a")
			run(t, l, "bind", "b", f.loopback, port) // the kernel lets both bind
			got := spread(t, f, port, []*Socket{sock(t, l, "a"), sock(t, l, "b")}, 20)
			says := on.Says
			switch {
			case got[0] > 0 && got[1] > 0:
				t.Fatalf("both a and b received datagrams (%v), and the report says %q", got, says)
			case got[1] == 20:
				wantSays(t, "reuseaddr on", on, "goes to one of them only", "the one bound last")
			default:
				t.Fatalf("of 20 datagrams a received %d and b, bound last, %d; the report says %q", got[0], got[1], says)
			}
			if strings.Contains(says, "linger in TIME_WAIT") {
				t.Errorf("a UDP socket: got %q, which speaks of TCP's TIME_WAIT", says)
			}
			off := run(t, l, "option", "a", "reuseaddr", "off")
			refused(t, l, unix.EADDRINUSE, "bind", "c", f.loopback, port)
			wantSays(t, "reuseaddr off", off, "fails with EADDRINUSE")
		})
	}
}

// accepted connects n clients to the loopback port of the family and
// counts how many each of the listeners has in its accept queue.
func accepted(t *testing.T, f family, port string, listeners []*Socket, n int) []int {
	t.Helper()
	domain, addr := f.at(t, port)
	for range n {
		fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		if err := unix.Connect(fd, addr); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]int, len(listeners))
	for i, s := range listeners {
		for {
			fds := []unix.PollFd{{Fd: int32(s.FD), Events: unix.POLLIN}}
			if ready, err := unix.Poll(fds, 0); err != nil || ready == 0 {
				break
			}
			conn, _, err := unix.Accept4(s.FD, unix.SOCK_CLOEXEC)
			if err != nil {
				break
			}
			unix.Close(conn)
			got[i]++
		}
	}
	return got
}

// TestReuseportOffOnABoundSocket: two sockets share a port through
// SO_REUSEPORT, and one turns it off. The kernel does not take it out of
// the group: it still gets its share, and a new SO_REUSEPORT socket may
// still bind the port. The report must not say it stopped sharing; of a
// socket not yet bound, it says that it will not share.
func TestReuseportOffOnABoundSocket(t *testing.T) {
	for _, kind := range []string{"tcp", "udp"} {
		for _, f := range families {
			t.Run(kind+" "+f.name, func(t *testing.T) {
				l := newLab(t)
				for _, name := range []string{"a", "b", "c"} {
					run(t, l, "socket", kind, f.name, "as", name)
					run(t, l, "option", name, "reuseport", "on")
				}
				run(t, l, "bind", "a", f.loopback, "0")
				port := portOf(t, l, "a")
				run(t, l, "bind", "b", f.loopback, port)
				if kind == "tcp" {
					run(t, l, "listen", "a")
					run(t, l, "listen", "b")
				}
				off := run(t, l, "option", "a", "reuseport", "off")
				if strings.Contains(off.Says, "will not share") {
					t.Errorf("got %q, which says a bound socket stopped sharing", off.Says)
				}
				share := []*Socket{sock(t, l, "a"), sock(t, l, "b")}
				var got []int
				if kind == "tcp" {
					got = accepted(t, f, port, share, 40)
				} else {
					got = spread(t, f, port, share, 40)
				}
				if got[0] > 0 {
					wantSays(t, fmt.Sprintf("a got %d of 40 after turning it off", got[0]), off, "go on getting its share")
				}
				if rep, err := try(t, l, "bind", "c", f.loopback, port); err == nil && !rep.Failed() {
					wantSays(t, "a new SO_REUSEPORT socket bound the port", off, "may still bind the port")
				}
				// A socket not yet bound, with it off, cannot join them.
				run(t, l, "socket", kind, f.name, "as", "d")
				unbound := run(t, l, "option", "d", "reuseport", "off")
				refused(t, l, unix.EADDRINUSE, "bind", "d", f.loopback, port)
				wantSays(t, "reuseport off before bind", unbound, "When "+sock(t, l, "d").Label()+" binds, it will not share the port")
			})
		}
	}
}

// TestFreePortFromTakesTheSocketsOptions: the port a socket's next bind is
// suggested is one the kernel lets that socket bind, options and all. On
// a port whose only holder is a TIME_WAIT of a socket that had
// SO_REUSEADDR, a socket with SO_REUSEADDR on is suggested that very
// port, and one without it another; a listener, with SO_REUSEADDR or
// not, stops both.
func TestFreePortFromTakesTheSocketsOptions(t *testing.T) {
	for _, f := range families {
		for _, tt := range []struct {
			held     string // what holds the port: "time-wait", "listener"
			reuse    string
			thatPort bool // the suggestion is the held port
		}{
			{"time-wait", "on", true},
			{"time-wait", "off", false},
			{"listener", "on", false},
			{"listener", "off", false},
		} {
			t.Run(f.name+" "+tt.held+" reuseaddr "+tt.reuse, func(t *testing.T) {
				l := newLab(t)
				run(t, l, "socket", "tcp", f.name, "as", "old")
				run(t, l, "option", "old", "reuseaddr", "on")
				run(t, l, "bind", "old", f.loopback, "0")
				run(t, l, "listen", "old")
				held := Read(sock(t, l, "old")).Local
				if tt.held == "time-wait" {
					run(t, l, "socket", "tcp", f.name, "as", "client")
					run(t, l, "connect", "client", f.loopback, fmt.Sprint(held.Port()))
					run(t, l, "accept", "old", "as", "conn")
					run(t, l, "close", "conn") // the server's end closes first: TIME_WAIT at the port
					run(t, l, "close", "client")
					run(t, l, "close", "old")
				}
				run(t, l, "socket", "tcp", f.name, "as", "s")
				run(t, l, "option", "s", "reuseaddr", tt.reuse)
				s := sock(t, l, "s")
				// The kernel's answer, from a socket like s.
				fd, err := unix.Socket(s.Family.domain(), unix.SOCK_STREAM, 0)
				if err != nil {
					t.Fatal(err)
				}
				unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, map[string]int{"on": 1, "off": 0}[tt.reuse])
				free := unix.Bind(fd, sockaddr(s.Family, held)) == nil
				unix.Close(fd)
				if free != tt.thatPort {
					t.Fatalf("the kernel lets a socket with SO_REUSEADDR %s bind %v held by a %s: %v, want %v", tt.reuse, held, tt.held, free, tt.thatPort)
				}
				got := freePortFrom(sharingOf(s), s.Family, s.Kind, held.Addr(), int(held.Port()))
				if (got == int(held.Port())) != tt.thatPort {
					t.Errorf("suggested port %d, held %v, want the held port %v", got, held, tt.thatPort)
				}
				run(t, l, "bind", "s", f.loopback, fmt.Sprint(got))
			})
		}
	}
}
