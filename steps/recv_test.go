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

// TestPartialRecv reads part of what waits: the report says how much it
// took and how much stays, and the next recv finds exactly that much.
func TestPartialRecv(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	if rep := run(t, l, "send", "client", "--bytes", "5000"); !strings.Contains(rep.Says, "in 1 send call of") {
		t.Errorf("send --bytes 5000: got %q, want one call, in the singular", rep.Says)
	}
	rep := run(t, l, "recv", "conn", "1000")
	for _, want := range []string{"copied the first 1000 of the bytes waiting", "4000 more stay queued"} {
		if !strings.Contains(rep.Says, want) {
			t.Errorf("recv conn 1000: got %q, want %q", rep.Says, want)
		}
	}
	rep = run(t, l, "recv", "conn", "3999")
	wantSays(t, "recv conn 3999", rep, "and 1 more stays queued")
	if rest := run(t, l, "recv", "conn", "--all"); len(rest.Data) != 1 {
		t.Errorf("recv conn --all: got %d bytes, want the 1 the report said stays", len(rest.Data))
	}
}

// TestRecvAllOfNothing drains an empty queue: the one call found
// nothing, which the kernel says with EAGAIN, not 0 (the end of the
// stream), and the Python line does not wait either. With --timeout,
// which it could not honour, --all is refused before any call.
func TestRecvAllOfNothing(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	conn := sock(t, l, "conn")
	if _, _, err := unix.Recvfrom(conn.FD, make([]byte, 1), unix.MSG_PEEK|unix.MSG_DONTWAIT); err != unix.EAGAIN {
		t.Fatalf("a peek at conn: got %v, want EAGAIN", err)
	}
	rep := run(t, l, "recv", "conn", "--all")
	if want := fmt.Sprintf("recv(%d, 65536, MSG_DONTWAIT) = -1 EAGAIN", conn.FD); rep.Call != want || len(rep.Data) != 0 {
		t.Errorf("recv conn --all: got %q and %d bytes, want %q and none", rep.Call, len(rep.Data), want)
	}
	wantSays(t, "recv --all of nothing", rep, "Nothing was queued", "returned EAGAIN")
	if strings.Contains(rep.Says, "shown") {
		t.Errorf("got %q, which speaks of bytes shown", rep.Says)
	}
	if !strings.Contains(rep.Python, "socket.MSG_DONTWAIT") {
		t.Errorf("got python %q, which would wait for data; want a recv with MSG_DONTWAIT", rep.Python)
	}
	if rep, err := try(t, l, "recv", "conn", "--all", "--timeout", "200ms"); err == nil {
		t.Errorf("recv conn --all --timeout 200ms: got %q, want a usage error: --all does not wait", rep.Call)
	}

	// At the end of the stream the one call returns 0.
	run(t, l, "close", "client")
	deadline := time.Now().Add(waitLimit)
	for !Read(conn).ReadShut && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	rep = run(t, l, "recv", "conn", "--all")
	if want := fmt.Sprintf("recv(%d, 65536, MSG_DONTWAIT) = 0", conn.FD); rep.Call != want {
		t.Errorf("recv conn --all after the peer closed: got %q, want %q", rep.Call, want)
	}
	wantSays(t, "recv --all at the end", rep, "The call returned 0 bytes: the peer has closed its side.")
}

// TestBulkSendTimeout sends far more than a peer that does not read can
// take, with --timeout: the send gives up after that long, says how much
// went, and exactly that much reaches the peer.
func TestBulkSendTimeout(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	told := countWaiting(t, l)
	const timeout = 200 * time.Millisecond
	start := time.Now()
	rep := fill(t, l, "client", "--bytes", "64M", "--timeout", timeout.String())
	if took := time.Since(start); took < timeout || took > waitLimit {
		t.Errorf("got back after %v, want between %v and %v", took, timeout, waitLimit)
	}
	if !strings.HasSuffix(rep.Call, "(timed out after 200ms)") || len(*told) != 1 {
		t.Errorf("got call %q, told %q; want it timed out, and the wait told once", rep.Call, *told)
	}
	var sent int
	if _, err := fmt.Sscanf(rep.Says, "The 200ms of --timeout passed first: %d of 67108864 bytes were sent", &sent); err != nil || sent == 0 {
		t.Fatalf("got %q, want how much was sent (%v)", rep.Says, err)
	}
	wantSays(t, "bulk send timed out", rep, "did not do fast enough", "conn (fd")
	// What the report says went is what arrives, once conn reads.
	conn, got := sock(t, l, "conn"), 0
	buf := make([]byte, 1<<16)
	for deadline := time.Now().Add(waitLimit); got < sent && time.Now().Before(deadline); {
		if ok, _ := pollOnce(conn.FD, unix.POLLIN, 100*time.Millisecond); !ok {
			continue
		}
		n, err := unix.Read(conn.FD, buf)
		if err != nil || n == 0 {
			t.Fatalf("read: %d, %v", n, err)
		}
		got += n
	}
	if ok, _ := pollOnce(conn.FD, unix.POLLIN, 50*time.Millisecond); got != sent || ok {
		t.Errorf("conn received %d bytes (more waiting: %v), want the %d the report said were sent", got, ok, sent)
	}
}

// TestRecvAllDatagrams drains a UDP socket whose queue holds empty
// datagrams: there recv's 0 is a datagram, not an end, so --all reads on
// until the kernel has nothing left, counts every datagram it took, and
// a datagram sent afterwards is the next one read.
func TestRecvAllDatagrams(t *testing.T) {
	for _, sent := range [][]string{{""}, {"", ""}, {"a", "", "b"}, {"ab", "c"}, {"x"}} {
		t.Run(fmt.Sprintf("%q", sent), func(t *testing.T) {
			l := newLab(t)
			udpPair(t, l)
			for _, d := range sent {
				run(t, l, "send", "u", d)
			}
			r := sock(t, l, "r")
			_, _, err := unix.Recvfrom(r.FD, nil, unix.MSG_PEEK|unix.MSG_DONTWAIT)
			rep := run(t, l, "recv", "r", "--all")
			if err == nil && (len(rep.State) == 0 || !strings.HasPrefix(rep.State[0].Before, "next datagram ")) {
				t.Errorf("recv r --all: got state %+v, want r's before to say a datagram waits, as a peek found", rep.State)
			}
			if _, _, err := unix.Recvfrom(r.FD, nil, unix.MSG_PEEK|unix.MSG_DONTWAIT); err != unix.EAGAIN {
				t.Errorf("after recv --all, a peek at r: got %v, want EAGAIN: a datagram is still queued", err)
			}
			whole := strings.Join(sent, "")
			if string(rep.Data) != whole {
				t.Errorf("recv r --all: got %q, want %q", rep.Data, whole)
			}
			wantCall := fmt.Sprintf(", %d bytes in %d datagrams; the last = -1 EAGAIN", len(whole), len(sent))
			wantCall = strings.NewReplacer(" 1 bytes", " 1 byte", " 1 datagrams", " 1 datagram").Replace(wantCall)
			if !strings.HasSuffix(rep.Call, wantCall) {
				t.Errorf("recv r --all: got call %q, want it to end %q", rep.Call, wantCall)
			}
			if len(sent) > 1 {
				wantSays(t, "recv r --all", rep, fmt.Sprintf("%d calls took the %d datagrams that were queued", len(sent), len(sent)))
			}
			run(t, l, "send", "u", "y")
			if rep := run(t, l, "recv", "r"); string(rep.Data) != "y" {
				t.Errorf("recv r after --all and another send: got %q, want %q", rep.Data, "y")
			}
		})
	}
}

// TestRecvAllSuggestsAnAnswer drains a UDP socket that has no default
// peer: send would fail there (EDESTADDRREQ), so the next step is a
// sendto to the last sender, which reaches it, or, with nothing read, a
// recvfrom to learn who sends.
func TestRecvAllSuggestsAnAnswer(t *testing.T) {
	for _, step := range []string{"recv", "recvfrom"} {
		t.Run(step, func(t *testing.T) {
			l := newLab(t)
			udpPair(t, l)
			if rep := run(t, l, step, "r", "--all"); rep.Next != "recvfrom r" {
				t.Errorf("%s r --all of nothing: got next %q, want %q", step, rep.Next, "recvfrom r")
			}
			run(t, l, "send", "u", "ping")
			rep := run(t, l, step, "r", "--all")
			u := Read(sock(t, l, "u")).Local
			prefix := fmt.Sprintf("sendto r %s %d ", u.Addr(), u.Port())
			if !strings.HasPrefix(rep.Next, prefix) {
				t.Fatalf("%s r --all: got next %q, want it to begin %q", step, rep.Next, prefix)
			}
			run(t, l, "sendto", "r", u.Addr().String(), fmt.Sprint(u.Port()), "back")
			if got := run(t, l, "recv", "u"); string(got.Data) != "back" {
				t.Errorf("recv u after the suggested sendto: got %q, want %q", got.Data, "back")
			}
		})
	}
}

// TestBulkSendQueues sends more than the receiver's window to a peer that
// does not read: the report splits the bytes between the peer's receive
// queue and what TCP has not sent yet, which add up to all that was sent,
// and splits the send queue, whose acknowledged-or-not count overlaps the
// peer's queue, into bytes not yet sent and bytes sent.
func TestBulkSendQueues(t *testing.T) {
	waiting := regexp.MustCompile(`(\d+) bytes? now waits? in conn \(fd`)
	sendQ := regexp.MustCompile(`send queue holds (\d+) bytes? the peer has not acknowledged yet(?:: (\d+) not yet sent[^.]*?(?:, and (\d+) sent)?)?\.`)
	number := func(s string) int {
		n, _ := strconv.Atoi(s)
		return n
	}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			const sent = 1 << 20
			rep := run(t, l, "send", "client", "--bytes", strconv.Itoa(sent))
			w, q := waiting.FindStringSubmatch(rep.Says), sendQ.FindStringSubmatch(rep.Says)
			if w == nil || q == nil {
				t.Fatalf("send --bytes %d: got %q, want what waits in conn's receive queue and in client's send queue", sent, rep.Says)
			}
			queued, held, notSent, inFlight := number(w[1]), number(q[1]), number(q[2]), number(q[3])
			if q[2] == "" || q[3] == "" {
				inFlight = held - notSent // the sentence names no part: all of it was sent
			}
			if queued+notSent != sent || notSent+inFlight != held {
				t.Errorf("got %q: %d waiting at conn + %d not sent = %d, want the %d sent; %d not sent + %d sent = %d, want the %d held",
					rep.Says, queued, notSent, queued+notSent, sent, notSent, inFlight, notSent+inFlight, held)
			}
			if got := Read(sock(t, l, "conn")).RecvQ; got != queued {
				t.Errorf("the kernel says conn has %d bytes queued, the report %d", got, queued)
			}
		})
	}
}

// TestOneByteDatagramState: a datagram of one byte, as the kernel gives
// its size (SIOCINQ), is told in the singular on the state line.
func TestOneByteDatagramState(t *testing.T) {
	l := newLab(t)
	udpPair(t, l)
	run(t, l, "send", "u", "y")
	r := sock(t, l, "r")
	if q := Read(r).RecvQ; q != 1 {
		t.Fatalf("the kernel says the next datagram is %d bytes, want 1", q)
	}
	rep := run(t, l, "recvfrom", "r")
	if len(rep.State) == 0 || rep.State[0].Who != r.Label() || rep.State[0].Before != "next datagram 1 byte" {
		t.Errorf("recvfrom r: got state %+v, want r's before %q", rep.State, "next datagram 1 byte")
	}
}

// TestMoreDatagramsWait takes datagrams one at a time from a queue of
// several: after each, the report says whether another waits, as a peek
// finds, and gives the next one's size as the kernel does (SIOCINQ), an
// empty one included, without claiming to know how many wait.
func TestMoreDatagramsWait(t *testing.T) {
	sent := []string{"a", "bbbb", "", "cc"}
	for _, step := range []string{"recv", "recvfrom"} {
		t.Run(step, func(t *testing.T) {
			l := newLab(t)
			udpPair(t, l)
			for _, d := range sent {
				run(t, l, "send", "u", d)
			}
			r := sock(t, l, "r")
			for range sent {
				rep := run(t, l, step, "r")
				_, _, err := unix.Recvfrom(r.FD, nil, unix.MSG_PEEK|unix.MSG_DONTWAIT)
				switch next := Read(r).RecvQ; {
				case err != nil && strings.Contains(rep.Says, "datagram waits"):
					t.Errorf("%s r: got %q, want no datagram said to wait (a peek: %v)", step, rep.Says, err)
				case err != nil:
				case next == 0:
					wantSays(t, step+" r", rep, "At least one more datagram waits; the next is empty (0 bytes).")
				default:
					wantSays(t, step+" r", rep, fmt.Sprintf("At least one more datagram waits; the next is %d byte", next))
				}
			}
		})
	}
}

// TestReceiveEAGAINSaysWhy has recv and recvfrom find nothing on a UDP
// socket, non-blocking or blocking with SO_RCVTIMEO, and checks that the
// report says which: the kernel's EAGAIN is the same, but only one of
// them waited.
func TestReceiveEAGAINSaysWhy(t *testing.T) {
	for _, step := range []string{"recv", "recvfrom"} {
		for _, tc := range []struct {
			option, value string
			says, notSays string
		}{
			{"O_NONBLOCK", "on", "is non-blocking, so " + step + " returned at once", "SO_RCVTIMEO"},
			{"SO_RCVTIMEO", "50ms", "its SO_RCVTIMEO passed while " + step + " waited", "non-blocking"},
		} {
			t.Run(step+" "+tc.option, func(t *testing.T) {
				l := newLab(t)
				run(t, l, "socket", "udp", "as", "u")
				run(t, l, "bind", "u", "127.0.0.1", "0")
				run(t, l, "option", "u", tc.option, tc.value)
				start := time.Now()
				rep := refused(t, l, unix.EAGAIN, step, "u")
				waited := time.Since(start)
				if blocking := tc.option == "SO_RCVTIMEO"; blocking != (waited >= 50*time.Millisecond) {
					t.Fatalf("%s returned EAGAIN after %v: the test's premise (waited: %v) failed", step, waited, blocking)
				}
				says := foldParagraphs(rep.Failure.ForStep)
				if !strings.Contains(says, tc.says) || strings.Contains(says, tc.notSays) {
					t.Errorf("got %q, want %q in it and no %q", says, tc.says, tc.notSays)
				}
			})
		}
	}
}

// TestRecvHelpExplainsItsFlags: each flag recv's usage offers is
// explained in its help, and the sizes said there are the code's.
func TestRecvHelpExplainsItsFlags(t *testing.T) {
	about := strings.Join(strings.Fields(RecvStep.About), " ")
	for _, flag := range regexp.MustCompile(`--[a-z]+`).FindAllString(RecvStep.Usage, -1) {
		if !strings.Contains(about, flag+" ") {
			t.Errorf("help recv does not explain %s:\n%s", flag, about)
		}
	}
	for _, size := range []string{fmt.Sprintf("first %d bytes", drainShown), "up to 1 GiB"} {
		if !strings.Contains(about, size) {
			t.Errorf("help recv does not say %q", size)
		}
	}
	if MaxBulk != 1<<30 {
		t.Errorf("MaxBulk is %d; help recv says --all stops at 1 GiB", MaxBulk)
	}
}
