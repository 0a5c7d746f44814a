package steps

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

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
			args := connectedToNobody(t, l, step)
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
