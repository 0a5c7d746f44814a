package steps

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLoopbackDownBindSaysNothingHereReachesIt: in a network namespace
// whose loopback interface is down, bind to every interface or to
// 127.0.0.1 succeeds, yet nothing on this machine reaches the socket: a
// connect or sendto to it through 127.0.0.1 fails with ENETUNREACH, and
// through ::1 with EADDRNOTAVAIL. So bind says lo is down and names the
// command that brings it up, instead of offering ::1 or 127.0.0.1 as the
// way to keep the socket to this machine. Once lo is up it offers them.
func TestLoopbackDownBindSaysNothingHereReachesIt(t *testing.T) {
	if !inNetnsLoopbackDown(t) {
		return
	}
	lo := loopbackOnly(t)
	tests := []struct {
		kind, family, host string
		upSays             string // what it says only once lo is up, if anything
	}{
		{"udp", "ipv6", "", "To keep it to this machine, bind to ::1 instead."},
		{"tcp", "ipv6", "::", "To keep it to this machine, bind to ::1 instead."},
		{"udp", "ipv4", "", "To keep it to this machine, bind to 127.0.0.1 instead."},
		{"tcp", "ipv4", "127.0.0.1", ""},
	}
	downSays := []string{"The loopback interface, " + lo.Name + ", is down", "`ip link set " + lo.Name + " up`"}
	for _, up := range []bool{false, true} {
		if up {
			bringUp(t, lo)
		}
		for _, tt := range tests {
			l := newLab(t)
			run(t, l, "socket", tt.kind, tt.family, "as", "s")
			says := run(t, l, "bind", "s", tt.host, "0").Says
			for _, want := range downSays {
				if strings.Contains(says, want) != !up {
					t.Errorf("%s %s bound to %q, lo up %v: says %q; want %q only while lo is down", tt.kind, tt.family, tt.host, up, says, want)
				}
			}
			if tt.upSays != "" && strings.Contains(says, tt.upSays) != up {
				t.Errorf("%s %s bound to %q, lo up %v: says %q; want %q only while lo is up", tt.kind, tt.family, tt.host, up, says, tt.upSays)
			}
			if up {
				continue
			}
			// What it says, checked: nothing here reaches the socket.
			port := portOf(t, l, "s")
			if tt.kind == "tcp" {
				run(t, l, "listen", "s")
			}
			for _, to := range []struct {
				family, host string
				refusal      unix.Errno
			}{{"ipv4", "127.0.0.1", unix.ENETUNREACH}, {"ipv6", "::1", unix.EADDRNOTAVAIL}} {
				if tt.family == "ipv4" && to.family == "ipv6" {
					continue
				}
				run(t, l, "socket", tt.kind, to.family, "as", "c")
				if tt.kind == "tcp" {
					refused(t, l, to.refusal, "connect", "c", to.host, port)
				} else {
					refused(t, l, to.refusal, "sendto", "c", to.host, port, "hi")
				}
				run(t, l, "close", "c")
			}
			if tt.family == "ipv6" {
				run(t, l, "socket", tt.kind, "ipv6", "as", "b")
				refused(t, l, unix.EADDRNOTAVAIL, "bind", "b", "::1", "0")
			}
		}
	}
}
