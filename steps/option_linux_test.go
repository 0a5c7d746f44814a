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
