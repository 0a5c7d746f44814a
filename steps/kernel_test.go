package steps

import (
	"net/netip"
	"testing"
)

// procState finds a connection in the kernel's whole table, as
// /proc/net/tcp lists it, without sock_diag.
func procState(t *testing.T, local, remote netip.AddrPort) (TCPState, bool) {
	t.Helper()
	c, ok := tableEntry(t, local, remote)
	return c.State, ok
}

// tableEntry finds a connection's line in /proc/net/tcp. The kernel writes
// that file a page per read call, and a line can be missed when other
// sockets come and go between two reads, so a line not found is looked for
// twice more.
func tableEntry(t *testing.T, local, remote netip.AddrPort) (Connection, bool) {
	t.Helper()
	for range 3 {
		conns, err := Connections()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range conns {
			if SameEnd(c.Local, local) && SameEnd(c.Remote, remote) {
				return c, true
			}
		}
	}
	return Connection{}, false
}

// checkConnectionState compares ConnectionState with the kernel's table
// for one end of a connection. A state can move on between two reads (a
// delayed ACK ends FIN_WAIT1), so the table is read between two answers
// of ConnectionState that agree.
func checkConnectionState(t *testing.T, what string, local, remote netip.AddrPort) TCPState {
	t.Helper()
	for range 5 {
		first, ok1 := ConnectionState(local, remote)
		table, inTable := procState(t, local, remote)
		second, ok2 := ConnectionState(local, remote)
		if first != second || ok1 != ok2 {
			continue
		}
		if ok1 != inTable || first != table {
			t.Errorf("%s: got %s (found %v), want %s (found %v) as in /proc/net/tcp", what, first, ok1, table, inTable)
		}
		if ok1 && first == Listen {
			t.Errorf("%s: got the listener's state for a connection", what)
		}
		return first
	}
	t.Errorf("%s: the state kept changing", what)
	return 0
}

// TestConnectionState follows both ends of a connection through its
// close, comparing what ConnectionState says with the kernel's table.
func TestConnectionState(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			c := Read(sock(t, l, "client"))
			clientEnd := func(what string) TCPState { return checkConnectionState(t, what+": client's end", c.Local, c.Remote) }
			serverEnd := func(what string) TCPState { return checkConnectionState(t, what+": server's end", c.Remote, c.Local) }

			if got := clientEnd("connected"); got != Established {
				t.Errorf("connected: got %s, want %s", got, Established)
			}
			if got := serverEnd("connected"); got != Established {
				t.Errorf("connected: got %s, want %s", got, Established)
			}
			run(t, l, "close", "client")
			if got := clientEnd("client closed"); got != FinWait1 && got != FinWait2 {
				t.Errorf("client closed: got %s, want %s or %s", got, FinWait1, FinWait2)
			}
			if got := serverEnd("client closed"); got != CloseWait {
				t.Errorf("client closed: got %s, want %s", got, CloseWait)
			}
			run(t, l, "close", "conn")
			if got := clientEnd("both closed"); got != TimeWait {
				t.Errorf("both closed: got %s, want %s", got, TimeWait)
			}
			serverEnd("both closed")
			if st, ok := ConnectionState(c.Remote, netip.AddrPortFrom(c.Local.Addr(), 1)); ok {
				t.Errorf("no such connection: got %s, want none", st)
			}
		})
	}
}

// TestReadListener checks what Read says about a listener and a
// connection against what the test did to them.
func TestReadListener(t *testing.T) {
	l := newLab(t)
	port := listener(t, l, families[0], "server", "5")
	server := sock(t, l, "server")
	if snap := Read(server); snap.State != Listen || snap.Backlog != 5 || snap.AcceptQueue != 0 || snap.Readable {
		t.Errorf("listening: got %s queue %d/%d readable %v, want %s queue 0/5 not readable", snap.State, snap.AcceptQueue, snap.Backlog, snap.Readable, Listen)
	}
	for _, name := range []string{"a", "b", "c"} {
		run(t, l, "socket", "as", name)
		run(t, l, "connect", name, "127.0.0.1", port)
	}
	if snap := Read(server); snap.AcceptQueue != 3 || !snap.Readable {
		t.Errorf("three waiting: got queue %d readable %v, want 3 and readable", snap.AcceptQueue, snap.Readable)
	}
	run(t, l, "accept", "server", "as", "conn")
	conn := sock(t, l, "conn")
	if snap := Read(conn); snap.Readable || !snap.Writable || snap.RecvQ != 0 || !snap.QueuesKnown || snap.NonBlocking {
		t.Errorf("accepted: got %+v, want writable, nothing queued, blocking", snap)
	}
	run(t, l, "send", "a", "12345")
	if snap := Read(conn); !snap.Readable || snap.RecvQ != 5 {
		t.Errorf("sent 5 bytes: got readable %v recv-q %d, want readable and 5", snap.Readable, snap.RecvQ)
	}
	run(t, l, "close", "a")
	if snap := Read(conn); !snap.PeerClosed() || snap.State != CloseWait {
		t.Errorf("peer closed: got %s peer closed %v, want %s and the peer closed", snap.State, snap.PeerClosed(), CloseWait)
	}
}
