package steps

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestEmptyDatagram sends a datagram of 0 bytes with sendto and with send
// on a connected socket, and reads each with recvfrom: the kernel delivers
// it, recvfrom returns 0 and the sender's address (getsockname on the
// sender, asked by the test), and every step words it the same way and
// says that 0 here is not the end of anything.
func TestEmptyDatagram(t *testing.T) {
	const empty = "one empty datagram (0 bytes)"
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", f.name, "as", "a")
			run(t, l, "bind", "a", f.loopback, "0")
			run(t, l, "socket", "udp", f.name, "as", "b")
			run(t, l, "bind", "b", f.loopback, "0")
			port := portOf(t, l, "a")
			sa, err := unix.Getsockname(sock(t, l, "b").FD)
			if err != nil {
				t.Fatal(err)
			}
			from := addrPortOf(sa)
			sent := run(t, l, "sendto", "b", f.loopback, port, "")
			run(t, l, "connect", "b", f.loopback, port)
			sentConnected := run(t, l, "send", "b", "")
			for _, rep := range []*Report{sent, sentConnected} {
				if says := strings.Join(strings.Fields(rep.Says), " "); !strings.Contains(says, empty) {
					t.Errorf("%s: says %q, want %q", rep.Call, says, empty)
				}
			}
			for range 2 {
				rep := run(t, l, "recvfrom", "a")
				if want := fmt.Sprintf("recvfrom(%d, 1024) = 0  from %s", sock(t, l, "a").FD, from); rep.Call != want {
					t.Errorf("got call %q, want %q", rep.Call, want)
				}
				says := strings.Join(strings.Fields(rep.Says), " ")
				for _, want := range []string{empty, "not the end of a connection"} {
					if !strings.Contains(says, want) {
						t.Errorf("recvfrom: says %q, want %q", says, want)
					}
				}
			}
		})
	}
}
