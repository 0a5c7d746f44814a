package auto_test

import (
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sockstep/steps"
)

// TestSilentCloseSaysWhatTheConnectionIs: [silent close] says the state
// the kernel has the server's connection in. A client that only shuts
// down writing leaves it CLOSE_WAIT; one that closes its socket before
// the greeting comes has its kernel answer the greeting with a reset, and
// the connection is CLOSED. The server is stepped, so that the client's
// FIN has come before the greeting is sent.
func TestSilentCloseSaysWhatTheConnectionIs(t *testing.T) {
	for _, tt := range []struct {
		name      string
		end       func(conn *net.TCPConn) // before the server sends the greeting
		want, not string
	}{
		{"a half-close", func(conn *net.TCPConn) { conn.CloseWrite() }, "would stay CLOSE_WAIT", "(CLOSED)"},
		{"a close", func(conn *net.TCPConn) { conn.Close() }, "the connection is over (CLOSED)", "CLOSE_WAIT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			ended := make(chan struct{})
			rec.pause = func(next string) bool {
				if strings.HasPrefix(next, "next: send(") {
					select {
					case <-ended:
					case <-time.After(10 * time.Second):
						return false // stop: the test fails below
					}
				}
				return true
			}
			done, conn := serverWithAClient(t, rec, "--count 1 --idle-timeout 10s --step")
			server, client := netip.MustParseAddrPort(conn.RemoteAddr().String()), netip.MustParseAddrPort(conn.LocalAddr().String())
			tt.end(conn)
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				if st, _ := steps.ConnectionState(server, client); st == steps.CloseWait {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the client's FIN did not reach the server within 5s")
				}
			}
			close(ended)
			go io.Copy(io.Discard, conn) // the greeting, where the client still reads
			said := noteOnceEnded(t, done, rec, "without sending anything")
			if !strings.Contains(said, tt.want) || strings.Contains(said, tt.not) {
				t.Errorf("[silent close] says %q\nwant %q in it, and not %q", said, tt.want, tt.not)
			}
		})
	}
}
