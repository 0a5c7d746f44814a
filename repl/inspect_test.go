package repl

import (
	"strings"
	"testing"
)

// TestShowCountsTheFIN shows a connection that has shut down writing and
// sent no byte: while the peer has not acknowledged the FIN (FIN_WAIT1,
// the peer's ACK delayed after some traffic), the kernel's send-q is 1,
// and show must say that 1 is the FIN; once acknowledged, it is 0.
func TestShowCountsTheFIN(t *testing.T) {
	sawFIN := false
	for range 5 {
		s, out := pairSession(t)
		mustEval(t, s, "send client x", "recv conn", "shutdown conn write")
		got, _ := evalOut(s, out, "show conn")
		switch {
		case strings.Contains(got, "FIN_WAIT1"):
			sawFIN = true
			if want := "send-q 1: the FIN, not yet acknowledged by the peer"; !strings.Contains(got, want) {
				t.Errorf("got\n%s\nwant %q", got, want)
			}
		case strings.Contains(got, "FIN_WAIT2"):
			if want := "send-q 0 bytes not yet acknowledged"; !strings.Contains(got, want) {
				t.Errorf("got\n%s\nwant %q", got, want)
			}
		default:
			t.Fatalf("got\n%s\nwant FIN_WAIT1 or FIN_WAIT2", got)
		}
		if sawFIN {
			return
		}
	}
	t.Log("the peer's ACK of the FIN came before every show: the FIN_WAIT1 case was not seen")
}
