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

// TestRefusedDatagramWasNotSent sends, with send and with sendto, on a
// UDP socket connected to a port nobody holds, in a network namespace of
// its own where nothing else sends: the second call fails with the
// ECONNREFUSED the first one's ICMP "port unreachable" left, and the
// kernel's count of datagrams sent (Udp OutDatagrams) shows that its own
// datagram did not go, as its report must say; the call after it goes.
func TestRefusedDatagramWasNotSent(t *testing.T) {
	if !inNetns(t) {
		return
	}
	for _, step := range []string{"send", "sendto"} {
		t.Run(step, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", "as", "gone")
			run(t, l, "bind", "gone", "127.0.0.1", "0")
			port := portOf(t, l, "gone")
			run(t, l, "close", "gone")
			run(t, l, "socket", "udp", "as", "u")
			run(t, l, "connect", "u", "127.0.0.1", port)
			args := []string{"u", "hi"}
			if step == "sendto" {
				args = []string{"u", "127.0.0.1", port, "hi"}
			}
			run(t, l, step, args...)
			before, ok := snmpCounter(t, "Udp", "OutDatagrams")
			if !ok {
				t.Skip("no /proc/net/snmp to count the datagrams sent")
			}
			rep := refused(t, l, unix.ECONNREFUSED, step, args...)
			if after, _ := snmpCounter(t, "Udp", "OutDatagrams"); after != before {
				t.Fatalf("Udp OutDatagrams went from %d to %d over the refused %s: the kernel sent a datagram", before, after, step)
			}
			if !strings.Contains(rep.Failure.ForStep, "its own datagram was not sent") {
				t.Errorf("%s refused: got %q, want it to say its own datagram was not sent", step, rep.Failure.ForStep)
			}
			before, _ = snmpCounter(t, "Udp", "OutDatagrams")
			run(t, l, step, args...)
			if after, _ := snmpCounter(t, "Udp", "OutDatagrams"); after != before+1 {
				t.Errorf("Udp OutDatagrams went from %d to %d over the %s after the refused one, want one more", before, after, step)
			}
		})
	}
}

// TestPortZeroOnAUDPSocket gives connect and sendto port 0 on a UDP
// socket: sockstep refuses it before any call, in UDP's words, not TCP's
// listener, and what those words say the kernel does is checked against
// the kernel here: connect returns 0 and getpeername ENOTCONN, sendto
// EINVAL.
func TestPortZeroOnAUDPSocket(t *testing.T) {
	for _, tt := range []struct {
		step string
		args []string
		want string
		call func(fd int) error
	}{
		{"connect", []string{"r", "0.0.0.0", "0"}, "connect to it returns 0 all the same", func(fd int) error {
			if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				return err
			}
			if _, err := unix.Getpeername(fd); err != unix.ENOTCONN {
				return fmt.Errorf("getpeername: %v, want ENOTCONN", err)
			}
			return nil
		}},
		{"sendto", []string{"r", "127.0.0.1", "0", "hi"}, "sendto refuses it with EINVAL", func(fd int) error {
			if err := unix.Sendto(fd, []byte("hi"), 0, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != unix.EINVAL {
				return fmt.Errorf("sendto: %v, want EINVAL", err)
			}
			return nil
		}},
	} {
		t.Run(tt.step, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", "as", "r")
			_, err := try(t, l, tt.step, tt.args...)
			if !IsUsage(err) {
				t.Fatalf("%s %q: got %v, want a usage error", tt.step, tt.args, err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, "listen") {
				t.Errorf("%s %q: got %q, want UDP's words, %q, and no listener", tt.step, tt.args, msg, tt.want)
			}
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if err := tt.call(fd); err != nil {
				t.Errorf("the kernel, which the words describe: %v", err)
			}
		})
	}
}
