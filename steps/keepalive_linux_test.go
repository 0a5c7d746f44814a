package steps

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestKeepaliveTimingRange: TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT
// take from 1 to the most the kernel takes, as a socket of the test's own
// shows; the value set is the one getsockopt reads back. A value out of
// that range goes to the kernel, which refuses it with EINVAL and keeps
// the old one; the report says the range, and its fix, typed as it is,
// sets the option. A word that is not a number is refused before any
// call. help option gives the same range.
func TestKeepaliveTimingRange(t *testing.T) {
	for _, o := range keepaliveOptions {
		t.Run(o.Name, func(t *testing.T) {
			// The kernel's range, measured.
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			most := 0
			for _, n := range []int{127, 128, 32767, 32768} {
				if unix.SetsockoptInt(fd, o.level, o.opt, n) == nil {
					most = n
				}
			}
			if err := unix.SetsockoptInt(fd, o.level, o.opt, most+1); err != unix.EINVAL || most != o.most {
				t.Fatalf("the kernel takes %s up to %d (%d: %v); sockstep says %d", o.Name, most, most+1, err, o.most)
			}
			l := newLab(t)
			run(t, l, "socket", "as", "s")
			s := sock(t, l, "s")
			for _, n := range []int{1, most} {
				rep := run(t, l, "option", "s", o.Name, strconv.Itoa(n))
				got, err := unix.GetsockoptInt(s.FD, o.level, o.opt)
				if err != nil || got != n {
					t.Errorf("%s %d: getsockopt reads %d (%v)", o.Name, n, got, err)
				}
				if want, _ := o.get(s.FD); rep.State[0].After != want || !strings.Contains(want, strconv.Itoa(got)) {
					t.Errorf("%s %d: the report shows %q, the kernel %d", o.Name, n, rep.State[0].After, got)
				}
			}
			for _, n := range []int{0, -1, most + 1} {
				before, _ := unix.GetsockoptInt(s.FD, o.level, o.opt)
				rep := refused(t, l, unix.EINVAL, "option", "s", o.Name, strconv.Itoa(n))
				if after, _ := unix.GetsockoptInt(s.FD, o.level, o.opt); after != before {
					t.Errorf("%s %d: %d before the refusal, %d after", o.Name, n, before, after)
				}
				says := foldParagraphs(rep.Failure.ForStep)
				for _, want := range []string{fmt.Sprintf("from 1 to %d", most), "not " + strconv.Itoa(n), "stays " + strconv.Itoa(before)} {
					if !strings.Contains(says, want) {
						t.Errorf("%s %d: got %q, want %q in it", o.Name, n, says, want)
					}
				}
				fix := regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(rep.Failure.Fix, -1)
				if len(fix) != 1 {
					t.Fatalf("%s %d: the fix %q gives no single command", o.Name, n, rep.Failure.Fix)
				}
				words := strings.Fields(fix[0][1])
				run(t, l, words[0], words[1:]...)
				if v, _ := unix.GetsockoptInt(s.FD, o.level, o.opt); strconv.Itoa(v) != words[len(words)-1] {
					t.Errorf("%s %d: after the fix %q the kernel holds %d", o.Name, n, fix[0][1], v)
				}
			}
			for _, word := range []string{"x", "2.5", "99999999999"} {
				_, err := try(t, l, "option", "s", o.Name, word)
				if !IsUsage(err) || !strings.Contains(err.Error(), fmt.Sprintf("from 1 to %d, such as", most)) {
					t.Errorf("%s %s: got %v, want a usage error that gives the range and an example", o.Name, word, err)
				}
			}
			usage, about, _ := optionTopic(o.Name)
			if !strings.Contains(usage, fmt.Sprintf("(1 to %d)", most)) || !strings.Contains(foldParagraphs(about), fmt.Sprintf("from 1 to %d", most)) {
				t.Errorf("help option %s: got %q, %q, want the range 1 to %d", o.Name, usage, about, most)
			}
			run(t, l, "socket", "udp", "as", "u")
			if _, err := try(t, l, "option", "u", o.Name, "5"); !IsUsage(err) {
				t.Errorf("%s on a UDP socket: got %v, want a usage error", o.Name, err)
			}
		})
	}
}

// TestKeepaliveProbesGo: with TCP_KEEPIDLE and TCP_KEEPINTVL at 1 second
// and SO_KEEPALIVE off, an idle connection sends nothing; once the step
// the report suggests turns SO_KEEPALIVE on, the kernel runs the
// keepalive timer, which fires within a second, and a probe goes out,
// which the peer's kernel answers, without a byte of data.
func TestKeepaliveProbesGo(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	client, conn := sock(t, l, "client"), sock(t, l, "conn")
	run(t, l, "option", "client", "keepintvl", "1")
	rep := run(t, l, "option", "client", "keepidle", "1")
	wantSays(t, "keepidle with SO_KEEPALIVE off", rep, "Nothing is sent while SO_KEEPALIVE is off", "for 1 second (TCP_KEEPIDLE)")
	sent := segmentsSent(client.FD)
	time.Sleep(1300 * time.Millisecond)
	if now := segmentsSent(client.FD); now != sent {
		t.Fatalf("SO_KEEPALIVE off: the client sent %d segments in 1.3 s of silence", now-sent)
	}
	if rep.Next != "option client SO_KEEPALIVE on" {
		t.Fatalf("got next %q, want SO_KEEPALIVE turned on", rep.Next)
	}
	words := strings.Fields(rep.Next)
	on := run(t, l, words[0], words[1:]...)
	wantSays(t, "keepalive on", on, "for 1 second (TCP_KEEPIDLE)", "every 1 second (TCP_KEEPINTVL)")
	snap := Read(client)
	timer, ok := TimerOf(client, snap, snap.Remote)
	if !ok || timer.Kind != KeepaliveTimer || timer.Expires > time.Second {
		t.Fatalf("after SO_KEEPALIVE on the kernel runs timer %+v (%v), want keepalive within 1 s", timer, ok)
	}
	received := segmentsReceived(t, conn.FD)
	deadline := time.Now().Add(3 * time.Second)
	for segmentsSent(client.FD) == sent || segmentsReceived(t, conn.FD) == received {
		if time.Now().After(deadline) {
			t.Fatalf("no keepalive probe within 3 s: client sent %d, conn received %d", segmentsSent(client.FD)-sent, segmentsReceived(t, conn.FD)-received)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if info, _, err := tcpInfo(conn.FD); err != nil || info.Bytes_received != 0 {
		t.Errorf("the probe brought data: %d bytes (%v)", info.Bytes_received, err)
	}
}

// TestKeepaliveSaysThisMachinesTimes: SO_KEEPALIVE's report gives the
// times and count the kernel uses for the socket: the system's, or those
// it set before with TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT.
func TestKeepaliveSaysThisMachinesTimes(t *testing.T) {
	for _, before := range [][]string{nil, {"TCP_KEEPIDLE 3", "TCP_KEEPINTVL 2", "TCP_KEEPCNT 4"}} {
		t.Run(fmt.Sprint(len(before)), func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "as", "sock")
			for _, set := range before {
				run(t, l, "option", append([]string{"sock"}, strings.Fields(set)...)...)
			}
			says := foldParagraphs(run(t, l, "option", "sock", "keepalive", "on").Says)
			fd := sock(t, l, "sock").FD
			for _, f := range []struct {
				opt    int
				format string
			}{
				{unix.TCP_KEEPIDLE, "for %d seconds (TCP_KEEPIDLE)"},
				{unix.TCP_KEEPINTVL, "every %d seconds (TCP_KEEPINTVL)"},
				{unix.TCP_KEEPCNT, "after %d unanswered (TCP_KEEPCNT)"},
			} {
				n, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, f.opt)
				if err != nil {
					t.Fatal(err)
				}
				if want := fmt.Sprintf(f.format, n); !strings.Contains(says, want) {
					t.Errorf("got %q, want %q in it", says, want)
				}
			}
		})
	}
}

// segmentsReceived is TCP_INFO's tcpi_segs_in.
func segmentsReceived(t *testing.T, fd int) int {
	t.Helper()
	info, _, err := tcpInfo(fd)
	if err != nil {
		t.Fatal(err)
	}
	return int(info.Segs_in)
}

// TestKeepaliveOnAListener: a connection takes its listener's
// SO_KEEPALIVE and TCP_KEEPIDLE when the kernel sets it up; one already
// waiting in the accept queue keeps what it had. The report says so.
func TestKeepaliveOnAListener(t *testing.T) {
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	run(t, l, "socket", "as", "early")
	run(t, l, "connect", "early", "127.0.0.1", port)
	rep := run(t, l, "option", "server", "keepidle", "5")
	wantSays(t, "keepidle on a listener", rep, "A connection that arrives from now on takes", "already waiting to be accepted keep what they had")
	run(t, l, "option", "server", "keepalive", "on")
	run(t, l, "socket", "as", "late")
	run(t, l, "connect", "late", "127.0.0.1", port)
	run(t, l, "accept", "server", "as", "a")
	run(t, l, "accept", "server", "as", "b")
	sys := readProcInt("/proc/sys/net/ipv4/tcp_keepalive_time")
	for _, tt := range []struct {
		name      string
		on, idle  int
		arrivedAt string
	}{{"a", 0, sys, "before"}, {"b", 1, 5, "after"}} {
		fd := sock(t, l, tt.name).FD
		on, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE)
		idle, _ := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE)
		if on != tt.on || idle != tt.idle {
			t.Errorf("a connection that arrived %s the options were set: SO_KEEPALIVE %d, TCP_KEEPIDLE %d; want %d, %d", tt.arrivedAt, on, idle, tt.on, tt.idle)
		}
	}
}
