package steps

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestENOTCONNCauseMatchesRecv checks errno.txt's cause for ENOTCONN
// against what recv does on Linux, on live loopback sockets. A client whose
// connect was refused gets ENOTCONN from recv, so the cause must name a
// failed connect; a connection that is over, after both sides closed, gets
// 0 bytes instead, so the cause must not pair recv with a connection that
// is over.
func TestENOTCONNCauseMatchesRecv(t *testing.T) {
	help, _ := ExplainErrno(unix.ENOTCONN)
	tests := []struct {
		name  string
		setup func(t *testing.T) int // returns the socket to recv on
		want  unix.Errno             // 0: recv returns 0 bytes
		check func(cause string) bool
		why   string
	}{
		{"connect refused", func(t *testing.T) int {
			port := loopbackPort(t, boundNotListening(t))
			fd := tcpSocket(t)
			if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port}); !errors.Is(err, unix.ECONNREFUSED) {
				t.Fatalf("connect: %v, want ECONNREFUSED", err)
			}
			return fd
		}, unix.ENOTCONN, func(cause string) bool {
			return strings.Contains(cause, "connect failed")
		}, "name a connect that failed"},
		{"connection over", func(t *testing.T) int {
			ln := tcpSocket(t)
			if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				t.Fatal(err)
			}
			if err := unix.Listen(ln, 1); err != nil {
				t.Fatal(err)
			}
			fd := tcpSocket(t)
			if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: loopbackPort(t, ln)}); err != nil {
				t.Fatal(err)
			}
			conn, _, err := unix.Accept(ln)
			if err != nil {
				t.Fatal(err)
			}
			unix.Close(conn)
			if err := unix.Shutdown(fd, unix.SHUT_WR); err != nil {
				t.Fatal(err)
			}
			return fd
		}, 0, func(cause string) bool {
			for _, clause := range strings.Split(cause, ";") {
				if strings.Contains(clause, "recv()") && strings.Contains(clause, "connection is over") {
					return false
				}
			}
			return true
		}, "not say recv gets it on a connection that is over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fd := tt.setup(t)
			buf := make([]byte, 16)
			n, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
			switch {
			case tt.want != 0 && !errors.Is(err, tt.want):
				t.Fatalf("recv: %d, %v, want %s", n, err, unix.ErrnoName(tt.want))
			case tt.want == 0 && (err != nil || n != 0):
				t.Fatalf("recv: %d, %v, want 0 bytes", n, err)
			}
			if !tt.check(help.Cause) {
				t.Errorf("ENOTCONN cause %q: want it to %s", help.Cause, tt.why)
			}
		})
	}
}

// tcpSocket makes a TCP socket for IPv4 that the test closes when it ends.
func tcpSocket(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// boundNotListening returns a socket bound to a port of 127.0.0.1 that
// does not listen: a connect there is refused, and the socket holds the
// port so that nothing else takes it while the test runs.
func boundNotListening(t *testing.T) int {
	t.Helper()
	fd := tcpSocket(t)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	return fd
}

// loopbackPort is the port fd is bound to.
func loopbackPort(t *testing.T, fd int) int {
	t.Helper()
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}
