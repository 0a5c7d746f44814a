package steps

import (
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestClosedSocketShowsOnlyAPortItHolds: getsockname goes on reporting
// the port of a TCP socket whose connect was refused, though the kernel
// has taken that port back; the state read for reports shows no address
// then, and an explicit bind's port, which the socket keeps, as it is.
// Another socket binding the port shows which is true.
func TestClosedSocketShowsOnlyAPortItHolds(t *testing.T) {
	if !boundInactiveKnown() {
		t.Skip("this kernel's sock_diag does not list bound sockets (TCP_BOUND_INACTIVE, Linux 6.9)")
	}
	l := newLab(t)
	port := listener(t, l, families[0], "gone")
	run(t, l, "close", "gone") // nothing listens on port now: connects there are refused

	for _, tt := range []struct {
		name  string
		bind  bool // bind to an explicit port first, which the socket keeps
		holds bool
	}{
		{"connect refused, unbound before", false, false},
		{"connect refused, bound before", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			run(t, l, "socket", "as", "c")
			defer run(t, l, "close", "c")
			if tt.bind {
				run(t, l, "bind", "c", "127.0.0.1", strconv.Itoa(freePort(t)))
			}
			refused(t, l, unix.ECONNREFUSED, "connect", "c", "127.0.0.1", port)
			c := sock(t, l, "c")
			reported, err := sockName(c.FD)
			if err != nil || reported.Port() == 0 {
				t.Fatalf("getsockname: got %v, %v, want the port the connect had", reported, err)
			}
			shown := Read(c).Local
			if got := shown.Port() != 0; got != tt.holds {
				t.Errorf("got local %v shown (getsockname: %v), want a port shown: %v", shown, reported, tt.holds)
			}
			// The kernel's own answer: can another socket take the port?
			other, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(other)
			taken := unix.Bind(other, &unix.SockaddrInet4{Port: int(reported.Port()), Addr: [4]byte{127, 0, 0, 1}}) != nil
			if taken != tt.holds {
				t.Errorf("binding port %d elsewhere: taken %v, want %v", reported.Port(), taken, tt.holds)
			}
		})
	}
}

// freePort is a port nothing on 127.0.0.1 holds now.
func freePort(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	local, err := sockName(fd)
	if err != nil {
		t.Fatal(err)
	}
	return int(local.Port())
}
