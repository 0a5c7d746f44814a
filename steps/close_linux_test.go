package steps

import (
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
