package steps

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestBufferReportMatchesWhatItHolds sets SO_RCVBUF on a listener, whose
// connection then is not read, and SO_SNDBUF on a client whose peer does
// not read, before they connect, fills the buffer over loopback, and measures how many bytes of data the buffer holds: the
// report may say that the kernel keeps half of the doubled value for
// itself only if no more than the value asked fitted.
func TestBufferReportMatchesWhatItHolds(t *testing.T) {
	const asked = 100000
	for _, tt := range []struct {
		option, on string
		// queued reads the bytes of data the buffer holds: those the
		// program has not read, or those the peer has not acknowledged.
		queued func(l *Lab) (int, error)
	}{
		{"SO_RCVBUF", "server", func(l *Lab) (int, error) { return unix.IoctlGetInt(sock(t, l, "conn").FD, unix.SIOCINQ) }},
		{"SO_SNDBUF", "client", func(l *Lab) (int, error) { return unix.IoctlGetInt(sock(t, l, "client").FD, unix.SIOCOUTQ) }},
	} {
		t.Run(tt.option, func(t *testing.T) {
			l := newLab(t)
			port := listener(t, l, families[0], "server")
			run(t, l, "socket", "tcp", "as", "client")
			says := foldParagraphs(run(t, l, "option", tt.on, tt.option, "100000").Says)
			run(t, l, "connect", "client", families[0].loopback, port)
			run(t, l, "accept", "server", "as", "conn")
			client := sock(t, l, "client").FD
			if err := unix.SetNonblock(client, true); err != nil {
				t.Fatal(err)
			}
			// Write until the kernel takes no more, and the queue has
			// stopped growing, for at most 50 rounds.
			chunk := make([]byte, 64<<10)
			held, still := -1, 0
			for round := 0; round < 50 && still < 3; round++ {
				for range 1000 {
					if _, err := unix.Write(client, chunk); err != nil {
						break
					}
				}
				time.Sleep(10 * time.Millisecond)
				n, err := tt.queued(l)
				if err != nil {
					t.Fatal(err)
				}
				if n == held {
					still++
				} else {
					held, still = n, 0
				}
			}
			t.Logf("asked %d, the buffer held %d bytes of data", asked, held)
			if held > asked && strings.Contains(says, "keeping half") {
				t.Errorf("%d bytes of data fitted in %s asked for %d, and the report says %q", held, tt.option, asked, says)
			}
		})
	}
}
