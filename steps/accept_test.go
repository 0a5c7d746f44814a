package steps

import (
	"fmt"
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

// TestAcceptAClientThatHasClosed accepts connections whose client closed
// its side while they waited in the queue: the new socket is CLOSE_WAIT,
// and accept says so, and that recv returns what the client sent, then 0
// bytes, which the calls it suggests then do.
func TestAcceptAClientThatHasClosed(t *testing.T) {
	tests := []struct {
		name   string
		steps  [][]string // the client's, before accept
		closed bool       // the client closed its socket, rather than shut down writing
	}{
		{"closed after sending", [][]string{{"send", "client", "hello"}, {"close", "client"}}, true},
		{"closed without sending", [][]string{{"close", "client"}}, true},
		{"shut down writing", [][]string{{"send", "client", "hi"}, {"shutdown", "client", "write"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			port := listener(t, l, families[0], "server")
			run(t, l, "socket", "as", "client")
			run(t, l, "connect", "client", "127.0.0.1", port)
			for _, step := range tt.steps {
				run(t, l, step[0], step[1:]...)
			}
			rep := run(t, l, "accept", "server", "as", "conn")
			queued := wantKernelState(t, "accept", sock(t, l, "conn"), CloseWait).RecvQ
			sent := "0 bytes"
			if queued > 0 {
				sent = fmt.Sprintf("the %d bytes it sent, then 0 bytes", queued)
			}
			wantSays(t, "accept", rep, "the client had already closed its side: its FIN came while the connection waited in the queue, so conn (fd", "is CLOSE_WAIT. recv conn returns "+sent+": nothing more will come.")
			if strings.Contains(rep.Says, "Talk to that client") {
				t.Errorf("got %q, want no invitation to talk to a client that has gone", rep.Says)
			}
			if rep.Next != "recv conn" {
				t.Fatalf("got next %q, want recv conn", rep.Next)
			}
			if queued > 0 {
				if got := run(t, l, "recv", "conn", "--timeout", "1s").Data; len(got) != queued {
					t.Errorf("recv conn: got %q, want the %d bytes queued", got, queued)
				}
			}
			if rep := run(t, l, "recv", "conn", "--timeout", "1s"); len(rep.Data) != 0 || rep.Stopped {
				t.Errorf("recv conn: got %q (%s), want 0 bytes", rep.Data, rep.Call)
			}
			// A send reaches a client that only shut down writing; a
			// closed one's kernel answers with a reset.
			run(t, l, "send", "conn", "late")
			if tt.closed {
				wantKernelState(t, "send to a closed client", sock(t, l, "conn"), Closed)
			} else if got := run(t, l, "recv", "client", "--timeout", "1s").Data; string(got) != "late" {
				t.Errorf("recv client: got %q, want what conn sent", got)
			}
		})
	}
}

// TestAcceptSaysHowManyStillWait accepts one of several queued clients and
// wants accept to give the number the kernel leaves in the queue, with
// its verb agreeing.
func TestAcceptSaysHowManyStillWait(t *testing.T) {
	for _, tt := range []struct {
		clients int
		verb    string
	}{{2, "waits"}, {3, "wait"}} {
		t.Run(fmt.Sprint(tt.clients, " clients"), func(t *testing.T) {
			l := newLab(t)
			port := listener(t, l, families[0], "server")
			for i := range tt.clients {
				name := fmt.Sprint("c", i)
				run(t, l, "socket", "as", name)
				run(t, l, "connect", name, "127.0.0.1", port)
			}
			rep := run(t, l, "accept", "server", "as", "conn")
			left := Read(sock(t, l, "server")).AcceptQueue
			wantSays(t, "accept", rep, fmt.Sprintf(", and %d more already %s in its queue.", left, tt.verb))
		})
	}
}
