package steps

import (
	"strings"
	"testing"
)

// TestAcceptNamesTheIPv4ClientBehindAMappedAddress has an IPv6 listener on
// :: accept an IPv4 client and an IPv6 one. Only the IPv4 client's peer is
// the IPv4-mapped ::ffff:a.b.c.d, and only for it does accept say which
// IPv4 address that is: the client's own, as its getsockname gives it.
func TestAcceptNamesTheIPv4ClientBehindAMappedAddress(t *testing.T) {
	for _, f := range families {
		t.Run(f.name+" client", func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "tcp", "ipv6", "as", "server")
			run(t, l, "bind", "server", "::", "0")
			run(t, l, "listen", "server")
			run(t, l, "socket", "tcp", f.name, "as", "client")
			run(t, l, "connect", "client", f.loopback, portOf(t, l, "server"))
			rep := run(t, l, "accept", "server", "as", "conn")

			client := Read(sock(t, l, "client")).Local.Addr()
			peer := Read(sock(t, l, "conn")).Remote.Addr()
			mapped := peer.Is4In6()
			if mapped != client.Is4() {
				t.Fatalf("the kernel gives the %s client %s, and the IPv6 server sees it as %s", f.name, client, peer)
			}
			sentence := "The client is an IPv4 one, at " + client.String() + ": an IPv6 socket shows an IPv4 address as " + peer.String()
			if got := strings.Contains(strings.Join(strings.Fields(rep.Says), " "), sentence); got != mapped {
				t.Errorf("peer %s: got says %q, want the mapped-address sentence %v", peer, rep.Says, mapped)
			}
		})
	}
}
