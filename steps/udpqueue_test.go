package steps

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// sendArgs is the arguments of a send or sendto of one datagram of size
// bytes from u to r, which udpPair made.
func sendArgs(t *testing.T, l *Lab, step string, size int) []string {
	t.Helper()
	if step == "sendto" {
		return []string{"u", "127.0.0.1", portOf(t, l, "r"), "--bytes", fmt.Sprint(size)}
	}
	return []string{"u", "--bytes", fmt.Sprint(size)}
}

// TestDatagramQueuedBehindAnother sends a datagram of 2000 bytes, then
// one of 65507, to a socket that reads neither: the second report must
// not promise that the next receive takes it, for the kernel gives the
// next receive the first (SIOCINQ gives its size). It names that size,
// and its next step reads the first datagram whole: a receive of the size
// suggested takes exactly the 2000 bytes.
func TestDatagramQueuedBehindAnother(t *testing.T) {
	for _, tt := range []struct{ step, receive string }{
		{"send", "recv"},
		{"sendto", "recvfrom"},
	} {
		t.Run(tt.step, func(t *testing.T) {
			l := newLab(t)
			udpPair(t, l)
			run(t, l, tt.step, sendArgs(t, l, tt.step, 2000)...)
			rep := run(t, l, tt.step, sendArgs(t, l, tt.step, 65507)...)
			if q := Read(sock(t, l, "r")).RecvQ; q != 2000 {
				t.Fatalf("the kernel says r's next datagram is %d bytes, want 2000", q)
			}
			wantSays(t, tt.step+" 65507", rep, "waited there already", "the first of those, whose size the kernel gives (SIOCINQ): 2000 bytes.", "65507 bytes")
			if want := tt.receive + " r 2000"; rep.Next != want {
				t.Errorf("%s 65507: got next %q, want %q", tt.step, rep.Next, want)
			}
			got := run(t, l, tt.receive, "r", "2000")
			if got.DataTotal != 2000 && len(got.Data) != 2000 {
				t.Errorf("%s r 2000: got %d bytes, want the first datagram's 2000", tt.receive, max(got.DataTotal, len(got.Data)))
			}
		})
	}
}

// TestDroppedDatagramSuggestsTheReceiver fills a small receive buffer
// until the kernel drops a datagram: the next step reads the receiver,
// which holds the datagrams it kept, not the sender, which holds none.
func TestDroppedDatagramSuggestsTheReceiver(t *testing.T) {
	for _, tt := range []struct{ step, receive string }{
		{"send", "recv"},
		{"sendto", "recvfrom"},
	} {
		t.Run(tt.step, func(t *testing.T) {
			l := newLab(t)
			udpPair(t, l)
			run(t, l, "option", "r", "SO_RCVBUF", "1000")
			r := sock(t, l, "r")
			for i := 1; ; i++ {
				if i > 12 {
					t.Fatalf("12 datagrams of 500 bytes into SO_RCVBUF 1000 and no drop")
				}
				before := Read(r).Dropped
				rep := run(t, l, tt.step, sendArgs(t, l, tt.step, 500)...)
				if Read(r).Dropped == before {
					continue
				}
				if want := tt.receive + " r "; !strings.HasPrefix(rep.Next+" ", want) {
					t.Errorf("datagram %d, dropped: got next %q, want it to begin %q", i, rep.Next, want)
				}
				if _, _, err := unix.Recvfrom(r.FD, nil, unix.MSG_PEEK|unix.MSG_DONTWAIT); err != nil {
					t.Errorf("a peek at r after the drop: %v, want the datagrams it kept", err)
				}
				return
			}
		})
	}
}

// TestRecvAllKeepsDatagramsApart drains a UDP socket that holds "one"
// and "two": the report gives each datagram apart, with its size and
// sender, not one run of "onetwo".
func TestRecvAllKeepsDatagramsApart(t *testing.T) {
	l := newLab(t)
	udpPair(t, l)
	for _, d := range []string{"one", "two"} {
		run(t, l, "send", "u", d)
	}
	u := Read(sock(t, l, "u")).Local
	rep := run(t, l, "recv", "r", "--all")
	if len(rep.Datagrams) != 2 || rep.DatagramsRead != 2 {
		t.Fatalf("recv r --all: got %d datagrams of %d read, want 2 of 2", len(rep.Datagrams), rep.DatagramsRead)
	}
	for i, want := range []string{"one", "two"} {
		if d := rep.Datagrams[i]; string(d.Data) != want || d.Size != len(want) || d.From != u {
			t.Errorf("datagram %d: got %q, %d bytes from %s, want %q, %d bytes from %s", i, d.Data, d.Size, d.From, want, len(want), u)
		}
	}
}
