package steps

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFullReceiveBufferDropsDatagrams sends datagrams, with send and with
// sendto, to a UDP socket that reads none of them, until the kernel drops
// one: 60,000 bytes each into the default receive buffer, and 1000 bytes
// each into SO_RCVBUF 4000, where the kernel's bookkeeping for each
// datagram, more than twice its bytes, is what fills it. The kernel's own
// count of drops, read from /proc/net/udp, says which send that was:
// every report before it says the datagram was queued, and that one says
// it was dropped because the receive buffer was full, with the memory
// /proc/net/udp gives the queue and the SO_RCVBUF getsockopt gives.
func TestFullReceiveBufferDropsDatagrams(t *testing.T) {
	for _, tt := range []struct {
		size, rcvbuf string // rcvbuf "": the default
	}{
		{"60000", ""},
		{"1000", "4000"},
	} {
		for _, step := range []string{"send", "sendto"} {
			t.Run(step+" "+tt.size, func(t *testing.T) {
				l := newLab(t)
				udpPair(t, l)
				if tt.rcvbuf != "" {
					run(t, l, "option", "r", "SO_RCVBUF", tt.rcvbuf)
				}
				port := portOf(t, l, "r")
				args := []string{"u", "--bytes", tt.size}
				if step == "sendto" {
					args = []string{"u", "127.0.0.1", port, "--bytes", tt.size}
				}
				for i := 1; ; i++ {
					if i > 20 { // 212,992 bytes of SO_RCVBUF take 3 datagrams of 60,000 here
						t.Fatalf("%d datagrams of %s bytes and no drop", i-1, tt.size)
					}
					before, _ := udpDrops(t, port)
					rep := run(t, l, step, args...)
					drops, held := udpDrops(t, port)
					if drops == before {
						wantSays(t, fmt.Sprintf("datagram %d", i), rep, "It is now in r (fd")
						continue
					}
					rcvbuf, err := unix.GetsockoptInt(sock(t, l, "r").FD, unix.SOL_SOCKET, unix.SO_RCVBUF)
					if err != nil {
						t.Fatal(err)
					}
					wantSays(t, fmt.Sprintf("datagram %d", i), rep, "But the kernel dropped it instead of queueing it for r (fd",
						fmt.Sprintf("already hold %d bytes of kernel memory", held),
						fmt.Sprintf("would have taken it past its receive buffer's limit (SO_RCVBUF), %d.", rcvbuf))
					if strings.Contains(rep.Says, "It is now in") {
						t.Errorf("datagram %d: got %q, which says the dropped datagram was queued", i, rep.Says)
					}
					if i < 2 {
						t.Errorf("the first datagram was dropped, into an empty receive buffer")
					}
					return
				}
			})
		}
	}
}

// udpDrops reads the kernel's count of datagrams dropped by the IPv4 UDP
// socket bound to port, from the last column of /proc/net/udp, and the
// kernel memory its receive queue holds (rx_queue).
func udpDrops(t *testing.T, port string) (drops, held int) {
	t.Helper()
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		t.Skipf("no /proc/net/udp to check the kernel's drops against: %v", err)
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", p)
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		fields := strings.Fields(lines.Text())
		if len(fields) > 12 && strings.HasSuffix(fields[1], want) {
			n, err := strconv.Atoi(fields[len(fields)-1])
			if err != nil {
				t.Fatalf("/proc/net/udp: drops %q: %v", fields[len(fields)-1], err)
			}
			_, rx, _ := strings.Cut(fields[4], ":") // tx_queue:rx_queue, in hex
			q, err := strconv.ParseInt(rx, 16, 64)
			if err != nil {
				t.Fatalf("/proc/net/udp: rx_queue %q: %v", fields[4], err)
			}
			return n, int(q)
		}
	}
	t.Fatalf("/proc/net/udp has no socket on port %d", p)
	return 0, 0
}
