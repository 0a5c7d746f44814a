package steps

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestConnectTimesOutAtAFullQueue lets the kernel give up on a connect to
// a listener of the lab whose accept queue is full, sooner than its two
// minutes by TCP_SYNCNT: the report blames that queue, not a host that is
// down, gives about the time the call took, and its fix works as written.
func TestConnectTimesOutAtAFullQueue(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			port := hangingConnectGivingUp(t, l, f)
			start := time.Now()
			rep := refused(t, l, unix.ETIMEDOUT, "connect", "client", f.loopback, port)
			took := time.Since(start)
			says := foldParagraphs(rep.Failure.ForStep)
			full := Read(sock(t, l, "full"))
			if want := fmt.Sprintf("accept queue is full (%d/%d", full.AcceptQueue, full.Backlog); !strings.Contains(says, want) {
				t.Errorf("got %q, want %q in it", says, want)
			}
			after := regexp.MustCompile(`gave up after ([0-9.]+) s`).FindStringSubmatch(says)
			if after == nil {
				t.Fatalf("got %q, want how long it waited", says)
			}
			if secs, _ := strconv.ParseFloat(after[1], 64); math.Abs(secs-took.Seconds()) > 0.2 {
				t.Errorf("got %q, want about %.1f s", says, took.Seconds())
			}
			if strings.Contains(says, "host may be down") {
				t.Errorf("got %q, want no host down: the listener is here", says)
			}
			command := regexp.MustCompile("`([^`]*)`").FindStringSubmatch(rep.Failure.Fix)
			if command == nil {
				t.Fatalf("got fix %q, want a command", rep.Failure.Fix)
			}
			words := strings.Fields(command[1])
			run(t, l, words[0], words[1:]...)
			run(t, l, "connect", "client", f.loopback, port)
		})
	}
}

// TestRecvTimesOutInSynSent: a recv that waits on a socket whose
// non-blocking connect to a full accept queue never finishes gets the
// connect's ETIMEDOUT once the kernel gives up on the SYNs (sooner, by
// TCP_SYNCNT), and says so, not that a connection was lost; the socket
// is CLOSED, as it says.
func TestRecvTimesOutInSynSent(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			connectingTo(t, l, f, hangingConnectGivingUp(t, l, f))
			run(t, l, "option", "client", "O_NONBLOCK", "off")
			rep := refused(t, l, unix.ETIMEDOUT, "recv", "client", "--timeout", "20s")
			says := foldParagraphs(rep.Failure.ForStep)
			if !strings.Contains(says, "never finished") || strings.Contains(says, "connection was lost") {
				t.Errorf("got %q, want the connect that never finished", says)
			}
			if st := Read(sock(t, l, "client")).State; st != Closed || !strings.Contains(says, "is CLOSED") {
				t.Errorf("the kernel says client is %s; the report says %q", st, says)
			}
		})
	}
}

// hangingConnectGivingUp is hangingConnect with the client's kernel
// giving up on the SYNs after one resend (TCP_SYNCNT 1), in about 3 s
// rather than two minutes.
func hangingConnectGivingUp(t *testing.T, l *Lab, f family) string {
	t.Helper()
	port := hangingConnect(t, l, f)
	if err := unix.SetsockoptInt(sock(t, l, "client").FD, unix.IPPROTO_TCP, unix.TCP_SYNCNT, 1); err != nil {
		t.Fatal(err)
	}
	return port
}
