package steps

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestFullReceiveBufferDropsDatagrams sends datagrams, with send and with
// sendto, to a UDP socket that reads none of them, until the kernel drops
// one. The kernel's own count of drops, read from /proc/net/udp, says
// which send that was: every report before it says the datagram was
// queued, and that one says it was dropped because the receive buffer
// was full.
func TestFullReceiveBufferDropsDatagrams(t *testing.T) {
	for _, step := range []string{"send", "sendto"} {
		t.Run(step, func(t *testing.T) {
			l := newLab(t)
			udpPair(t, l)
			port := portOf(t, l, "r")
			args := []string{"u", "--bytes", "60000"}
			if step == "sendto" {
				args = []string{"u", "127.0.0.1", port, "--bytes", "60000"}
			}
			for i := 1; ; i++ {
				if i > 20 { // 212,992 bytes of SO_RCVBUF take 3 datagrams of 60,000 here
					t.Fatalf("%d datagrams of 60000 bytes and no drop", i-1)
				}
				before := udpDrops(t, port)
				rep := run(t, l, step, args...)
				if udpDrops(t, port) == before {
					wantSays(t, fmt.Sprintf("datagram %d", i), rep, "It is now in r (fd")
					continue
				}
				wantSays(t, fmt.Sprintf("datagram %d", i), rep, "But the kernel dropped it instead of queueing it for r (fd",
					"this one would have taken it past its receive buffer's limit (SO_RCVBUF)")
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

// udpDrops reads the kernel's count of datagrams dropped by the IPv4 UDP
// socket bound to port, from the last column of /proc/net/udp.
func udpDrops(t *testing.T, port string) int {
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
			return n
		}
	}
	t.Fatalf("/proc/net/udp has no socket on port %d", p)
	return 0
}
