package steps

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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

// captureWait is how long a capture's read waits for a frame before it
// looks whether the test asked it to stop.
const captureWait = 20 * time.Millisecond

// captureLag is how long a capture's reader stays away after a read that
// found no frame: none, but for the test of a reader that gets a CPU late.
var captureLag time.Duration

// captureLoopback starts reading the TCP segments that cross lo to or
// from every one of ports (a listener's port, or both ends of a
// connection), over IPv4 and IPv6, with a raw packet socket; the function
// it returns stops and gives them in order, with what the capture read
// in all, which a test that finds the segments wrong shows. Only this
// test's segments are kept: other tests may use lo at the same time, and
// may even reach the same port. Without CAP_NET_RAW, or when the capture
// lost packets, the test is skipped.
func captureLoopback(t *testing.T, ports ...uint16) func() ([]segment, *captureLog) {
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
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: captureWait.Microseconds()}); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	log := &captureLog{fd: fd, inode: inodeOf(fd), byType: map[uint8]int{}, errs: map[string]int{}}
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
			// The test's frames were queued by its system calls, before
			// it asked to stop. So only a read begun after it asked finds
			// them all, and then need not wait: once it finds the queue
			// empty, the capture is whole. A timeout seen before the ask
			// says nothing of frames queued since, when this goroutine
			// waited for a CPU between the two.
			mu.Lock()
			stopping := done
			mu.Unlock()
			flags := 0
			if stopping {
				flags = unix.MSG_DONTWAIT
			}
			n, from, err := unix.Recvfrom(fd, buf, flags)
			if err != nil {
				time.Sleep(captureLag)
			}
			mu.Lock()
			log.read(buf[:max(n, 0)], from, err)
			mu.Unlock()
			if errors.Is(err, unix.EINTR) {
				continue // a signal ends a wait that has a timeout (signal(7)), whatever is queued
			}
			if err != nil { // the queue is empty: stop if it was asked before the read
				if stopping {
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
	return func() ([]segment, *captureLog) {
		mu.Lock()
		done = true
		mu.Unlock()
		wg.Wait()
		log.inodeAtEnd = inodeOf(fd)
		defer unix.Close(fd)
		// Reading the statistics resets them: these are the whole capture's.
		stats, err := unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err != nil {
			t.Fatalf("%v (capture: %v)", err, log)
		}
		if stats.Drops > 0 {
			t.Skipf("the capture of loopback lost %d packets, so it cannot be compared with the diagram", stats.Drops)
		}
		log.queued = stats.Packets
		return got, log
	}
}

// A captureLog is what a capture read, whatever the ports: it tells a
// capture that saw none of a test's segments because lo carried none
// from one that read nothing at all, or lost its socket.
type captureLog struct {
	fd                int
	inode, inodeAtEnd uint64         // the socket's, when it was made and when the capture stopped
	queued            uint32         // frames the kernel queued to it (PACKET_STATISTICS)
	frames            int            // frames read
	byType            map[uint8]int  // frames read, by pkttype (PACKET_HOST, PACKET_OUTGOING...)
	tcp               int            // TCP segments among them, on any port
	first             []string       // the first few of those, as "src>dst kind pkttype"
	errs              map[string]int // failed reads by errno, the timeouts among them
}

// firstSegments is how many segments a captureLog describes one by one.
const firstSegments = 6

// read counts the outcome of one recvfrom of the capture.
func (c *captureLog) read(frame []byte, from unix.Sockaddr, err error) {
	if err != nil {
		var errno unix.Errno
		if !errors.As(err, &errno) {
			c.errs[err.Error()]++
			return
		}
		c.errs[unix.ErrnoName(errno)]++
		return
	}
	c.frames++
	ll, ok := from.(*unix.SockaddrLinklayer)
	if !ok {
		c.byType[0xff]++
		return
	}
	c.byType[ll.Pkttype]++
	if seg, ok := tcpSegment(frame); ok {
		c.tcp++
		if len(c.first) < firstSegments {
			c.first = append(c.first, fmt.Sprintf("%d>%d %s %s", seg.src, seg.dst, seg.kind(), pkttypeName(ll.Pkttype)))
		}
	}
}

func (c *captureLog) String() string {
	types := make([]string, 0, len(c.byType))
	for _, ty := range slices.Sorted(maps.Keys(c.byType)) {
		types = append(types, fmt.Sprintf("%s %d", pkttypeName(ty), c.byType[ty]))
	}
	errs := make([]string, 0, len(c.errs))
	for _, e := range slices.Sorted(maps.Keys(c.errs)) {
		errs = append(errs, fmt.Sprintf("%s %d", e, c.errs[e]))
	}
	return fmt.Sprintf("fd %d, inode %d then %d; kernel queued %d frames, read %d (%s), %d of them TCP on any port, first %q; reads failed: %s",
		c.fd, c.inode, c.inodeAtEnd, c.queued, c.frames, strings.Join(types, ", "), c.tcp, c.first, strings.Join(errs, ", "))
}

// pkttypeName names a packet socket's pkttype (packet(7)).
func pkttypeName(ty uint8) string {
	switch ty {
	case unix.PACKET_HOST:
		return "host"
	case unix.PACKET_BROADCAST:
		return "broadcast"
	case unix.PACKET_MULTICAST:
		return "multicast"
	case unix.PACKET_OTHERHOST:
		return "otherhost"
	case unix.PACKET_OUTGOING:
		return "outgoing"
	}
	return fmt.Sprintf("pkttype %d", ty)
}

// inodeOf is the inode of the file fd names, or 0 if fd names none: a
// capture's socket keeps one inode, unless its number was closed under it.
func inodeOf(fd int) uint64 {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return 0
	}
	return st.Ino
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

// TestCaptureReadsWhatCrossedBeforeStop: a step that sends only after the
// capture's first read has timed out, and ends while the reader is still
// away from its socket (waiting for a CPU, as under load), still has its
// segment captured. The reader must not take a timeout it saw before the
// test asked it to stop for an empty queue.
func TestCaptureReadsWhatCrossedBeforeStop(t *testing.T) {
	captureLag = 3 * captureWait
	t.Cleanup(func() { captureLag = 0 })
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			stop := captureLoopback(t, Read(sock(t, l, "server")).Local.Port(), Read(sock(t, l, "client")).Local.Port())
			time.Sleep(2 * captureWait) // the first read times out, and its reader stays away
			run(t, l, "send", "conn", "hello")
			segs, log := stop()
			if got, want := countKinds(segs, noACKs), map[string]int{"data": 1}; !reflect.DeepEqual(got, want) {
				t.Errorf("captured %v, want %v: the send's segment (capture: %v)", got, want, log)
			}
		})
	}
}
