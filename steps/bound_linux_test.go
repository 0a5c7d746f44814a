package steps

import (
	"net/netip"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// needBoundInactive skips a test that needs the kernel's sock_diag to
// list TCP sockets that hold a port without listening or connecting.
func needBoundInactive(t *testing.T) {
	t.Helper()
	if !boundInactiveKnown() {
		t.Skip("this kernel's sock_diag does not list bound sockets (TCP_BOUND_INACTIVE, Linux 6.9)")
	}
}

// TestClosedSocketShowsOnlyAPortItHolds: getsockname goes on reporting
// the port of a TCP socket whose connect was refused, though the kernel
// has taken that port back; the state read for reports shows no address
// then, and an explicit bind's port, which the socket keeps, as it is.
// Another socket binding the port shows which is true.
func TestClosedSocketShowsOnlyAPortItHolds(t *testing.T) {
	needBoundInactive(t)
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
			// A port the kernel took back may still be a port of other
			// connections of the machine, another program's or one in
			// TIME_WAIT (a connect may share its local port with
			// connections to other places), and bind refuses it for them:
			// then the test tries again with the next port.
			const attempts = 10
			for attempt := 1; ; attempt++ {
				reported, shown, taken := refusedConnectPort(t, l, port, tt.bind)
				if got := shown.Port() != 0; got != tt.holds {
					t.Errorf("got local %v shown (getsockname: %v), want a port shown: %v", shown, reported, tt.holds)
				}
				elsewhere := taken && !tt.holds && heldElsewhere(t, reported.Port())
				if elsewhere && attempt < attempts {
					continue
				}
				if taken != tt.holds {
					t.Errorf("binding port %d elsewhere: taken %v, want %v (held by other connections of the machine: %v, after %d ports; a table full of TIME_WAIT, after a benchmark, leaves few free)",
						reported.Port(), taken, tt.holds, elsewhere, attempt)
				}
				return
			}
		})
	}
}

// refusedConnectPort makes a socket, bound to a port of its own first if
// bind says so, whose connect to port is refused, and returns the port
// getsockname then reports, the local address the state shows, and
// whether another socket was refused that port. The socket is closed.
func refusedConnectPort(t *testing.T, l *Lab, port string, bind bool) (reported, shown netip.AddrPort, taken bool) {
	t.Helper()
	run(t, l, "socket", "as", "c")
	defer run(t, l, "close", "c")
	if bind {
		run(t, l, "bind", "c", "127.0.0.1", strconv.Itoa(freePort(t)))
	}
	refused(t, l, unix.ECONNREFUSED, "connect", "c", "127.0.0.1", port)
	c := sock(t, l, "c")
	reported, err := sockName(c.FD)
	if err != nil || reported.Port() == 0 {
		t.Fatalf("getsockname: got %v, %v, want the port the connect had", reported, err)
	}
	shown = Read(c).Local
	// The kernel's own answer: can another socket take the port?
	other, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(other)
	taken = unix.Bind(other, &unix.SockaddrInet4{Port: int(reported.Port()), Addr: [4]byte{127, 0, 0, 1}}) != nil
	return reported, shown, taken
}

// heldElsewhere says whether a connection of the machine has port as its
// own: some other program's.
func heldElsewhere(t *testing.T, port uint16) bool {
	t.Helper()
	conns, err := Connections()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if c.Local.Port() == port {
			return true
		}
	}
	return false
}

// freePort is a port nothing on 127.0.0.1 holds now.
func freePort(t *testing.T) int {
	t.Helper()
	fd, port := outsideSocket(t, unix.SOCK_STREAM)
	unix.Close(fd)
	return port
}
