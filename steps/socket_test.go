package steps

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSocketSuggestsItsOwnFamily types what a new socket's report suggests
// next, as a learner would, with the port made one this test owns: the
// address it suggests must be one the socket can use. An IPv6 socket
// refuses 127.0.0.1.
func TestSocketSuggestsItsOwnFamily(t *testing.T) {
	for _, f := range families {
		for _, tt := range []struct{ kind, name string }{{"tcp", "server"}, {"tcp", "client"}, {"udp", "u"}} {
			t.Run(f.name+" "+tt.kind+" "+tt.name, func(t *testing.T) {
				l := newLab(t)
				port := listener(t, l, f, "listener")
				next := run(t, l, "socket", tt.kind, f.name, "as", tt.name).Next
				// A server's suggestion ends with what a client would do
				// instead: "bind server "" 8081 (a server; a client
				// would: connect server ::1 8081)".
				main, aside, _ := strings.Cut(next, "(")
				commands := []string{main}
				if _, client, ok := strings.Cut(aside, "would: "); ok {
					commands = append(commands, strings.TrimSuffix(client, ")"))
				}
				for _, command := range commands {
					words := strings.Fields(command)
					if len(words) != 4 || words[1] != tt.name {
						t.Fatalf("suggested %q, want a bind or connect of %s to a host and port", command, tt.name)
					}
					if words[2] == `""` {
						words[2] = "" // as the shell reads it: every interface
					}
					switch words[0] {
					case "bind":
						words[3] = "0" // any free port: the suggested one may be taken
					case "connect":
						words[3] = port
					}
					run(t, l, words[0], words[1:]...)
					run(t, l, "close", tt.name)
					run(t, l, "socket", tt.kind, f.name, "as", tt.name)
				}
			})
		}
	}
}

// TestSocketSuggestsNoDeafUDPSocket makes a UDP socket beside one that is
// connected, and so takes datagrams from its peer alone, with and without
// a bound one that is not: the sendto the new socket's report suggests is
// typed, and what it sends must arrive; with no socket to take it, none
// is suggested.
func TestSocketSuggestsNoDeafUDPSocket(t *testing.T) {
	for _, server := range []bool{false, true} {
		t.Run(map[bool]string{false: "connected only", true: "and a server"}[server], func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", "as", "peer")
			run(t, l, "bind", "peer", "127.0.0.1", "0")
			run(t, l, "socket", "udp", "as", "deaf")
			run(t, l, "connect", "deaf", "127.0.0.1", portOf(t, l, "peer"))
			run(t, l, "close", "peer")
			if server {
				run(t, l, "socket", "udp", "as", "server")
				run(t, l, "bind", "server", "127.0.0.1", "0")
			}
			next := run(t, l, "socket", "udp", "as", "other").Next
			words := strings.Fields(next)
			if sendto := words[0] == "sendto"; sendto != server {
				t.Fatalf("got next %q, want a sendto: %v", next, server)
			}
			if !server {
				return
			}
			run(t, l, "sendto", "other", words[2], words[3], strings.Trim(words[4], `"`))
			if Read(sock(t, l, "server")).RecvQ == 0 {
				t.Errorf("after %q: nothing arrived at server", next)
			}
		})
	}
}

// TestNewUDPSocketCanSend: a new UDP socket has no address, yet it can
// send at once, and the report says so rather than that it can reach
// nothing: sendto works, and the address the kernel then reports is the
// one the report gave, every interface.
func TestNewUDPSocketCanSend(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", f.name, "as", "server")
			run(t, l, "bind", "server", f.loopback, "0")
			says := foldParagraphs(run(t, l, "socket", "udp", f.name, "as", "other").Says)
			if strings.Contains(says, "can reach nothing") {
				t.Errorf("got %q, want no \"can reach nothing\": a UDP socket can send at once", says)
			}
			run(t, l, "sendto", "other", f.loopback, portOf(t, l, "server"), "ping")
			if local := Read(sock(t, l, "other")).Local; !local.Addr().IsUnspecified() || local.Port() == 0 {
				t.Fatalf("after sendto the kernel says other is bound to %s, want a port on every interface", local)
			}
			if want := "binds the socket to a free port on every interface"; !strings.Contains(says, want) {
				t.Errorf("got %q, want %q in it", says, want)
			}
		})
	}
}

// TestSocketSuggestsAFreePort takes the port a new socket's suggested
// bind starts from (on every interface for TCP, on loopback for UDP) with
// a socket of the test's own, and types the bind the new socket suggests,
// port and all: it must work, on another port. The test moves where
// suggestions start off 8081 and 9090 first, since other tests' transcripts
// show those.
func TestSocketSuggestsAFreePort(t *testing.T) {
	suggestFromFreePorts(t)
	for _, f := range families {
		for _, tt := range []struct {
			kind string
			host netip.Addr
		}{
			{"tcp", netip.IPv4Unspecified()},
			{"udp", netip.MustParseAddr(f.loopback)},
		} {
			t.Run(f.name+" "+tt.kind, func(t *testing.T) {
				kind := map[string]Kind{"tcp": Stream, "udp": Datagram}[tt.kind]
				held := netip.AddrPortFrom(tt.host, uint16(suggestedFrom[kind]))
				family := map[bool]Family{false: IPv4, true: IPv6}[held.Addr().Is6()]
				fd, err := unix.Socket(family.domain(), kind.number(), 0)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fd)
				unix.Bind(fd, sockaddr(family, held)) // refused only when the port is taken already

				l := newLab(t)
				next := run(t, l, "socket", tt.kind, f.name, "as", "s").Next
				main, _, _ := strings.Cut(next, "(")
				words := strings.Fields(main)
				if len(words) != 4 || words[0] != "bind" {
					t.Fatalf("suggested %q, want a bind", next)
				}
				if p, _ := strconv.Atoi(words[3]); p <= int(held.Port()) || p >= int(held.Port())+100 {
					t.Errorf("suggested %q; want a port after %d, which is taken, and before %d", next, held.Port(), held.Port()+100)
				}
				words[2] = strings.Trim(words[2], `"`)
				if rep := run(t, l, words[0], words[1:]...); rep.Failure != nil {
					t.Errorf("typed the suggestion %q: %s", main, rep.Call)
				}
			})
		}
	}
}
