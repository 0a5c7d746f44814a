//go:build linux

package steps

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestBulkSendToUnaccepted sends more than a connection can take while it
// still waits in the listener's accept queue: no program can read it, so
// the bulk send says so, not that the peer reads too slowly, and tells how
// many bytes the kernel at that end took all the same, which accept then
// finds queued. The listener is the lab's, or one the test holds itself,
// which the lab knows only by its address.
func TestBulkSendToUnaccepted(t *testing.T) {
	for _, f := range families {
		for _, inLab := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/lab's listener %v", f.name, inLab), func(t *testing.T) {
				l := newLab(t)
				var lfd int
				var port, who, next string
				if inLab {
					port = listener(t, l, f, "server")
					lfd = sock(t, l, "server").FD
					who, next = "server (fd", "accept server"
				} else {
					lfd, port = outsideListener(t, f)
					who, next = "the listener at "+net.JoinHostPort(f.loopback, port), "sockets"
				}
				run(t, l, "socket", "tcp", f.name, "as", "client")
				run(t, l, "connect", "client", f.loopback, port)
				told := countWaiting(t, l)
				rep := fill(t, l, "client", "--bytes", "64M", "--timeout", "200ms")
				if len(*told) != 1 || !strings.Contains((*told)[0], "accept queue of "+who) || strings.Contains((*told)[0], "fast enough") {
					t.Errorf("told while waiting %q, want the accept queue of %s named", *told, who)
				}
				if strings.Contains(rep.Says, "fast enough") || rep.Next != next {
					t.Errorf("says %q, next %q; want no word of a peer reading slowly, and next %q", rep.Says, rep.Next, next)
				}
				conn, _, err := unix.Accept(lfd)
				if err != nil {
					t.Fatalf("accept: %v", err)
				}
				defer unix.Close(conn)
				queued, err := unix.IoctlGetInt(conn, unix.SIOCINQ)
				if err != nil || queued == 0 {
					t.Fatalf("SIOCINQ on the accepted connection: %d, %v", queued, err)
				}
				says := strings.Join(strings.Fields(rep.Says), " ")
				for _, want := range []string{"the connection waits in the accept queue of " + who,
					fmt.Sprintf("took %d bytes into its receive queue", queued)} {
					if !strings.Contains(says, want) {
						t.Errorf("says %q, want %q", says, want)
					}
				}
			})
		}
	}
}

// outsideListener makes a TCP listener on the loopback address of f that
// the lab does not know, and returns its descriptor and port.
func outsideListener(t *testing.T, f family) (int, string) {
	t.Helper()
	domain, sa := unix.AF_INET, unix.Sockaddr(&unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	if f.name == "ipv6" {
		domain, sa = unix.AF_INET6, &unix.SockaddrInet6{Addr: [16]byte{15: 1}}
	}
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, sa); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 8); err != nil {
		t.Fatal(err)
	}
	name, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, fmt.Sprint(addrPortOf(name).Port())
}

// TestFullSendToUnaccepted fills a non-blocking client's send buffer while
// its connection waits in the accept queue: the next send fails with
// EAGAIN, and its explanation does not say that the peer reads too slowly,
// since nothing can read it before accept.
func TestFullSendToUnaccepted(t *testing.T) {
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	run(t, l, "socket", "as", "client")
	run(t, l, "connect", "client", "127.0.0.1", port)
	run(t, l, "option", "client", "O_NONBLOCK", "on")
	run(t, l, "send", "client", "--bytes", "64M")
	rep := refused(t, l, unix.EAGAIN, "send", "client", "--bytes", "1")
	if why := strings.Join(strings.Fields(rep.Failure.ForStep), " "); strings.Contains(why, "fast enough") || !strings.Contains(why, "accept queue") {
		t.Errorf("EAGAIN: got %q, want the accept queue named and no word of a peer reading slowly", why)
	}
}
