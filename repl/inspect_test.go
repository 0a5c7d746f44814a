package repl

import (
	"strings"
	"testing"
)

// TestShowCountsTheFIN shows a connection that has shut down writing and
// sent no byte: while the peer has not acknowledged the FIN (FIN_WAIT1,
// the peer's ACK delayed after some traffic), the kernel's send-q is 1,
// and show must say that 1 is the FIN, never a byte. (The state and the
// queue are two reads, and the ACK may come between them, so the line is
// judged by the count it shows.)
func TestShowCountsTheFIN(t *testing.T) {
	for range 5 {
		s, out := pairSession(t)
		mustEval(t, s, "send client x", "recv conn", "shutdown conn write")
		table, _ := evalOut(s, out, "sockets")
		got, _ := evalOut(s, out, "show conn")
		if strings.Contains(got, "send-q 1 byte") {
			t.Fatalf("got\n%s\nwant the 1 called the FIN: conn sent no byte", got)
		}
		if strings.Contains(got, "send-q 1: the FIN, not yet acknowledged by the peer") {
			for _, line := range strings.Split(table, "\n") {
				// conn (fd N)  tcp4  LOCAL  REMOTE  STATE  RECV-Q  SEND-Q  READY
				f := strings.Fields(line)
				finQueued := len(f) > 8 && f[0] == "conn" && f[6] == "FIN_WAIT1" && f[8] == "1"
				if want := "SEND-Q counts it as 1"; finQueued && !strings.Contains(table, want) {
					t.Errorf("sockets, with the FIN in conn's SEND-Q: got\n%s\nwant %q", table, want)
				}
			}
			return
		}
		if !strings.Contains(got, "send-q 0 bytes not yet acknowledged") {
			t.Fatalf("got\n%s\nwant send-q 0, or 1 for the FIN", got)
		}
	}
	t.Log("the peer's ACK of the FIN came before every show: the FIN was not seen in send-q")
}
