package steps

import (
	"strings"
	"testing"
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
