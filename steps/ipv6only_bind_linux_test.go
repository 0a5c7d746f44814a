package steps

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestBindSixOnlyBesideFour: an IPv6 socket with IPV6_V6ONLY on may bind
// :: on a port an IPv4 socket holds on 0.0.0.0, and then an IPv4 client
// of that port reaches the IPv4 socket once it listens: bind must not say
// such a client is refused, only that it never reaches this socket.
func TestBindSixOnlyBesideFour(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "tcp", "ipv4", "as", "four")
	run(t, l, "bind", "four", "0.0.0.0", "0")
	port := portOf(t, l, "four")
	run(t, l, "socket", "tcp", "ipv6", "as", "six")
	run(t, l, "option", "six", "IPV6_V6ONLY", "on")
	rep := run(t, l, "bind", "six", "::", port)
	run(t, l, "listen", "four")
	run(t, l, "socket", "tcp", "ipv4", "as", "client")
	run(t, l, "connect", "client", "127.0.0.1", port) // the kernel takes it: four listens there
	says := strings.Join(strings.Fields(rep.Says), " ")
	for _, c := range []struct {
		sentence string
		want     bool
	}{
		{"an IPv4 client that connects to this port is refused", false},
		{"an IPv4 client that connects to this port never reaches it", true},
	} {
		if has := strings.Contains(says, c.sentence); has != c.want {
			t.Errorf("bind six :: %s beside four on 0.0.0.0: says %q; has %q: %v, want %v", port, says, c.sentence, has, c.want)
		}
	}
}

// TestBindBesideDualStack: an IPv4 socket on 0.0.0.0 and an IPv6 socket on
// :: whose IPV6_V6ONLY is off cannot hold the same port, in either order:
// the kernel refuses the second bind with EADDRINUSE, and bind must name
// IPV6_V6ONLY as the way to let them share it.
func TestBindBesideDualStack(t *testing.T) {
	for _, c := range []struct {
		name                  string
		first, second         string // the families, in the order they bind
		firstHost, secondHost string
		wantFix               string // the command the fix gives
	}{
		{"IPv4 first", "ipv4", "ipv6", "0.0.0.0", "::", "option second IPV6_V6ONLY on"},
		{"IPv6 first", "ipv6", "ipv4", "::", "0.0.0.0", "IPV6_V6ONLY on"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "tcp", c.first, "as", "first")
			run(t, l, "bind", "first", c.firstHost, "0")
			port := portOf(t, l, "first")
			run(t, l, "socket", "tcp", c.second, "as", "second")
			rep := refused(t, l, unix.EADDRINUSE, "bind", "second", c.secondHost, port)
			why := strings.Join(strings.Fields(rep.Failure.ForStep), " ")
			if !strings.Contains(why, "IPV6_V6ONLY is off") {
				t.Errorf("got %q, want why the two clash: IPV6_V6ONLY is off", why)
			}
			fix := strings.Join(strings.Fields(rep.Failure.Fix), " ")
			if !strings.Contains(fix, c.wantFix) || strings.Contains(fix, "SO_REUSEADDR before bind(), in the old server and the new one alike") {
				t.Errorf("got fix %q, want %q and no SO_REUSEADDR cure", fix, c.wantFix)
			}
		})
	}
}
