//go:build linux

package steps

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// loopbackPair makes a listener on 127.0.0.1:0 (or [::1]:0), a client
// connected to it and the accepted end, and closes them all at the end of
// the test.
func loopbackPair(t *testing.T, family int) (client, server int, clientEnd, serverEnd netip.AddrPort) {
	t.Helper()
	var addr unix.Sockaddr = &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if family == unix.AF_INET6 {
		addr = &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}
	}
	lfd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no socket of family %d here: %v", family, err)
	}
	t.Cleanup(func() { unix.Close(lfd) })
	if err := unix.Bind(lfd, addr); err != nil {
		t.Skipf("cannot bind to loopback of family %d: %v", family, err)
	}
	if err := unix.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	listenAt, _ := unix.Getsockname(lfd)
	client, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(client) })
	if err := unix.Connect(client, listenAt); err != nil {
		t.Fatal(err)
	}
	server, _, err = unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(server) })
	local, _ := unix.Getsockname(client)
	remote, _ := unix.Getpeername(client)
	return client, server, addrPortOf(local), addrPortOf(remote)
}

func TestDiagStateAgreesWithProcNetTCP(t *testing.T) {
	for _, family := range []int{unix.AF_INET, unix.AF_INET6} {
		client, server, clientEnd, serverEnd := loopbackPair(t, family)
		check := func(when string, wantState TCPState) {
			t.Helper()
			for _, ends := range [][2]netip.AddrPort{{clientEnd, serverEnd}, {serverEnd, clientEnd}} {
				got, found, err := diagState(ends[0], ends[1])
				if err != nil {
					t.Skipf("sock_diag cannot be asked here: %v", err)
				}
				want, wantFound := procState(t, ends[0], ends[1])
				if got != want || found != wantFound {
					t.Errorf("%s, %v→%v: sock_diag says %v (found %v), /proc/net/tcp says %v (found %v)", when, ends[0], ends[1], got, found, want, wantFound)
				}
			}
			if got, _, _ := diagState(clientEnd, serverEnd); got != wantState {
				t.Errorf("%s: client end is %v, want %v", when, got, wantState)
			}
		}
		check("connected", Established)
		unix.Shutdown(client, unix.SHUT_WR)
		unix.Shutdown(server, unix.SHUT_WR)
		// Both FINs cross on loopback at once; the client, which sent
		// first, ends in TIME_WAIT, which no file descriptor holds.
		waitUntil(t, func() bool { s, _, _ := diagState(clientEnd, serverEnd); return s == TimeWait })
		check("after both sides shut down", TimeWait)
	}
}

func TestDiagStateIgnoresTheListenerOnTheSamePort(t *testing.T) {
	_, _, clientEnd, serverEnd := loopbackPair(t, unix.AF_INET)
	// No connection goes from the server's port to this made-up peer, but
	// a listener holds the server's port: the kernel's lookup falls back
	// to it, and the answer must not be taken for the connection's.
	nobody := netip.AddrPortFrom(clientEnd.Addr(), 1)
	state, found, err := diagState(serverEnd, nobody)
	if err != nil {
		t.Skipf("sock_diag cannot be asked here: %v", err)
	}
	if found {
		t.Errorf("diagState(%v, %v) found a connection in state %v; want none", serverEnd, nobody, state)
	}
}

// waitUntil polls cond for up to two seconds.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		unix.Poll(nil, 10)
	}
	t.Fatal("the kernel did not reach the expected state within 2s")
}

// TestDiagStateFindsAnIPv4MappedConnection: an IPv6 listener on [::]
// accepts an IPv4 client as an IPv6 socket whose ends are IPv4-mapped
// (::ffff:127.0.0.1); sock_diag must find that connection by those ends,
// in the state /proc/net/tcp6 gives it, before and after the accepted end
// closes (ESTABLISHED, then FIN_WAIT2 while the client has not closed).
func TestDiagStateFindsAnIPv4MappedConnection(t *testing.T) {
	lfd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no IPv6 socket here: %v", err)
	}
	t.Cleanup(func() { unix.Close(lfd) })
	if err := unix.SetsockoptInt(lfd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(lfd, &unix.SockaddrInet6{}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 8); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(lfd)
	client, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(client) })
	if err := unix.Connect(client, &unix.SockaddrInet4{Port: sa.(*unix.SockaddrInet6).Port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	server, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	local, _ := unix.Getsockname(server)
	remote, _ := unix.Getpeername(server)
	ends := [2]netip.AddrPort{addrPortOf(local), addrPortOf(remote)}
	if !ends[0].Addr().Is4In6() {
		unix.Close(server)
		t.Fatalf("the accepted end is %s, not IPv4-mapped", ends[0])
	}
	for _, closed := range []bool{false, true} {
		if closed {
			unix.Close(server)
		} else {
			t.Cleanup(func() { unix.Close(server) })
		}
		// After close, the state is compared once the client's ACK of
		// the FIN has come (FIN_WAIT2), which stays: FIN_WAIT1 may
		// change between the two reads.
		var want TCPState
		for try := 0; try < 100 && (want == 0 || closed && want == FinWait1); try++ {
			if try > 0 {
				time.Sleep(10 * time.Millisecond)
			}
			conns, err := Connections()
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range conns {
				if c.Local == ends[0] && c.Remote == ends[1] {
					want = c.State
				}
			}
		}
		if want == 0 {
			t.Fatalf("no line from %s to %s in /proc/net/tcp6", ends[0], ends[1])
		}
		got, found, err := diagState(ends[0], ends[1])
		if err != nil {
			t.Skipf("sock_diag cannot be asked here: %v", err)
		}
		if !found || got != want {
			t.Errorf("closed %v: sock_diag found %v, state %s; /proc/net/tcp6 says %s", closed, found, got, want)
		}
		if got, found := ConnectionState(ends[0], ends[1]); !found || got != want {
			t.Errorf("closed %v: ConnectionState found %v, state %s; /proc/net/tcp6 says %s", closed, found, got, want)
		}
	}
}

// diagState looks the connection from local to remote up with sock_diag
// alone, as ConnectionOf does first. found is false when the kernel holds
// no such connection; an error means sock_diag could not be asked.
func diagState(local, remote netip.AddrPort) (state TCPState, found bool, err error) {
	body, found, err := diagLookup(local, remote)
	if !found {
		return 0, false, err
	}
	return TCPState(body[1]), true, nil
}
