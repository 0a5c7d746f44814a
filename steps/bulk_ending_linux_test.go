//go:build linux

package steps

import (
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestBulkSendEndings checks how a bulk send that took only part of its
// bytes ends, as Python's sendall would: a call the kernel refused after
// some bytes (the peer closed, so its kernel reset the connection) fails
// with that errno and tells how much was taken first; a wait cut short by
// --timeout fails too, its queues still shown; a non-blocking socket's
// EAGAIN ends it with what fit, as send returns it, and is no failure.
// The bytes taken are judged by TCP_INFO's bytes sent.
func TestBulkSendEndings(t *testing.T) {
	for _, f := range families {
		t.Run(f.name+"/peer gone", func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			run(t, l, "close", "conn")
			rep, err := try(t, l, "send", "client", "--bytes", "1M")
			if err != nil {
				t.Fatal(err)
			}
			if rep.Failure == nil || rep.Failure.Number != int(unix.EPIPE) {
				t.Fatalf("report %q, want EPIPE", rep.Call)
			}
			info, err := unix.GetsockoptTCPInfo(sock(t, l, "client").FD, unix.IPPROTO_TCP, unix.TCP_INFO)
			if err != nil {
				t.Fatal(err)
			}
			taken := strconv.FormatUint(info.Bytes_sent, 10)
			if info.Bytes_sent == 0 || !strings.Contains(rep.Call, "= "+taken+"  (then EPIPE)") ||
				!strings.Contains(rep.Failure.ForStep, "The kernel took "+taken+" of 1048576 bytes") {
				t.Errorf("call %q, for the step %q: want the %s bytes TCP sent told", rep.Call, rep.Failure.ForStep, taken)
			}
			if !strings.HasPrefix(rep.Python, "client.sendall(") {
				t.Errorf("python %q, want sendall", rep.Python)
			}
		})
		t.Run(f.name+"/timed out", func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			rep := fill(t, l, "client", "--bytes", "64M", "--timeout", "200ms")
			if !rep.Unfinished || !rep.Failed() || len(rep.State) == 0 {
				t.Errorf("unfinished %v, failed %v, state %v: want a failed send with its queues", rep.Unfinished, rep.Failed(), rep.State)
			}
		})
		t.Run(f.name+"/non-blocking", func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			run(t, l, "option", "client", "O_NONBLOCK", "on")
			rep := run(t, l, "send", "client", "--bytes", "64M")
			_, after, _ := strings.Cut(rep.Call, " = ")
			taken, _, _ := strings.Cut(after, " ")
			if n, err := strconv.Atoi(taken); err != nil || n == 0 || n >= 64<<20 || !strings.Contains(rep.Call, "(then EAGAIN)") || rep.Unfinished {
				t.Errorf("call %q (unfinished %v): want what fit, and no failure", rep.Call, rep.Unfinished)
			}
		})
	}
}
