package steps

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWhyBytesWait makes a client's bytes wait in two ways and asks
// send, the bulk send, shutdown and close why. The kernel says which it
// is, read here before and after the step: the persist timer in
// /proc/net/tcp for a peer whose receive buffer of a few kilobytes is
// full, which advertised a zero window; the retransmission timer, its wait
// doubled (TCP_INFO's tcpi_backoff), for a peer that shrank its receive
// buffer after bytes came, so that its kernel drops what comes next. A
// segment lost is not a full window: TCP sends nothing new until the
// segment sent again is acknowledged, and a recv on the peer does not
// bring that sooner.
func TestWhyBytesWait(t *testing.T) {
	// A connection no program holds is dropped once the kernel gives up
	// (measured on loopback: after 110 s of segments sent again, 340 s of
	// zero-window probes, with net.ipv4.tcp_orphan_retries 0), with no
	// reset (TestOrphanGivenUpSendsNoReset); the report names the setting,
	// which must be there.
	orphan := "it gives up and drops it without a word: the peer stays ESTABLISHED"
	if _, err := os.Stat("/proc/sys/net/ipv4/tcp_orphan_retries"); err != nil {
		t.Fatalf("the setting close names: %v", err)
	}
	lost := []string{"went unacknowledged", "retransmission timer fires, after a wait that doubles each time"}
	for _, tc := range []struct {
		timer     TimerKind
		step      []string
		says, not []string
	}{
		{PersistTimer, []string{"send", "client", "hello"}, []string{
			"because the peer's receive window is full: its kernel advertised a zero window, no room at all until the peer reads",
			"its persist timer probes the window"}, lost},
		{RetransmitTimer, []string{"send", "client", "hello"}, append([]string{
			"because a segment sent before them went unacknowledged: TCP sends nothing new until the peer acknowledges it",
			"so a recv on the peer does not bring them sooner"}, lost...), []string{"window is full", "shortly"}},
		{PersistTimer, []string{"send", "client", "--bytes", "1000", "--timeout", "300ms"}, []string{
			"which TCP sends as the peer's recv makes room"}, lost},
		{RetransmitTimer, []string{"send", "client", "--bytes", "1000", "--timeout", "300ms"}, append([]string{
			"not yet sent, which wait behind a segment that went unacknowledged"}, lost...), []string{"recv makes room", "shortly"}},
		{RetransmitTimer, []string{"send", "client", "--bytes", "64M", "--nonblock"}, append([]string{
			"A send fails with EAGAIN until acknowledgements free room in the buffer: a segment sent went unacknowledged"}, lost[:1]...),
			[]string{"acknowledges the", "shortly"}},
		{PersistTimer, []string{"shutdown", "client", "write"}, []string{
			"queued before it have gone (they wait for the peer to read: its receive window is full)"}, lost},
		{RetransmitTimer, []string{"shutdown", "client", "write"}, append([]string{
			"queued before it have gone (they wait behind a segment that went unacknowledged"}, lost...), []string{"window is full"}},
		{PersistTimer, []string{"close", "client"}, []string{
			"because the peer's receive window is full: it has no room for more until it reads", orphan}, lost},
		{RetransmitTimer, []string{"close", "client"}, append([]string{
			"because a segment sent before them went unacknowledged", "sends them once that segment is acknowledged", orphan}, lost...),
			[]string{"window is full", "as the peer makes room"}},
	} {
		for _, f := range families {
			t.Run(fmt.Sprintf("%s timer %d %s", f.name, tc.timer, strings.Join(tc.step, " ")), func(t *testing.T) {
				l := newLab(t)
				if tc.timer == PersistTimer {
					port := listener(t, l, f, "server")
					run(t, l, "option", "server", "SO_RCVBUF", "1000") // accepted sockets take the listener's
					run(t, l, "socket", "tcp", f.name, "as", "client")
					run(t, l, "connect", "client", f.loopback, port)
					run(t, l, "accept", "server", "as", "conn")
					fill(t, l, "client", "--bytes", "60000", "--timeout", "1s")
				} else {
					pair(t, l, f)
					fill(t, l, "client", "--bytes", "200000", "--timeout", "1s")
					run(t, l, "option", "conn", "SO_RCVBUF", "1000")
					fill(t, l, "client", "--bytes", "200000", "--timeout", "1s")
				}
				client := sock(t, l, "client")
				ends := Read(client)
				timer := func() (TimerKind, int) {
					c, ok := tableEntry(t, ends.Local, ends.Remote)
					if !ok {
						t.Fatalf("%v→%v is not in /proc/net/tcp", ends.Local, ends.Remote)
					}
					backoff := 0
					if info, err := unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
						backoff = int(info.Backoff)
					}
					return c.Timer, backoff
				}
				for try := 0; ; try++ {
					kind, backoff := timer()
					if kind == tc.timer && (kind != RetransmitTimer || backoff > 0) {
						break
					}
					if try == 100 {
						t.Fatalf("/proc/net/tcp: timer %d, backoff %d; want timer %d", kind, backoff, tc.timer)
					}
					time.Sleep(20 * time.Millisecond)
				}
				step := tc.step
				if step[len(step)-1] == "--nonblock" {
					step = step[:len(step)-1]
					run(t, l, "option", "client", "O_NONBLOCK", "on")
				}
				rep := run(t, l, step[0], step[1:]...)
				if kind, _ := timer(); kind != tc.timer {
					t.Fatalf("after %s: /proc/net/tcp says timer %d, want %d still", tc.step[0], kind, tc.timer)
				}
				wantSays(t, strings.Join(tc.step, " "), rep, tc.says...)
				says := strings.Join(strings.Fields(rep.Says), " ")
				for _, not := range tc.not {
					if strings.Contains(says, not) {
						t.Errorf("%s: got %q, want no %q with timer %d", strings.Join(tc.step, " "), says, not, tc.timer)
					}
				}
			})
		}
	}
}
