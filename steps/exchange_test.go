package steps

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// wantSays fails the test unless the report's sentences contain each of the
// given pieces, which the tests build from what the kernel reports.
func wantSays(t *testing.T, what string, rep *Report, pieces ...string) {
	t.Helper()
	for _, p := range pieces {
		if !strings.Contains(rep.Says, p) {
			t.Errorf("%s: got says %q, want it to contain %q", what, rep.Says, p)
		}
	}
}

// wantState fails the test unless the report's state line for who ends in
// a state containing want.
func wantState(t *testing.T, what string, rep *Report, who *Socket, want string) {
	t.Helper()
	for _, c := range rep.State {
		if c.Who == who.Label() {
			if !strings.Contains(c.After, want) {
				t.Errorf("%s: got state of %s %q, want it to contain %q", what, c.Who, c.After, want)
			}
			return
		}
	}
	t.Errorf("%s: got no state line for %s in %+v, want one with %q", what, who.Label(), rep.State, want)
}

func wantKernelState(t *testing.T, what string, s *Socket, want TCPState) Snapshot {
	t.Helper()
	snap := Read(s)
	if !snap.FromKernel || snap.State != want {
		t.Errorf("%s: got kernel state %s of %s, want %s", what, snap.State, s.Label(), want)
	}
	return snap
}

// TestTutorialExchange plays the tutorial's exchange by hand, as its
// figure orders it, and holds every report against the kernel's own word.
func TestTutorialExchange(t *testing.T) {
	const greeting = "You are connected"
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)

			rep := run(t, l, "socket", "tcp", f.name, "as", "server")
			server := sock(t, l, "server")
			if want := fmt.Sprintf("= %d", server.FD); !strings.HasSuffix(rep.Call, want) {
				t.Errorf("socket: got call %q, want it to end %q", rep.Call, want)
			}
			wantSays(t, "socket", rep, fmt.Sprintf("file descriptor %d", server.FD))
			wantKernelState(t, "socket", server, Closed)

			rep = run(t, l, "bind", "server", f.loopback, "0")
			bound := Read(server)
			if !bound.Bound() || bound.Local.Addr().String() != f.loopback {
				t.Fatalf("bind: got local address %s, want %s and a port", ShowAddr(bound.Local), f.loopback)
			}
			port := fmt.Sprint(bound.Local.Port())
			wantSays(t, "bind", rep, ": "+port+".", bound.Local.String())
			if want := fmt.Sprintf("bind(%d, ", server.FD); !strings.HasPrefix(rep.Call, want) {
				t.Errorf("bind: got call %q, want it to start %q", rep.Call, want)
			}

			rep = run(t, l, "listen", "server")
			snap := wantKernelState(t, "listen", server, Listen)
			wantState(t, "listen", rep, server, "LISTEN")
			wantState(t, "listen", rep, server, fmt.Sprintf("accept queue %d/%d", snap.AcceptQueue, snap.Backlog))
			wantSays(t, "listen", rep, fmt.Sprintf("up to %d may wait, one more than the backlog of %d", snap.Backlog+1, snap.Backlog), bound.Local.String())
			if want := fmt.Sprintf("connect c %s %d", bound.Local.Addr(), bound.Local.Port()); !strings.Contains(rep.Next, want) {
				t.Errorf("listen: got next %q, want it to suggest %q", rep.Next, want)
			}

			run(t, l, "socket", "tcp", f.name, "as", "client")
			client := sock(t, l, "client")
			rep = run(t, l, "connect", "client", f.loopback, port)
			queued := wantKernelState(t, "connect", server, Listen)
			if queued.AcceptQueue != 1 {
				t.Errorf("connect: got accept queue %d, want 1", queued.AcceptQueue)
			}
			cs := wantKernelState(t, "connect", client, Established)
			wantState(t, "connect", rep, client, "ESTABLISHED")
			wantState(t, "connect", rep, server, fmt.Sprintf("accept queue %d/%d", queued.AcceptQueue, queued.Backlog))
			if want := "accept server as conn"; rep.Next != want {
				t.Errorf("connect: got next %q, want %q", rep.Next, want)
			}
			wantSays(t, "connect", rep,
				fmt.Sprintf("from %s to %s", cs.Local, cs.Remote),
				fmt.Sprintf("(%d/%d)", queued.AcceptQueue, queued.Backlog),
				fmt.Sprintf("local port %d", cs.Local.Port()))

			rep = run(t, l, "accept", "server", "as", "conn")
			conn := sock(t, l, "conn")
			ks := wantKernelState(t, "accept", conn, Established)
			if ks.Remote != cs.Local || ks.Local != cs.Remote {
				t.Errorf("accept: got %s ↔ %s, want the client's ends %s ↔ %s", ks.Local, ks.Remote, cs.Remote, cs.Local)
			}
			if want := fmt.Sprintf("accept(%d) = %d  peer %s", server.FD, conn.FD, cs.Local); rep.Call != want {
				t.Errorf("accept: got call %q, want %q", rep.Call, want)
			}
			if q := Read(server).AcceptQueue; q != 0 {
				t.Errorf("accept: got accept queue %d, want 0", q)
			}
			wantSays(t, "accept", rep, conn.Label(), "client at "+cs.Local.String())
			if conn.AcceptedFrom != "server" {
				t.Errorf("accept: got AcceptedFrom %q, want %q", conn.AcceptedFrom, "server")
			}

			exchange := []struct {
				from, to *Socket
				text     string
			}{
				{conn, client, greeting},
				{client, conn, "Hello Server, I have connected on port " + port},
			}
			for _, x := range exchange {
				rep = run(t, l, "send", x.from.Name, x.text)
				if want := fmt.Sprintf("= %d", len(x.text)); !strings.HasSuffix(rep.Call, want) {
					t.Errorf("send %s: got call %q, want it to end %q", x.from.Name, rep.Call, want)
				}
				waiting := Read(x.to)
				if waiting.RecvQ != len(x.text) {
					t.Errorf("send %s: got %d bytes in %s's receive queue, want %d", x.from.Name, waiting.RecvQ, x.to.Name, len(x.text))
				}
				wantSays(t, "send "+x.from.Name, rep, fmt.Sprintf("copied %d bytes", len(x.text)),
					fmt.Sprintf("%s's receive queue (%d bytes)", x.to.Label(), waiting.RecvQ))

				rep = run(t, l, "recv", x.to.Name)
				if !bytes.Equal(rep.Data, []byte(x.text)) {
					t.Errorf("recv %s: got %q, want %q", x.to.Name, rep.Data, x.text)
				}
				if want := fmt.Sprintf("recv(%d, %d) = %d", x.to.FD, DefaultBufSize, len(x.text)); rep.Call != want {
					t.Errorf("recv %s: got call %q, want %q", x.to.Name, rep.Call, want)
				}
				wantSays(t, "recv "+x.to.Name, rep, fmt.Sprintf("the %d bytes", len(rep.Data)), fmt.Sprintf("%d-byte buffer", DefaultBufSize))
				if q := Read(x.to).RecvQ; q != 0 {
					t.Errorf("recv %s: got %d bytes still queued, want 0", x.to.Name, q)
				}
			}

			// The client closes first, as in the tutorial. Its end goes on
			// through FIN_WAIT1 and FIN_WAIT2 on the kernel's timers (the
			// peer may delay its ACK), so the narration must name a state
			// no later than the one the kernel reports just after it.
			clientEnd := Read(client)
			rep = run(t, l, "close", "client")
			firstState, ok := ConnectionState(clientEnd.Local, clientEnd.Remote)
			if !ok {
				t.Fatalf("close client: the kernel's table has no connection %s → %s", clientEnd.Local, clientEnd.Remote)
			}
			said := -1
			closing := []TCPState{FinWait1, FinWait2, TimeWait}
			for i, st := range closing {
				if strings.Contains(rep.Says, "now "+st.String()) {
					said = i
				}
			}
			if now := slices.Index(closing, firstState); said < 0 || now < said {
				t.Errorf("close client: got says %q, want it to name the state the kernel reports, %s, or an earlier one", rep.Says, firstState)
			} else {
				wantState(t, "close client", rep, client, "connection "+closing[said].String())
			}

			rep = run(t, l, "recv", "conn")
			if len(rep.Data) != 0 || !strings.HasSuffix(rep.Call, "= 0") {
				t.Errorf("recv after close: got %q (%q), want 0 bytes", rep.Data, rep.Call)
			}
			wantKernelState(t, "recv after close", conn, CloseWait)
			wantSays(t, "recv after close", rep, "0 bytes", CloseWait.String(), clientEnd.Local.String())

			rep = run(t, l, "close", "conn")
			last, ok := ConnectionState(clientEnd.Local, clientEnd.Remote)
			if !ok || last != TimeWait {
				t.Errorf("close conn: got the first closer's end %s (found %v), want %s", last, ok, TimeWait)
			}
			if c, ok := tableEntry(t, clientEnd.Local, clientEnd.Remote); !ok || c.State != TimeWait || c.Inode != 0 {
				t.Errorf("close conn: got no %s entry for %s → %s without a descriptor in Connections()", TimeWait, clientEnd.Local, clientEnd.Remote)
			}
			wantSays(t, "close conn", rep, last.String(), clientEnd.Local.String())

			rep = run(t, l, "close", "server")
			wantSays(t, "close server", rep, bound.Local.String()+" is free")
			if n := len(l.Sockets()); n != 0 {
				t.Errorf("got %d sockets left, want 0", n)
			}
		})
	}
}
