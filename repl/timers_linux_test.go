//go:build linux

package repl

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sockstep/steps"
)

// procTimer reads, from /proc/net/tcp itself, the timer the kernel runs
// for the IPv4 connection from local port to remote port: its number,
// and the time until it fires (in hundredths of a second).
func procTimer(t *testing.T, local, remote uint16) (kind int, expires time.Duration, found bool) {
	t.Helper()
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := fmt.Sprintf("0100007F:%04X 0100007F:%04X", local, remote)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1]+" "+fields[2] != want {
			continue
		}
		tr, when, _ := strings.Cut(fields[5], ":")
		k, _ := strconv.ParseUint(tr, 16, 8)
		ticks, _ := strconv.ParseUint(when, 16, 32)
		return int(k), time.Duration(ticks) * 10 * time.Millisecond, true
	}
	return 0, 0, false
}

// firesIn is the time show gives after "fires in".
func firesIn(t *testing.T, got string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`fires in (\d+) (ms|s)\b`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("got\n%s\nwant \"fires in N ms\"", got)
	}
	n, _ := strconv.Atoi(m[1])
	if m[2] == "s" {
		return time.Duration(n) * time.Second
	}
	return time.Duration(n) * time.Millisecond
}

// TestShowTimers puts a connection in the states where the kernel runs
// each of its timers, and wants show to name the one /proc/net/tcp names
// at that moment, with the time until it fires between the kernel's
// figure read before show and the one read after, and the doublings of
// its wait and the segments sent again as TCP_INFO counts them.
func TestShowTimers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string // after a pair; PORT is the server's port
		setup func(t *testing.T, s *Session)
		kind  int // as /proc/net/tcp numbers it
		says  []string
	}{
		{
			name: "persist: the peer has no room and does not read",
			setup: func(t *testing.T, s *Session) {
				port := freePort(t)
				mustEval(t, s, "socket as small", fmt.Sprintf("bind small 127.0.0.1 %d", port), "option small SO_RCVBUF 1000", "listen small",
					"close client", "socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept small as peer",
					"send client --bytes 60000 --timeout 1s")
			},
			kind: 4,
			says: []string{"zero-window probe (ss: persist), fires in", "the wait doubles after each probe (backoff BACKOFF)",
				"not yet sent (TCP_INFO): the peer advertised a zero window, no room at all, until it reads (the persist timer below)"},
		},
		{
			name:  "retransmission: the peer shrank its buffer and drops what comes",
			lines: []string{"send client --bytes 200000 --timeout 1s", "option conn SO_RCVBUF 1000", "send client --bytes 200000 --timeout 1s"},
			kind:  1,
			says: []string{"retransmission (ss: on), fires in", "(backoff BACKOFF)",
				"a segment went unacknowledged, and TCP sends nothing new while it sends that again",
				"TCP has sent RESENT again over this connection"},
		},
		{
			name:  "keepalive",
			lines: []string{"option client SO_KEEPALIVE on"},
			setup: func(t *testing.T, s *Session) {
				if err := unix.SetsockoptInt(mustFind(t, s, "client").FD, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 5); err != nil {
					t.Fatal(err)
				}
			},
			kind: 2,
			says: []string{"keepalive (ss: keepalive), fires in", "TCP sends a keepalive probe"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, out := pairSession(t)
			for _, line := range tc.lines {
				mustEval(t, s, line)
			}
			if tc.setup != nil {
				tc.setup(t, s)
			}
			client := mustFind(t, s, "client")
			snap := steps.Read(client)
			local, remote := snap.Local.Port(), snap.Remote.Port()
			for try := 0; ; try++ {
				kind, before, _ := procTimer(t, local, remote)
				info, err := unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
				if err != nil {
					t.Fatal(err)
				}
				if kind != tc.kind || (tc.kind == 1 && info.Backoff == 0) {
					if try == 50 {
						t.Fatalf("/proc/net/tcp: timer %d, backoff %d; want timer %d", kind, info.Backoff, tc.kind)
					}
					time.Sleep(50 * time.Millisecond)
					continue
				}
				got, _ := evalOut(s, out, "show client")
				kindAfter, after, _ := procTimer(t, local, remote)
				infoAfter, _ := unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
				if kindAfter != kind || after > before || infoAfter.Backoff != info.Backoff || infoAfter.Total_retrans != info.Total_retrans {
					continue // the timer fired meanwhile: read again
				}
				got = strings.Join(strings.Fields(got), " ")
				if in := firesIn(t, got); in > before+10*time.Millisecond || in < after-10*time.Millisecond {
					t.Errorf("show client: fires in %v; /proc/net/tcp said %v before, %v after", in, before, after)
				}
				r := strings.NewReplacer("BACKOFF", fmt.Sprint(info.Backoff), "RESENT", steps.Counted(int(info.Total_retrans), "segment"))
				for _, want := range tc.says {
					if strings.Contains(want, "BACKOFF") && info.Backoff == 0 {
						want = "fires in" // the wait has not doubled yet: no backoff to tell
					}
					if want = r.Replace(want); !strings.Contains(got, want) {
						t.Errorf("show client: got\n%s\nwant %q", got, want)
					}
				}
				if tc.kind != 1 && strings.Contains(got, "sent again") != (info.Total_retrans > 0) {
					t.Errorf("show client: got\n%s\nwant segments sent again said only when TCP_INFO counts some (%d)", got, info.Total_retrans)
				}
				return
			}
		})
	}
}

// TestPortsTimeWaitTimer closes both ends of a connection, the client's
// first, and wants `ports PORT` to give its TIME_WAIT's time left as
// /proc/net/tcp gives it, in whole seconds.
func TestPortsTimeWaitTimer(t *testing.T) {
	s, out := pairSession(t)
	snap := steps.Read(mustFind(t, s, "client"))
	local, remote := snap.Local.Port(), snap.Remote.Port()
	mustEval(t, s, "close client", "close conn")
	for range 50 {
		kind, before, _ := procTimer(t, local, remote)
		if kind != 3 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		got, _ := evalOut(s, out, fmt.Sprint("ports ", remote))
		_, after, _ := procTimer(t, local, remote)
		m := regexp.MustCompile(`TIME_WAIT (\d+)s`).FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("ports: got\n%s\nwant TIME_WAIT Ns", got)
		}
		n, _ := strconv.Atoi(m[1])
		if sec := time.Duration(n) * time.Second; sec > before || sec < after-time.Second {
			t.Errorf("ports: TIME_WAIT %ds; /proc/net/tcp said %v before, %v after", n, before, after)
		}
		if !strings.Contains(strings.Join(strings.Fields(got), " "), "TIME_WAIT Ns: the kernel keeps the connection N seconds more") {
			t.Errorf("ports: got\n%s\nwant TIME_WAIT Ns explained", got)
		}
		return
	}
	t.Fatal("/proc/net/tcp: no TIME_WAIT timer for the closed connection")
}

// TestShowNotSentLeavesOutTheFIN shuts down writing on a client whose
// peer has no room: the FIN waits behind the bytes not sent, and show
// counts the bytes as TCP_INFO counts the data sent (tcpi_bytes_sent, less
// what was sent again), the FIN apart.
func TestShowNotSentLeavesOutTheFIN(t *testing.T) {
	s, out := fullSession(t)
	port := freePort(t)
	const given = 5000
	mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "option server SO_RCVBUF 1000", "listen server",
		"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept server as conn",
		fmt.Sprintf("send client --bytes %d --timeout 1s", given), "shutdown client write")
	client := mustFind(t, s, "client")
	got, _ := evalOut(s, out, "show client")
	info, err := unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil || info.State != uint8(steps.FinWait1) {
		t.Fatalf("TCP_INFO: state %d, %v; want FIN_WAIT1", info.State, err)
	}
	unsent := given - int(info.Bytes_sent-info.Bytes_retrans)
	want := fmt.Sprintf("of the send-q, %s not yet sent, and the FIN after them (TCP_INFO)", steps.Counted(unsent, "byte"))
	if !strings.Contains(strings.Join(strings.Fields(got), " "), want) {
		t.Errorf("show client: got\n%s\nwant %q", got, want)
	}
}

// TestShowSYNResendsThatDidNotDouble connects to a listener whose accept
// queue is full, which drops the SYN, and waits until Linux has sent it
// again more times than it has doubled the wait: it keeps the wait the
// same for a SYN's first net.ipv4.tcp_syn_linear_timeouts resends. show
// must not say the wait doubled each time, and must say how many waited
// the same, as the kernel counts them at that moment.
func TestShowSYNResendsThatDidNotDouble(t *testing.T) {
	t.Parallel()
	linear, err := os.ReadFile("/proc/sys/net/ipv4/tcp_syn_linear_timeouts")
	if n, _ := strconv.Atoi(strings.TrimSpace(string(linear))); err != nil || n == 0 {
		t.Skip("this kernel doubles the wait after each SYN resend (no net.ipv4.tcp_syn_linear_timeouts)")
	}
	s, out := fullSession(t)
	synSentClient(t, s)
	client := mustFind(t, s, "client")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("after 10 s the SYN was not yet sent again after a doubled wait")
		}
		info, err := unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			t.Fatal(err)
		}
		if steps.TCPState(info.State) != steps.SynSent {
			t.Fatalf("the client is %s, not SYN_SENT", steps.TCPState(info.State))
		}
		if info.Backoff == 0 || int(info.Retransmits) <= int(info.Backoff) {
			continue
		}
		got, _ := evalOut(s, out, "show client")
		after, _ := unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
		if after.Retransmits != info.Retransmits || after.Backoff != info.Backoff {
			continue // the timer fired meanwhile: read again
		}
		got = strings.Join(strings.Fields(got), " ")
		same := int(info.Retransmits) - int(info.Backoff)
		want := fmt.Sprintf("the wait stayed the same for the first %d of them, then doubled %s (backoff %d)",
			same, steps.Counted(int(info.Backoff), "time"), info.Backoff)
		if !strings.Contains(got, want) || strings.Contains(got, "doubles each time") {
			t.Errorf("show client after %d SYN resends, %d doublings: got\n%s\nwant %q", info.Retransmits, info.Backoff, got, want)
		}
		return
	}
}
