package steps

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestListenSuggestsAConnectThatWorks types the commands listen suggests
// after the accept, as they are written, for each family and address a
// listener can have and for the sockets the lab holds beside it: a new
// TCP socket of a family that reaches the listener is named, and otherwise
// a socket is made first, under a name no live socket has. The connection
// must reach the listener's queue.
func TestListenSuggestsAConnectThatWorks(t *testing.T) {
	others := []struct {
		name   string
		lines  []string // run before the listen; PORT is the port of other, a listener on ::1
		family string   // the family of the lab's socket "client" that could connect, or ""
	}{
		{"no other socket", nil, ""},
		{"a new ipv4 socket", []string{"socket as client"}, "ipv4"},
		{"a new ipv6 socket", []string{"socket ipv6 as client"}, "ipv6"},
		// A bind to ::1 turns IPV6_V6ONLY on: no IPv4-mapped address.
		{"an ipv6 socket bound to ::1", []string{"socket ipv6 as client", "bind client ::1 0"}, "ipv6 only"},
		{"a udp socket", []string{"socket udp as u"}, ""},
		{"c and c2 connected already", []string{"socket ipv6 as c", "connect c ::1 PORT", "socket ipv6 as c2", "connect c2 ::1 PORT"}, ""},
	}
	for _, tt := range []struct {
		name, family, host string
		v6only             bool
		reach              []string // the families that can connect to it
	}{
		{"ipv4 loopback", "ipv4", "127.0.0.1", false, []string{"ipv4"}},
		{"ipv4 every interface", "ipv4", "", false, []string{"ipv4"}},
		{"ipv6 loopback", "ipv6", "::1", false, []string{"ipv6", "ipv6 only"}},
		{"ipv6 every interface, IPv4 clients too", "ipv6", "", false, []string{"ipv4", "ipv6", "ipv6 only"}},
		{"ipv6 every interface, IPv6 only", "ipv6", "", true, []string{"ipv6", "ipv6 only"}},
		{"ipv4-mapped loopback", "ipv6", "::ffff:127.0.0.1", false, []string{"ipv6"}},
	} {
		for _, other := range others {
			t.Run(tt.name+", "+other.name, func(t *testing.T) {
				l := newLab(t)
				port := listener(t, l, families[1], "other")
				for _, line := range other.lines {
					words := strings.Fields(strings.ReplaceAll(line, "PORT", port))
					run(t, l, words[0], words[1:]...)
				}
				run(t, l, "socket", "tcp", tt.family, "as", "server")
				if tt.v6only {
					run(t, l, "option", "server", "IPV6_V6ONLY", "on")
				}
				run(t, l, "bind", "server", tt.host, "0")
				next := run(t, l, "listen", "server").Next
				_, suggested, ok := strings.Cut(next, ": ")
				if !ok {
					t.Fatalf("got next %q, want a connect after the accept", next)
				}
				var made, from string
				for _, line := range strings.Split(strings.TrimSuffix(suggested, ")"), ", then ") {
					words := strings.Fields(line)
					switch words[0] {
					case "socket":
						made = words[len(words)-1]
					case "connect":
						from = words[1]
					}
					run(t, l, words[0], words[1:]...)
				}
				if got := Read(sock(t, l, "server")).AcceptQueue; got != 1 {
					t.Errorf("after %q: the listener's queue holds %d, want the connection", suggested, got)
				}
				if slices.Contains(tt.reach, other.family) {
					if made != "" || from != "client" {
						t.Errorf("got next %q, want a connect from client, which can", next)
					}
				} else if made == "" || from != made {
					t.Errorf("got next %q, want a new socket made and connected", next)
				}
			})
		}
	}
}

// TestListenRoom checks the number of waiting connections listen's report
// gives against the kernel: that many clients finish their handshake with
// nobody calling accept, and the next one's connect waits, its SYN
// ignored.
func TestListenRoom(t *testing.T) {
	for _, backlog := range []int{0, 1, 3} {
		t.Run(fmt.Sprint("backlog ", backlog), func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "as", "server")
			run(t, l, "bind", "server", "127.0.0.1", "0")
			rep := run(t, l, "listen", "server", fmt.Sprint(backlog))
			room := backlog + 1
			wantSays(t, "listen", rep, fmt.Sprintf("up to %d may wait", room))
			port := portOf(t, l, "server")
			for i := range room {
				name := fmt.Sprint("client", i)
				run(t, l, "socket", "as", name)
				if rep := run(t, l, "connect", name, "127.0.0.1", port, "--timeout", "2s"); rep.Stopped {
					t.Fatalf("client %d of %d: got %q, want it connected", i+1, room, rep.Call)
				}
			}
			run(t, l, "socket", "as", "late")
			if rep := run0(t, l, "connect", "late", "127.0.0.1", port, "--timeout", "300ms"); !rep.Stopped {
				t.Errorf("client %d: got %q, want its connect to wait: the queue holds %d", room+1, rep.Call, room)
			}
		})
	}
}

// TestListenAgain calls listen on a listener with none, one or two
// connections waiting: only the backlog changes, and those waiting stay
// for accept, as the report says.
func TestListenAgain(t *testing.T) {
	tests := []struct {
		clients []string
		want    string
	}{
		{nil, "from 128 to 1. From now on up to 2 may wait"},
		{[]string{"a"}, "The 1 connection in its queue stays there for accept"},
		{[]string{"a", "b"}, "The 2 connections in its queue stay there for accept"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(len(tt.clients), " waiting"), func(t *testing.T) {
			l := newLab(t)
			port := listener(t, l, families[0], "server")
			for _, name := range tt.clients {
				run(t, l, "socket", "as", name)
				run(t, l, "connect", name, "127.0.0.1", port)
			}
			rep := run(t, l, "listen", "server", "1")
			for _, want := range []string{"was listening already", "from 128 to 1", tt.want} {
				if !strings.Contains(rep.Says, want) {
					t.Errorf("got %q, want %q", rep.Says, want)
				}
			}
			for i := range tt.clients {
				run(t, l, "accept", "server", "--timeout", "1s", "as", fmt.Sprint("c", i))
			}
		})
	}
}

// TestSocketSuggestsTheServerThatIsThere makes a socket beside a server
// of the lab and types what socket suggests: a connect to the listener, or
// a sendto to the bound UDP socket, that must arrive there, for each
// family and address. Where a socket of that family cannot reach the
// server at its loopback address, nothing points to it.
func TestSocketSuggestsTheServerThatIsThere(t *testing.T) {
	for _, tt := range []struct {
		name, kind, family, host string
		v6only                   bool
		reach                    []string // the families that get a suggestion
	}{
		{"tcp ipv4 loopback", "tcp", "ipv4", "127.0.0.1", false, []string{"ipv4"}},
		{"tcp ipv4 every interface", "tcp", "ipv4", "", false, []string{"ipv4"}},
		{"tcp ipv6 loopback", "tcp", "ipv6", "::1", false, []string{"ipv6"}},
		{"tcp ipv6 every interface", "tcp", "ipv6", "", false, []string{"ipv4", "ipv6"}},
		{"tcp ipv6 every interface, IPv6 only", "tcp", "ipv6", "", true, []string{"ipv6"}},
		{"udp ipv4 loopback", "udp", "ipv4", "127.0.0.1", false, []string{"ipv4"}},
		{"udp ipv6 every interface", "udp", "ipv6", "", false, []string{"ipv4", "ipv6"}},
	} {
		for _, family := range []string{"ipv4", "ipv6"} {
			t.Run(tt.name+" from "+family, func(t *testing.T) {
				l := newLab(t)
				run(t, l, "socket", tt.kind, tt.family, "as", "server")
				if tt.v6only {
					run(t, l, "option", "server", "IPV6_V6ONLY", "on")
				}
				run(t, l, "bind", "server", tt.host, "0")
				if tt.kind == "tcp" {
					run(t, l, "listen", "server")
				}
				next := run(t, l, "socket", tt.kind, family, "as", "other").Next
				suggested, _, _ := strings.Cut(next, " (server ")
				words := strings.Fields(suggested)
				points := len(words) > 0 && (words[0] == "connect" || words[0] == "sendto")
				if want := slices.Contains(tt.reach, family); points != want {
					t.Fatalf("got next %q; want a connect or sendto to the server: %v", next, want)
				}
				if !points {
					return
				}
				if words[0] == "sendto" {
					words[len(words)-1] = strings.Trim(words[len(words)-1], `"`)
				}
				run(t, l, words[0], words[1:]...)
				server := Read(sock(t, l, "server"))
				if server.AcceptQueue+server.RecvQ == 0 {
					t.Errorf("after %q: nothing arrived at the server", suggested)
				}
			})
		}
	}
}

// TestListenBacklogAboveTheCap asks for more than net.core.somaxconn
// allows: the kernel takes the cap instead, and the report says so, with
// the room the kernel really gives.
func TestListenBacklogAboveTheCap(t *testing.T) {
	limit := somaxconn()
	if limit == 0 {
		t.Skip("this system publishes no net.core.somaxconn")
	}
	for _, asked := range []int{limit + 1, 100000, math.MaxInt32} {
		t.Run(fmt.Sprint(asked), func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "as", "server")
			run(t, l, "bind", "server", "127.0.0.1", "0")
			rep := run(t, l, "listen", "server", fmt.Sprint(asked))
			if got := Read(sock(t, l, "server")).Backlog; got != limit {
				t.Fatalf("the kernel's backlog is %d, want the cap %d", got, limit)
			}
			wantSays(t, "listen", rep, fmt.Sprintf("up to %d may wait", limit+1),
				fmt.Sprintf("you asked for a backlog of %d, but this machine caps any backlog at net.core.somaxconn = %d", asked, limit))
		})
	}
}

// TestListenOnAConnection calls listen on sockets that are or were a
// connection's end: the kernel refuses each with EINVAL, and the report
// names the state the kernel reports for it, not "connected" for a socket
// still connecting or one whose connection is over.
func TestListenOnAConnection(t *testing.T) {
	says := map[TCPState]string{
		Established: "is connected to a peer",
		SynSent:     "is connecting: its connect sent SYN",
		Closed:      "'s connection is over",
	}
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, l *Lab) // leaves the socket "client"
	}{
		{"connected", func(t *testing.T, l *Lab) { pair(t, l, families[0]) }},
		{"connecting to a full queue", func(t *testing.T, l *Lab) {
			port := hangingConnect(t, l, families[0])
			run(t, l, "option", "client", "nonblock", "on")
			try(t, l, "connect", "client", "127.0.0.1", port)
		}},
		{"reset when its listener closed", func(t *testing.T, l *Lab) {
			port := listener(t, l, families[0], "server")
			run(t, l, "socket", "as", "client")
			run(t, l, "connect", "client", "127.0.0.1", port)
			run(t, l, "close", "server")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			tt.setup(t, l)
			state := Read(sock(t, l, "client")).State
			want, ok := says[state]
			if !ok {
				t.Fatalf("the kernel says client is %s: the test's premise failed", state)
			}
			got := foldParagraphs(refused(t, l, unix.EINVAL, "listen", "client").Failure.ForStep)
			if !strings.Contains(got, want) {
				t.Errorf("client is %s: got %q, want %q in it", state, got, want)
			}
			for other, not := range says {
				if other != state && strings.Contains(got, not) {
					t.Errorf("client is %s: got %q, want no %q in it", state, got, not)
				}
			}
		})
	}
}
