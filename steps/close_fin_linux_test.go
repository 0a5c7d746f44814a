package steps

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFINHeldBehindAClosedWindow closes, or shuts down writing on, a
// client whose peer's receive window is closed, with everything sent
// acknowledged, in both families. A FIN needs room in the window too, so
// the kernel holds it back and runs the persist timer: neither close nor
// shutdown may say it sent FIN, nor draw one, the peer stays ESTABLISHED,
// and once the peer reads, the FIN reaches it, as the report says.
func TestFINHeldBehindAClosedWindow(t *testing.T) {
	for _, f := range families {
		for _, tt := range []struct {
			name   string
			before [][]string
			call   []string // the step whose report is judged
			says   []string // PEER stands for the peer's address
		}{
			{"close alone", nil, []string{"close", "client"},
				[]string{"the kernel has a FIN for PEER", "FIN_WAIT1: the peer's receive window is closed", "sends the FIN once the peer reads"}},
			{"close after shutdown write", [][]string{{"shutdown", "client", "write"}}, []string{"close", "client"},
				[]string{"shutdown had given the kernel this side's FIN for PEER", "FIN_WAIT1: the peer's receive window is closed", "sends the FIN once the peer reads"}},
			{"shutdown write", nil, []string{"shutdown", "client", "write"},
				[]string{"The kernel has a FIN for the peer but has not sent it", "persist timer", "sends the FIN once the peer reads"}},
		} {
			t.Run(f.name+" "+tt.name, func(t *testing.T) {
				l := newLab(t)
				closeWindow(t, l, f)
				for _, st := range tt.before {
					run(t, l, st[0], st[1:]...)
				}
				client := sock(t, l, "client")
				snap := Read(client)
				rep := run(t, l, tt.call[0], tt.call[1:]...)
				if st, _ := ConnectionState(snap.Local, snap.Remote); st != FinWait1 {
					t.Fatalf("right after %s: got %s, want FIN_WAIT1", tt.call[0], st)
				}
				if timer, ok := TimerOf(client, snap, snap.Remote); !ok || timer.Kind != PersistTimer {
					t.Fatalf("right after %s: got timer %+v (found %v), want the persist timer of a closed window", tt.call[0], timer, ok)
				}
				if st, _ := ConnectionState(snap.Remote, snap.Local); st != Established {
					t.Errorf("the peer's end: got %s, want ESTABLISHED: the FIN has not reached it", st)
				}
				says := foldParagraphs(rep.Says)
				for _, want := range tt.says {
					if want = strings.ReplaceAll(want, "PEER", ShowAddr(snap.Remote)); !strings.Contains(says, want) {
						t.Errorf("%s: got %q, want %q", tt.call[0], says, want)
					}
				}
				if strings.Contains(says, "sent FIN") || strings.Contains(says, "the FIN is not acknowledged yet") {
					t.Errorf("%s: got %q, want no FIN told sent", tt.call[0], says)
				}
				if slices.ContainsFunc(rep.Packets, func(p Packet) bool { return p.What == "FIN" }) {
					t.Errorf("%s: got packets %v, want no FIN drawn", tt.call[0], rep.Packets)
				}
				run(t, l, "recv", "conn", "--all")
				st, _ := ConnectionState(snap.Remote, snap.Local)
				for deadline := time.Now().Add(time.Second); st != CloseWait && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
					st, _ = ConnectionState(snap.Remote, snap.Local)
				}
				if st != CloseWait {
					t.Errorf("once the peer read: got its end %s, want CLOSE_WAIT: the FIN has come", st)
				}
			})
		}
	}
}

// closeWindow makes a listener server whose connections have a small
// receive buffer, a client connected to it with Nagle's algorithm off,
// and the accepted conn; then client sends exactly what conn's window has
// room for, until conn's kernel has acknowledged it all and offers no
// room: a closed window, with nothing of client's waiting to be sent.
func closeWindow(t *testing.T, l *Lab, f family) {
	t.Helper()
	// The window can close with bytes still waiting behind it, when the
	// receiver shrinks what it offers while they are on the way: then the
	// pair is made again, a few times at most.
	for range 5 {
		if windowClosed(t, l, f) {
			return
		}
		for _, name := range []string{"client", "conn", "server"} {
			run(t, l, "close", name)
		}
	}
	t.Fatal("conn's window did not close with nothing waiting behind it, in five tries")
}

// windowClosed makes the pair of closeWindow and fills conn's window. It
// says whether the window closed with nothing left waiting (within 2 s);
// on false the sockets stay open.
func windowClosed(t *testing.T, l *Lab, f family) bool {
	t.Helper()
	port := listener(t, l, f, "server")
	run(t, l, "option", "server", "SO_RCVBUF", "1000") // accepted sockets take the listener's
	run(t, l, "socket", "tcp", f.name, "as", "client")
	run(t, l, "option", "client", "TCP_NODELAY", "on")
	run(t, l, "connect", "client", f.loopback, port)
	run(t, l, "accept", "server", "as", "conn")
	client := sock(t, l, "client")
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		snap := Read(client)
		// Bytes not sent yet may be TCP waiting for an ACK before it sends
		// a segment smaller than it could (TSO deferral): they go with it.
		switch room := snap.window - (snap.SendQ - snap.NotSent); {
		case snap.window == 0 && snap.NotSent > 0:
			t.Logf("conn's window closed with %d bytes waiting behind it: trying again", snap.NotSent)
			return false // they wait until conn reads
		case snap.NotSent > 0:
		case snap.window == 0 && snap.SendQ == 0:
			return true
		case room > 0:
			run(t, l, "send", "client", "--bytes", strconv.Itoa(room))
		}
	}
	return false
}

// TestCloseCountsOnlyTheBytesNotSent sends bytes that wait for room in
// the peer's closed window, then shuts down writing and closes, in both
// families: TCP_INFO counts the FIN that shutdown queued behind them as
// one more byte not sent, but close tells only the bytes send had taken.
func TestCloseCountsOnlyTheBytesNotSent(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			closeWindow(t, l, f)
			run(t, l, "send", "client", "--bytes", "100")
			if waiting := Read(sock(t, l, "client")).NotSent; waiting != 100 {
				t.Fatalf("client has %d bytes not sent, want the 100 sent behind the closed window", waiting)
			}
			run(t, l, "shutdown", "client", "write")
			rep := run(t, l, "close", "client")
			if says, want := foldParagraphs(rep.Says), "100 bytes that send had taken were not sent yet"; !strings.Contains(says, want) {
				t.Errorf("close: got %q, want %q", says, want)
			}
		})
	}
}

// TestQueuesCountNoFIN shuts down writing on a client whose peer's window
// is closed, with nothing or 100 bytes waiting to be sent, in both
// families, and shuts it down again. The kernel counts the FIN as a byte
// of sequence space in SIOCOUTQ and tcpi_notsent_bytes while it waits;
// the Snapshot, the client's state line (seen as the peer sends it
// something) and the second shutdown's report count the bytes only.
func TestQueuesCountNoFIN(t *testing.T) {
	for _, f := range families {
		for _, tt := range []struct {
			name    string
			waiting int    // bytes sent behind the closed window before shutdown
			again   string // what the second shutdown says of the FIN
		}{
			{"FIN alone", 0, "its FIN is still held back by the kernel (the peer's receive window is closed)"},
			{"FIN behind bytes", 100, "its FIN still waits behind the 100 bytes queued before it"},
		} {
			t.Run(f.name+" "+tt.name, func(t *testing.T) {
				l := newLab(t)
				closeWindow(t, l, f)
				if tt.waiting > 0 {
					run(t, l, "send", "client", "--bytes", strconv.Itoa(tt.waiting))
				}
				run(t, l, "shutdown", "client", "write")
				client := sock(t, l, "client")
				outq, err := unix.IoctlGetInt(client.FD, unix.SIOCOUTQ)
				if err != nil || outq != tt.waiting+1 {
					t.Fatalf("SIOCOUTQ: got %d (%v), want %d: the bytes and the FIN", outq, err, tt.waiting+1)
				}
				if snap := Read(client); snap.SendQ != tt.waiting || snap.NotSent != tt.waiting {
					t.Errorf("Snapshot: got send-q %d, %d not sent; want %d and %d: the bytes, not the FIN", snap.SendQ, snap.NotSent, tt.waiting, tt.waiting)
				}
				rep := run(t, l, "send", "conn", "hi")
				want := fmt.Sprintf("FIN_WAIT1  recv-q 2  send-q %d", tt.waiting)
				if !slices.ContainsFunc(rep.State, func(c Change) bool { return strings.HasPrefix(c.Who, "client") && c.After == want }) {
					t.Errorf("send conn: got state lines %+v, want client's %q", rep.State, want)
				}
				if says := foldParagraphs(run(t, l, "shutdown", "client", "write").Says); !strings.Contains(says, tt.again) {
					t.Errorf("shutdown again: got %q, want %q", says, tt.again)
				}
			})
		}
	}
}

// TestFinWait1IsTheDelayedACK checks close's explanation of FIN_WAIT1 on
// loopback: the FIN has arrived (the peer is CLOSE_WAIT), yet the peer's
// kernel holds back its ACK of it, and the connection moves on to
// FIN_WAIT2 by itself, while the peer makes no call at all. Linux holds
// it back 40 ms or more once data has come to the peer, only until its
// next clock tick before: what counts is whether data has come to the
// peer, not whether it has read it, nor whether data went the other way.
// (Measured on Linux 6.18 at HZ=250: 40 to 45 ms once data had come, 1.5
// to 6 ms before.)
func TestFinWait1IsTheDelayedACK(t *testing.T) {
	tests := []struct {
		name     string
		before   [][]string // steps before close client
		says     []string
		min, max time.Duration // how long FIN_WAIT1 lasts
	}{
		// The kernel's timer counts in ticks (4 ms at HZ=250), so a
		// tick's less is allowed.
		{"after data", [][]string{{"send", "client", "hi"}, {"recv", "conn"}},
			[]string{"a delayed ACK of about 40 ms or more on Linux"}, 36 * time.Millisecond, time.Second},
		{"no data", nil,
			[]string{"a delayed ACK of a few milliseconds here (client (fd", "sent no data, and Linux waits about 40 ms only once data has come to the peer)"},
			0, 30 * time.Millisecond},
		{"the peer has not read", [][]string{{"send", "client", "hi"}},
			[]string{"a delayed ACK of about 40 ms or more on Linux, once data has come to the peer"}, 36 * time.Millisecond, time.Second},
		{"data came from the peer only", [][]string{{"send", "conn", "hi"}, {"recv", "client"}},
			[]string{"a delayed ACK of a few milliseconds here (client (fd"}, 0, 30 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A loaded machine can only lengthen what is measured, which
			// includes close's own reading of the kernel: a time above
			// the bound is measured again, up to three times.
			for try := 1; ; try++ {
				took, acked := finWait1Lasts(t, tt.before, tt.says)
				if !acked {
					return
				}
				if took >= tt.min && took <= tt.max {
					return
				}
				if took < tt.min || try == 3 {
					t.Fatalf("the ACK came %v after close, want between %v and %v", took, tt.min, tt.max)
				}
				t.Logf("the ACK came %v after close, above %v: measuring again", took, tt.max)
			}
		})
	}
}

// finWait1Lasts plays the steps before on a new pair, closes the client,
// checks what close says, and waits for the peer's ACK of the FIN. It
// returns how long after close the ACK came, or acked false when it came
// within the call, so that there was no FIN_WAIT1 to tell of.
func finWait1Lasts(t *testing.T, before [][]string, says []string) (took time.Duration, acked bool) {
	l := newLab(t)
	pair(t, l, families[0])
	for _, step := range before {
		run(t, l, step[0], step[1:]...)
	}
	client := Read(sock(t, l, "client"))
	closed := time.Now()
	rep := run(t, l, "close", "client")
	switch {
	case strings.Contains(rep.Says, "now FIN_WAIT2"):
		t.Logf("the ACK of the FIN came within the call: nothing to wait for")
		return 0, false
	case !strings.Contains(rep.Says, "now FIN_WAIT1"):
		t.Fatalf("close said %q, want FIN_WAIT1 or FIN_WAIT2", rep.Says)
	}
	wantSays(t, "close", rep, append([]string{"FIN_WAIT1: the FIN has arrived, since the other end is CLOSE_WAIT"}, says...)...)
	if st, _ := ConnectionState(client.Remote, client.Local); st != CloseWait {
		t.Errorf("the other end is %s, want CLOSE_WAIT: the FIN has arrived", st)
	}
	state, _ := ConnectionState(client.Local, client.Remote)
	deadline := time.Now().Add(time.Second)
	for state == FinWait1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		state, _ = ConnectionState(client.Local, client.Remote)
	}
	took = time.Since(closed)
	if state != FinWait2 {
		t.Fatalf("a second after close, with the peer doing nothing: got %s, want FIN_WAIT2", state)
	}
	return took, true
}

// TestLingerWaitsForTheACK closes, after some traffic, a socket with
// SO_LINGER on: where TestFinWait1IsTheDelayedACK finds FIN_WAIT1, close
// now returns only once the peer's kernel has acknowledged the FIN, as
// the report says.
func TestLingerWaitsForTheACK(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	run(t, l, "option", "client", "SO_LINGER", "on", "1") // 1: the singular is checked too
	run(t, l, "send", "client", "hi")
	run(t, l, "recv", "conn")
	client := Read(sock(t, l, "client"))
	rep := run(t, l, "close", "client")
	if state, _ := ConnectionState(client.Local, client.Remote); state != FinWait2 {
		t.Errorf("right after close with SO_LINGER on: got %s, want FIN_WAIT2", state)
	}
	if want := "SO_LINGER is on, so close waited for the peer to acknowledge"; !strings.Contains(rep.Says, want) {
		t.Errorf("got %q, want %q", rep.Says, want)
	}
}

// TestResetWhereShutdownsFINWasHeld closes, with a reset, a client whose
// shutdown queued a FIN that the peer's closed window still holds back:
// close must not tell the reset as coming after a FIN that never left.
func TestResetWhereShutdownsFINWasHeld(t *testing.T) {
	for _, f := range families {
		for _, tt := range []struct {
			name string
			why  []string // the step that makes close reset
		}{
			{"SO_LINGER 0", []string{"option", "client", "SO_LINGER", "on", "0"}},
			{"bytes unread", []string{"send", "conn", "hi"}},
		} {
			t.Run(f.name+" "+tt.name, func(t *testing.T) {
				l := newLab(t)
				closeWindow(t, l, f)
				run(t, l, "shutdown", "client", "write")
				run(t, l, tt.why[0], tt.why[1:]...)
				client := sock(t, l, "client")
				snap := Read(client)
				if timer, ok := TimerOf(client, snap, snap.Remote); snap.State != FinWait1 || !ok || timer.Kind != PersistTimer {
					t.Fatalf("before close: got %s, timer %+v (found %v), want FIN_WAIT1 with the persist timer", snap.State, timer, ok)
				}
				rep := run(t, l, "close", "client")
				if !slices.Equal(rep.Packets, []Packet{{From: "client", To: "conn", What: "RST"}}) {
					t.Fatalf("close: got packets %v, want an RST", rep.Packets)
				}
				says := foldParagraphs(rep.Says)
				if want := "instead of the FIN that shutdown had queued, which the peer's closed window held back"; !strings.Contains(says, want) {
					t.Errorf("close: got %q, want %q", says, want)
				}
				if strings.Contains(says, "after shutdown's FIN") {
					t.Errorf("close: got %q, want no FIN told sent", says)
				}
			})
		}
	}
}
