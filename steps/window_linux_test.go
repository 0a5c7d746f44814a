package steps

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestEndBeforeTheBytesWereSent closes, or shuts down for writing, a
// client whose peer has stopped reading, so that megabytes wait in its
// send queue behind a window of 0: the FIN cannot go, and the report must
// not say it went. The number of bytes not sent, and the closed window,
// are the kernel's (TCP_INFO, read here before the call); afterwards the
// peer is still ESTABLISHED (no FIN came) and the client's end FIN_WAIT1,
// and with SO_LINGER on 1 close waited a second for nothing.
func TestEndBeforeTheBytesWereSent(t *testing.T) {
	for _, tt := range []struct {
		linger []string
		end    []string
		says   []string
		least  time.Duration
	}{
		{[]string{"off"}, []string{"close", "client"}, []string{
			"%d bytes that send had taken were not sent yet, because the peer's receive window is full",
			"its FIN after them: the connection is FIN_WAIT1", "acknowledged all of it."}, 0},
		{[]string{"on", "1"}, []string{"close", "client"}, []string{
			"%d bytes that send had taken were not sent yet",
			"SO_LINGER is on, so close waited 1 second for that, and returned without it."}, time.Second},
		{[]string{"off"}, []string{"shutdown", "client", "write"}, []string{
			"The kernel will send FIN to the peer once the %d bytes queued before it have gone (they wait for the peer to read",
			"its recv returns 0 bytes once it has read everything sent"}, 0},
	} {
		t.Run(strings.Join(append(tt.end, tt.linger...), " "), func(t *testing.T) {
			l := newLab(t)
			pair(t, l, families[0])
			fill(t, l, "client", "--bytes", "16M", "--timeout", "300ms")
			run(t, l, "option", append([]string{"client", "SO_LINGER"}, tt.linger...)...)
			client := sock(t, l, "client")
			ends := Read(client)
			// The kernel goes on sending after fill's timeout, until the
			// window closes: on a loaded machine that can take a moment.
			var info *unix.TCPInfo
			for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				var err error
				if info, err = unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO); err != nil {
					t.Fatal(err)
				}
				if info.Snd_wnd == 0 || time.Now().After(deadline) {
					break
				}
			}
			if info.Notsent_bytes == 0 || info.Snd_wnd != 0 {
				t.Fatalf("before %s: %d bytes not sent, window %d; want bytes waiting behind a window of 0", tt.end[0], info.Notsent_bytes, info.Snd_wnd)
			}
			start := time.Now()
			rep := run(t, l, tt.end[0], tt.end[1:]...)
			took := time.Since(start)
			for _, want := range tt.says {
				if strings.Contains(want, "%d") {
					want = fmt.Sprintf(want, info.Notsent_bytes)
				}
				wantSays(t, tt.end[0], rep, want)
			}
			if strings.Contains(rep.Says, "sent FIN") || len(rep.Packets) != 0 {
				t.Errorf("%s says %q, packets %+v; want no FIN said or drawn", tt.end[0], rep.Says, rep.Packets)
			}
			if took < tt.least || took > tt.least+2*time.Second {
				t.Errorf("%s took %v, want %v or a little more", tt.end[0], took, tt.least)
			}
			if st, ok := ConnectionState(ends.Local, ends.Remote); !ok || st != FinWait1 {
				t.Errorf("the client's end is %v (found %v), want FIN_WAIT1", st, ok)
			}
			if st := Read(sock(t, l, "conn")).State; st != Established {
				t.Errorf("the peer is %v, want ESTABLISHED: no FIN has reached it", st)
			}
		})
	}
}

// TestSendBehindAFullWindow sends to a peer with a receive buffer of a
// few kilobytes that does not read: a bulk send leaves most of its bytes
// in the sender's queue, and a send after it is queued behind them. The
// reports must say so, with the kernel's counts (TCP_INFO, SIOCINQ), and
// the diagram draw only the bytes that reached the peer.
func TestSendBehindAFullWindow(t *testing.T) {
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	run(t, l, "option", "server", "SO_RCVBUF", "1000") // accepted sockets take the listener's
	run(t, l, "socket", "as", "client")
	run(t, l, "connect", "client", "127.0.0.1", port)
	run(t, l, "accept", "server", "as", "conn")
	client, conn := sock(t, l, "client"), sock(t, l, "conn")
	arrived := func() int {
		n, err := unix.IoctlGetInt(conn.FD, unix.SIOCINQ)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	bulk := fill(t, l, "client", "--bytes", "60000", "--timeout", "1s")
	if want := fmt.Sprintf("%d bytes", arrived()); len(bulk.Packets) != 1 || bulk.Packets[0].What != want && !strings.HasPrefix(bulk.Packets[0].What, want+" in ") {
		t.Errorf("send --bytes: packets %+v, want one of %s, what reached the peer", bulk.Packets, want)
	}
	info, err := unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		t.Fatal(err)
	}
	before := arrived()
	rep := run(t, l, "send", "client", "--timeout", "1s", "hello")
	wantSays(t, "send", rep, fmt.Sprintf("They have not left yet: they wait in %s's send queue, behind %d bytes of earlier sends, because the peer's receive window is full",
		client.Label(), info.Notsent_bytes))
	if strings.Contains(rep.Says, "already wait") || len(rep.Packets) != 0 {
		t.Errorf("send says %q, packets %+v; want the bytes neither said nor drawn to have arrived", rep.Says, rep.Packets)
	}
	if got := arrived(); got != before {
		t.Errorf("the peer's receive queue went from %d to %d bytes, want it unchanged", before, got)
	}
}

// TestRecvAllAsTheWindowOpens drains a receiver whose window the sender
// had filled, with megabytes more waiting at the sender: recv --all reads
// what was queued and what came while it read, and must say which was
// which, with the queue the kernel gave (SIOCINQ) before it began.
func TestRecvAllAsTheWindowOpens(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	fill(t, l, "client", "--bytes", "4M", "--timeout", "300ms")
	waiting, err := unix.IoctlGetInt(sock(t, l, "client").FD, unix.SIOCOUTQ)
	if err != nil {
		t.Fatal(err)
	}
	run(t, l, "close", "client")
	queued, err := unix.IoctlGetInt(sock(t, l, "conn").FD, unix.SIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	if waiting == 0 {
		t.Fatalf("%d bytes queued at the receiver, none at the sender; want bytes waiting for room", queued)
	}
	rep := run(t, l, "recv", "conn", "--all")
	// On loopback each read's window update lets the sender's kernel send
	// more within the call, so all of it comes; on a loaded machine the
	// kernel may send some later, after recv --all has stopped.
	got := rep.DataTotal
	if got <= queued || got > queued+waiting {
		t.Fatalf("recv --all read %d bytes; want more than the %d queued, at most %d", got, queued, queued+waiting)
	}
	wantSays(t, "recv --all", rep, fmt.Sprintf("read %d bytes without waiting: %d were queued when they began, and the other %d arrived while they read",
		got, queued, got-queued))
	if got == queued+waiting {
		wantSays(t, "recv --all", rep, "The last call returned 0 bytes: the peer has closed its side.")
	}
}
