package steps

import (
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// A segment is one TCP segment seen on loopback: its ports, its flags
// (the header's bits, below), the bytes it carried, and where they start.
type segment struct {
	src, dst uint16
	flags    uint8
	payload  int
	seq      uint32 // its first byte's sequence number
}

// The bits of a TCP header's flags byte.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// kind names a segment as the diagram does: SYN, SYN-ACK, RST, FIN, ACK
// or "data".
func (s segment) kind() string {
	switch {
	case s.flags&tcpRST != 0:
		return "RST"
	case s.flags&tcpSYN != 0 && s.flags&tcpACK != 0:
		return "SYN-ACK"
	case s.flags&tcpSYN != 0:
		return "SYN"
	case s.flags&tcpFIN != 0:
		return "FIN"
	case s.payload > 0:
		return "data"
	}
	return "ACK"
}

// captureLoopback starts reading the TCP segments that cross lo to or
// from every one of ports (a listener's port, or both ends of a
// connection), over IPv4 and IPv6, with a raw packet socket; the function
// it returns stops and gives them in order. Only this test's segments are
// kept: other tests may use lo at the same time, and may even reach the
// same port. Without CAP_NET_RAW, or when the capture lost packets, the
// test is skipped.
func captureLoopback(t *testing.T, ports ...uint16) func() []segment {
	t.Helper()
	const ethAll = 0x0300 // htons(ETH_P_ALL)
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skipf("no loopback interface to capture: %v", err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, ethAll)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		t.Skip("capturing loopback needs CAP_NET_RAW (run the tests as root to compare the diagram with the wire)")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: ethAll, Ifindex: lo.Index}); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	// Other tests may flood lo meanwhile: room for their packets too.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 64<<20) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 64<<20)
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 20000}); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		done bool
		got  []segment
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1<<17)
		for {
			n, from, err := unix.Recvfrom(fd, buf, 0)
			if errors.Is(err, unix.EINTR) {
				continue // a signal ends a wait that has a timeout (signal(7)), whatever is queued
			}
			if err != nil { // the timeout: stop if asked to, the queue read
				mu.Lock()
				stop := done
				mu.Unlock()
				if stop {
					return
				}
				continue
			}
			// lo shows each packet twice, going out and coming in.
			if ll, ok := from.(*unix.SockaddrLinklayer); !ok || ll.Pkttype != unix.PACKET_OUTGOING {
				continue
			}
			if seg, ok := tcpSegment(buf[:n]); ok && !slices.ContainsFunc(ports, func(p uint16) bool { return seg.src != p && seg.dst != p }) {
				mu.Lock()
				got = append(got, seg)
				mu.Unlock()
			}
		}
	}()
	return func() []segment {
		mu.Lock()
		done = true
		mu.Unlock()
		wg.Wait()
		defer unix.Close(fd)
		// Reading the statistics resets them: these are the whole capture's.
		stats, err := unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Drops > 0 {
			t.Skipf("the capture of loopback lost %d packets, so it cannot be compared with the diagram", stats.Drops)
		}
		return got
	}
}

// tcpSegment reads an Ethernet frame holding IPv4 or IPv6 and TCP.
func tcpSegment(frame []byte) (segment, bool) {
	if len(frame) < 14 {
		return segment{}, false
	}
	ip := frame[14:]
	var tcp []byte
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case 0x0800:
		if len(ip) < 20 || ip[9] != unix.IPPROTO_TCP {
			return segment{}, false
		}
		total := int(binary.BigEndian.Uint16(ip[2:4]))
		if total > len(ip) {
			return segment{}, false
		}
		tcp = ip[int(ip[0]&0x0f)*4 : total]
	case 0x86dd:
		if len(ip) < 40 || ip[6] != unix.IPPROTO_TCP {
			return segment{}, false
		}
		end := 40 + int(binary.BigEndian.Uint16(ip[4:6]))
		if end > len(ip) {
			return segment{}, false
		}
		tcp = ip[40:end]
	default:
		return segment{}, false
	}
	if len(tcp) < 20 || int(tcp[12]>>4)*4 > len(tcp) {
		return segment{}, false
	}
	return segment{
		src:     binary.BigEndian.Uint16(tcp[0:2]),
		dst:     binary.BigEndian.Uint16(tcp[2:4]),
		flags:   tcp[13],
		payload: len(tcp) - int(tcp[12]>>4)*4,
		seq:     binary.BigEndian.Uint32(tcp[4:8]),
	}, true
}
