package steps

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAddressesAsXSysUnixReadsThem checks that the addresses read
// straight from struct sockaddr are the ones x/sys/unix's own
// conversions give, for IPv4, IPv6 and an IPv4 peer of an IPv6 socket.
func TestAddressesAsXSysUnixReadsThem(t *testing.T) {
	for _, tt := range []struct {
		name           string
		listen, dial   int
		listenAt, dest unix.Sockaddr
	}{
		{"ipv4", unix.AF_INET, unix.AF_INET, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}},
		{"ipv6", unix.AF_INET6, unix.AF_INET6, &unix.SockaddrInet6{Addr: [16]byte{15: 1}}, &unix.SockaddrInet6{Addr: [16]byte{15: 1}}},
		{"ipv4 to ipv6", unix.AF_INET6, unix.AF_INET, &unix.SockaddrInet6{}, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lfd := rawSocket(t, tt.listen)
			if err := unix.Bind(lfd, tt.listenAt); err != nil {
				t.Skipf("cannot bind %s here: %v", tt.name, err)
			}
			if err := unix.Listen(lfd, 1); err != nil {
				t.Fatal(err)
			}
			bound, _ := unix.Getsockname(lfd)
			port := int(addrPortOf(bound).Port())
			switch d := tt.dest.(type) {
			case *unix.SockaddrInet4:
				d.Port = port
			case *unix.SockaddrInet6:
				d.Port = port
			}
			client := rawSocket(t, tt.dial)
			if err := unix.Connect(client, tt.dest); err != nil {
				t.Fatal(err)
			}
			conn, peer, err := accept(lfd)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Close(conn) })
			clientName, _ := unix.Getsockname(client)
			if want := addrPortOf(clientName); !SameEnd(peer, want) || peer.Addr().Is4() != (tt.listen == unix.AF_INET) {
				t.Errorf("accept's peer: got %v, want %v as the listener's family gives it", peer, want)
			}
			for _, fd := range []int{lfd, client, conn} {
				for _, c := range []struct {
					call string
					ours func(int) (netip.AddrPort, error)
					xsys func(int) (unix.Sockaddr, error)
				}{{"getsockname", sockName, unix.Getsockname}, {"getpeername", peerName, unix.Getpeername}} {
					got, err := c.ours(fd)
					sa, xerr := c.xsys(fd)
					if (err == nil) != (xerr == nil) || got != addrPortOf(sa) {
						t.Errorf("%s(%d): got %v, %v; x/sys/unix says %v, %v", c.call, fd, got, err, addrPortOf(sa), xerr)
					}
				}
			}
		})
	}
}

func rawSocket(t *testing.T, family int) int {
	t.Helper()
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}
