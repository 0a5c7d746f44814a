package steps

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRecvNotConnectedSaysWhy checks that a recv refused with ENOTCONN
// tells the learner why this socket has no connection. On Linux only three
// TCP sockets get ENOTCONN from recv: one that never connected, a listener,
// and one whose connect failed (a connection that is over returns 0 or
// ECONNRESET instead), and each needs its own way out.
func TestRecvNotConnectedSaysWhy(t *testing.T) {
	v4 := families[0]
	tests := []struct {
		name    string
		setup   func(t *testing.T, l *Lab)
		want    string
		notWant string
	}{
		{"never connected", func(t *testing.T, l *Lab) {
			run(t, l, "socket", "as", "s")
		}, "connect s HOST PORT", "listening"},
		{"a listener", func(t *testing.T, l *Lab) {
			run(t, l, "socket", "as", "s")
			run(t, l, "bind", "s", v4.loopback, "0")
			run(t, l, "listen", "s")
		}, "listening socket", "connect s HOST PORT"},
		{"its connect was refused", func(t *testing.T, l *Lab) {
			// A port nobody holds: a listener's, once it is closed.
			port := listener(t, l, v4, "gone")
			run(t, l, "close", "gone")
			run(t, l, "socket", "as", "s")
			refused(t, l, unix.ECONNREFUSED, "connect", "s", v4.loopback, port)
		}, "its connect failed", "listening"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			tt.setup(t, l)
			says := foldParagraphs(refused(t, l, unix.ENOTCONN, "recv", "s", "--timeout", "1s").Failure.ForStep)
			if !strings.Contains(says, tt.want) {
				t.Errorf("got %q, want it to say %q", says, tt.want)
			}
			if strings.Contains(says, tt.notWant) {
				t.Errorf("got %q, want nothing of %q", says, tt.notWant)
			}
		})
	}
}
