package steps

import (
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCloseNamesTheEndInTimeWait closes both ends of a connection, each
// end first, with the other end in the lab or held by no lab, in both
// families, and checks the second close's report against the kernel's
// table: the sentence about TIME_WAIT names, by its address, the end that
// closed first, which the kernel holds in TIME_WAIT, and says it is not
// the end just closed.
func TestCloseNamesTheEndInTimeWait(t *testing.T) {
	for _, f := range families {
		for _, tt := range []struct {
			name          string
			first, second string // "outside": the socket no lab holds
		}{
			{"the server's end first", "conn", "client"},
			{"the client first", "client", "conn"},
			{"a client outside the lab first", "outside", "conn"},
		} {
			t.Run(f.name+" "+tt.name, func(t *testing.T) {
				l := newLab(t)
				port := listener(t, l, f, "server")
				if tt.first == "outside" {
					fd := outsideClient(t, f, port)
					run(t, l, "accept", "server", "as", "conn")
					unix.Close(*fd)
					*fd = -1
				} else {
					run(t, l, "socket", "tcp", f.name, "as", "client")
					run(t, l, "connect", "client", f.loopback, port)
					run(t, l, "accept", "server", "as", "conn")
					run(t, l, "close", tt.first)
				}
				last := Read(sock(t, l, tt.second))
				// The first end's FIN reaches the second within a moment on loopback.
				for deadline := time.Now().Add(time.Second); last.State != CloseWait && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
					last = Read(sock(t, l, tt.second))
				}
				rep := run(t, l, "close", tt.second)
				holder := last.Remote
				if st, ok := ConnectionState(holder, last.Local); !ok || st != TimeWait {
					t.Fatalf("the kernel has %v at %v (found %v), want TIME_WAIT at the end that closed first", st, holder, ok)
				}
				if st, ok := ConnectionState(last.Local, holder); ok && st == TimeWait {
					t.Fatalf("the kernel has TIME_WAIT at %v too", last.Local)
				}
				wantSays(t, "close "+tt.second, rep, "The other end, "+holder.String()+", closed first, so that end, not this one, stays in TIME_WAIT")
				if n := strings.Count(rep.Says, "TIME_WAIT"); n != 1 {
					t.Errorf("close %s: got %q, want TIME_WAIT told once", tt.second, rep.Says)
				}
			})
		}
	}
}

// TestCloseAfterShutdownNamesThisEndsTimeWait: a client that shut its
// side first (shutdown write) and then got the server's FIN is CLOSED
// while its descriptor is open, and the kernel holds its end in TIME_WAIT
// without it. Its close says so, by the address, and only when the
// kernel's table has that end in TIME_WAIT: a socket that never connected
// gets no such sentence.
func TestCloseAfterShutdownNamesThisEndsTimeWait(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			client := Read(sock(t, l, "client"))
			run(t, l, "shutdown", "client", "write")
			run(t, l, "recv", "conn", "--timeout", "2s")
			run(t, l, "close", "conn")
			st, ok := ConnectionState(client.Local, client.Remote)
			for deadline := time.Now().Add(time.Second); st != TimeWait && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
				st, ok = ConnectionState(client.Local, client.Remote)
			}
			if !ok || st != TimeWait || Read(sock(t, l, "client")).State != Closed {
				t.Fatalf("the kernel has the client's end %v (found %v) and the socket %v, want TIME_WAIT and CLOSED", st, ok, Read(sock(t, l, "client")).State)
			}
			rep := run(t, l, "close", "client")
			wantSays(t, "close client", rep, "this end, "+client.Local.String()+",", "TIME_WAIT")
			if st, ok := ConnectionState(client.Local, client.Remote); !ok || st != TimeWait {
				t.Errorf("after close the kernel has the client's end %v (found %v); the report says TIME_WAIT goes on", st, ok)
			}
			run(t, l, "socket", "tcp", f.name, "as", "fresh")
			if rep := run(t, l, "close", "fresh"); strings.Contains(rep.Says, "TIME_WAIT") {
				t.Errorf("close of a socket that never connected: %q, want no TIME_WAIT", rep.Says)
			}
		})
	}
}

// outsideClient is a TCP socket of family f that no lab holds, connected
// to port on loopback. The test closes it, unless *fd is -1 by then.
func outsideClient(t *testing.T, f family, port string) *int {
	t.Helper()
	domain, sa := f.at(t, port)
	fd, err := unix.Socket(domain, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if fd >= 0 {
			unix.Close(fd)
		}
	})
	if err := unix.Connect(fd, sa); err != nil {
		t.Fatal(err)
	}
	return &fd
}

// TestCloseSaysWhoSentTheFIN closes a connection after each order of
// shutdown and the peer's close, in both families: close sends a FIN only
// when the kernel has the socket ESTABLISHED or CLOSE_WAIT as it closes
// it; after shutdown write, the FIN went with the shutdown, and close
// must not say it sent one.
func TestCloseSaysWhoSentTheFIN(t *testing.T) {
	for _, f := range families {
		for _, tt := range []struct {
			name  string
			steps [][]string
		}{
			{"shutdown write, then close", [][]string{{"shutdown", "conn", "write"}}},
			{"data, shutdown write, then close", [][]string{{"send", "conn", "hi"}, {"shutdown", "conn", "write"}}},
			{"the peer's FIN, shutdown write, then close", [][]string{{"close", "client"}, {"recv", "conn", "--timeout", "2s"}, {"shutdown", "conn", "write"}}},
			{"the peer's FIN, then close", [][]string{{"close", "client"}, {"recv", "conn", "--timeout", "2s"}}},
			{"shutdown read, then close", [][]string{{"shutdown", "conn", "read"}}},
			{"close alone", nil},
		} {
			t.Run(f.name+" "+tt.name, func(t *testing.T) {
				l := newLab(t)
				pair(t, l, f)
				for _, st := range tt.steps {
					run(t, l, st[0], st[1:]...)
				}
				before := Read(sock(t, l, "conn"))
				rep := run(t, l, "close", "conn")
				sends := before.State == Established || before.State == CloseWait
				said := strings.Contains(rep.Says, "he kernel sent FIN")
				var fins int
				for _, p := range rep.Packets {
					if p.What == "FIN" {
						fins++
					}
				}
				if said != sends || (fins == 1) != sends {
					t.Errorf("close from %v: says %q, packets %v; want a FIN told sent by close: %v", before.State, rep.Says, rep.Packets, sends)
				}
				if !sends && !strings.Contains(rep.Says, "close sent nothing") {
					t.Errorf("close from %v: says %q, want it said that close sent nothing", before.State, rep.Says)
				}
			})
		}
	}
}

// TestCloseTellsOfAFINThatCameAsItClosed: the peer's FIN may come in
// between the read of the state shown before close (ESTABLISHED) and
// the close itself, as when the tutorial's server closes while auto
// client reads its greeting. close then finds the peer closed already,
// and says that its FIN came after the state shown was read, so that the
// state line and the sentence agree; where the FIN came before the read
// (CLOSE_WAIT shown), or not at all, it says nothing of it. The peer's
// shutdown is made inside the close call's hook, after the state is read.
func TestCloseTellsOfAFINThatCameAsItClosed(t *testing.T) {
	const between = "its FIN came in after the state above was read"
	for _, f := range families {
		for _, tt := range []struct {
			name          string
			before, inner bool // the peer shuts its writing before the state is read, or inside close
			wantBefore    TCPState
		}{
			{"the FIN comes as close is called", false, true, Established},
			{"the FIN came before", true, false, CloseWait},
			{"no FIN", false, false, Established},
		} {
			t.Run(f.name+" "+tt.name, func(t *testing.T) {
				l := newLab(t)
				pair(t, l, f)
				client, conn := sock(t, l, "client"), sock(t, l, "conn")
				closeWait := func() {
					for deadline := time.Now().Add(2 * time.Second); Read(client).State != CloseWait; time.Sleep(time.Millisecond) {
						if time.Now().After(deadline) {
							t.Fatalf("client is %v 2s after the peer's shutdown; want CLOSE_WAIT", Read(client).State)
						}
					}
				}
				if tt.before {
					run(t, l, "shutdown", "conn", "write")
					closeWait()
				}
				saveHooks(t)
				real := closeCall
				closeCall = func(fd int) error {
					if tt.inner && fd == client.FD {
						if err := unix.Shutdown(conn.FD, unix.SHUT_WR); err != nil {
							t.Fatal(err)
						}
						closeWait()
					}
					return real(fd)
				}
				rep := run(t, l, "close", "client")
				if got := rep.State[0].Before; !strings.HasPrefix(got, tt.wantBefore.String()) {
					t.Fatalf("state before close %q; want %v", got, tt.wantBefore)
				}
				if strings.Contains(rep.Says, between) != tt.inner {
					t.Errorf("close from %v says %q; want %q said: %v", tt.wantBefore, rep.Says, between, tt.inner)
				}
				if tt.wantBefore != Established || tt.inner {
					if !strings.Contains(rep.Says, "closed already") {
						t.Errorf("close says %q; want the peer told closed already", rep.Says)
					}
				}
			})
		}
	}
}

// TestCloseTellsThePeerItsFIN: a close that sends FIN and leaves the
// connection to the kernel tells of the peer in the lab, once the kernel
// has it CLOSE_WAIT, that its recv returns 0 bytes once it has read what
// is queued; recv then returns the bytes queued, then 0.
func TestCloseTellsThePeerItsFIN(t *testing.T) {
	for _, f := range families {
		for _, tt := range []struct {
			name  string
			steps [][]string
		}{
			{"close alone", nil},
			{"bytes queued for the peer", [][]string{{"send", "conn", "hi"}}},
			{"after shutdown write", [][]string{{"send", "conn", "hi"}, {"shutdown", "conn", "write"}}},
		} {
			t.Run(f.name+" "+tt.name, func(t *testing.T) {
				l := newLab(t)
				pair(t, l, f)
				for _, st := range tt.steps {
					run(t, l, st[0], st[1:]...)
				}
				rep := run(t, l, "close", "conn")
				client := sock(t, l, "client")
				snap := Read(client)
				if snap.State != CloseWait {
					t.Skipf("the kernel has client %v, not CLOSE_WAIT, after close", snap.State)
				}
				wantSays(t, "close conn", rep, client.Label()+" is now CLOSE_WAIT: its recv returns 0 bytes once it has read what is queued")
				if got := run(t, l, "recv", "client", "--timeout", "2s"); len(got.Data) != snap.RecvQ {
					t.Errorf("recv client: got %d bytes, want the %d queued", len(got.Data), snap.RecvQ)
				}
				if snap.RecvQ > 0 {
					if got := run(t, l, "recv", "client", "--timeout", "2s"); len(got.Data) != 0 {
						t.Errorf("recv client once the queue is read: got %q, want 0 bytes", got.Data)
					}
				}
			})
		}
	}
}

// TestStoppedListenerResetsItsQueue stops a listener, by close or by
// shutdown of reading, with connections never accepted, of the lab's
// clients (one had shut down writing) and of one outside it, and one
// accepted: the report names the lab's clients whose connections were
// reset, shows them CLOSED, and tells of any other client in general; its
// diagram draws an RST to each of the lab's and to no other; and each
// client's next call fails with ECONNRESET, after which recv returns 0
// bytes and send fails with EPIPE, as it says.
func TestStoppedListenerResetsItsQueue(t *testing.T) {
	for _, tt := range []struct {
		name    string
		clients []string // of the lab; "shut" then shuts down writing
		outside bool     // and a client outside the lab
		close   string   // what close says
		shut    string   // what shutdown read says
	}{
		{"one", []string{"a"}, false,
			"The connection still waiting in its accept queue was reset (RST): its client, a (fd 8), is now CLOSED, and its next call fails with ECONNRESET; after that, recv a returns 0 bytes and send a fails with EPIPE.",
			"the connection that waited in its accept queue was reset (RST): its client, a (fd 8), is now CLOSED, and its next call fails with ECONNRESET; after that, recv a returns 0 bytes and send a fails with EPIPE."},
		{"two", []string{"a", "b"}, false,
			"The 2 connections still waiting in its accept queue were reset (RST). a (fd 8) and b (fd 9) are now CLOSED: the next call on each fails with ECONNRESET, and after that recv returns 0 bytes and send fails with EPIPE.",
			"the 2 connections that waited in its accept queue were reset (RST): a (fd 8) and b (fd 9) are now CLOSED, the next call on each fails with ECONNRESET, and after that recv returns 0 bytes and send fails with EPIPE."},
		{"one shut down writing", []string{"shut"}, false,
			"its client, shut (fd 8), is now CLOSED", "its client, shut (fd 8), is now CLOSED"},
		{"one outside", nil, true,
			"The connection still waiting in its accept queue was reset (RST): its client, if it still holds its socket, sees ECONNRESET at its next call.",
			"the connection that waited in its accept queue was reset (RST): its client, if it still holds its socket, sees ECONNRESET at its next call."},
		{"one of the lab's, one outside", []string{"a"}, true,
			"The 2 connections still waiting in its accept queue were reset (RST). a (fd 8) is now CLOSED: the next call on it fails with ECONNRESET, and after that recv returns 0 bytes and send fails with EPIPE. Any other client that still holds its socket sees ECONNRESET at its next call.",
			"the 2 connections that waited in its accept queue were reset (RST): a (fd 8) is now CLOSED, the next call on it fails with ECONNRESET, and after that recv returns 0 bytes and send fails with EPIPE; any other client that still holds its socket sees ECONNRESET at its next call."},
	} {
		for _, stop := range [][]string{{"close", "server"}, {"shutdown", "server", "read"}} {
			t.Run(tt.name+", "+stop[0], func(t *testing.T) {
				want := tt.close
				if stop[0] == "shutdown" {
					want = tt.shut
				}
				l := newLab(t)
				port := listener(t, l, families[0], "server")
				run(t, l, "socket", "as", "served")
				run(t, l, "connect", "served", "127.0.0.1", port)
				run(t, l, "accept", "server", "as", "conn")
				var resets []Packet
				for _, c := range tt.clients {
					run(t, l, "socket", "as", c)
					run(t, l, "connect", c, "127.0.0.1", port)
					if c == "shut" {
						run(t, l, "shutdown", c, "write")
					}
					resets = append(resets, Packet{From: "server", To: c, What: "RST"})
				}
				var outside *int
				if tt.outside {
					outside = outsideClient(t, families[0], port)
				}
				rep := run(t, l, stop[0], stop[1:]...)
				if says := foldParagraphs(rep.Says); !strings.Contains(says, want) {
					t.Errorf("got %q, want %q", says, want)
				}
				if !slices.Equal(rep.Packets, resets) {
					t.Errorf("got packets %v, want %v", rep.Packets, resets)
				}
				for _, c := range tt.clients {
					shown := slices.ContainsFunc(rep.State, func(ch Change) bool {
						return ch.Who == sock(t, l, c).Label() && strings.HasPrefix(ch.After, "CLOSED")
					})
					if !shown {
						t.Errorf("got state lines %+v, want %s shown CLOSED", rep.State, c)
					}
				}
				wantKernelState(t, "the accepted client", sock(t, l, "served"), Established)
				for _, c := range tt.clients {
					refused(t, l, unix.ECONNRESET, "recv", c, "--timeout", "1s")
					if rep := run(t, l, "recv", c, "--timeout", "1s"); len(rep.Data) != 0 || rep.Stopped {
						t.Errorf("recv %s after the reset: got %q (%s), want 0 bytes", c, rep.Data, rep.Call)
					}
					refused(t, l, unix.EPIPE, "send", c, "more")
				}
				if outside != nil {
					if _, err := unix.Read(*outside, make([]byte, 1)); err != unix.ECONNRESET {
						t.Errorf("read from the client outside the lab: got %v, want ECONNRESET", err)
					}
				}
			})
		}
	}
}

// TestCloseResetAfterShutdownsFIN resets a connection at close, for bytes
// nobody read or for SO_LINGER 0, after a shutdown write or not, in both
// families: the RST replaces the FIN only where shutdown had sent none;
// after one, the peer, CLOSE_WAIT, had the FIN before the reset, and close
// must not tell of a reset instead of FIN.
func TestCloseResetAfterShutdownsFIN(t *testing.T) {
	for _, f := range families {
		for _, tt := range []struct {
			name  string
			steps [][]string // before close conn
			shut  bool       // they end with shutdown conn write
		}{
			{"bytes unread", [][]string{{"send", "client", "hi"}}, false},
			{"bytes unread after shutdown", [][]string{{"send", "client", "hi"}, {"shutdown", "conn", "write"}}, true},
			{"SO_LINGER 0", [][]string{{"option", "conn", "SO_LINGER", "on", "0"}}, false},
			{"SO_LINGER 0 after shutdown", [][]string{{"option", "conn", "SO_LINGER", "on", "0"}, {"shutdown", "conn", "write"}}, true},
		} {
			t.Run(f.name+" "+tt.name, func(t *testing.T) {
				l := newLab(t)
				pair(t, l, f)
				for _, st := range tt.steps {
					run(t, l, st[0], st[1:]...)
				}
				// On loopback the FIN has arrived when shutdown returns.
				want := Established
				if tt.shut {
					want = CloseWait
				}
				if peer := wantKernelState(t, "the peer before close", sock(t, l, "client"), want); peer.State != want {
					t.FailNow()
				}
				rep := run(t, l, "close", "conn")
				if !slices.Equal(rep.Packets, []Packet{{From: "conn", To: "client", What: "RST"}}) {
					t.Fatalf("close: got packets %v, want an RST", rep.Packets)
				}
				says := foldParagraphs(rep.Says)
				if strings.Contains(says, "instead of FIN") == tt.shut || strings.Contains(says, "after shutdown's FIN") != tt.shut {
					t.Errorf("close with the peer %s: got %q, want the reset told instead of FIN only where shutdown had sent none", want, says)
				}
			})
		}
	}
}
