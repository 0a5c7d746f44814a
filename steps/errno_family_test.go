package steps

import (
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestBindNotHereFixFitsTheFamily: a bind to an address this machine does
// not have fails with EADDRNOTAVAIL (bind sends nothing). The fix offers
// the loopback address of the socket's own family, and a bind there
// succeeds.
func TestBindNotHereFixFitsTheFamily(t *testing.T) {
	for _, c := range []struct {
		family   string
		notHere  string // a documentation address, which no interface has
		loopback netip.Addr
	}{
		{"ipv4", "192.0.2.1", netip.MustParseAddr("127.0.0.1")},
		{"ipv6", "2001:db8::1", netip.IPv6Loopback()},
	} {
		l := newLab(t)
		run(t, l, "socket", "udp", c.family, "as", "s")
		fix := refused(t, l, unix.EADDRNOTAVAIL, "bind", "s", c.notHere, "0").Failure.Fix
		if !strings.Contains(fix, c.loopback.String()) {
			t.Errorf("%s: fix %q; want it to offer %s", c.family, fix, c.loopback)
		}
		run(t, l, "bind", "s", c.loopback.String(), "0")
		if got := Read(sock(t, l, "s")).Local.Addr(); got != c.loopback {
			t.Errorf("%s: the kernel bound the socket to %s, want %s", c.family, got, c.loopback)
		}
	}
}
