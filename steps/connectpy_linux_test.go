package steps

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRefusedConnectFixIsTrueOfPython connects the lab's socket s to a
// port of 127.0.0.1 where nothing listens, blocking and with --timeout,
// then has python3 do the same as its Python line, with settimeout for
// --timeout: three connects on one socket. What the fix says of a
// second connect on the same socket in Python must be what python3's
// second connect did (ConnectionAbortedError after settimeout, whose
// connect took the refusal's error with SO_ERROR; refused again, a new
// handshake, without), and the third must be refused again, as it says.
func TestRefusedConnectFixIsTrueOfPython(t *testing.T) {
	python := needPython(t, "what the fix says of a second connect in Python cannot be checked against CPython")
	port := freePort(t)
	for _, tc := range []struct {
		name  string
		flags []string // connect's, after the port
		setup string   // the Python the --timeout stands for
	}{
		{name: "blocking"},
		{name: "--timeout", flags: []string{"--timeout", "1500ms"}, setup: "s.settimeout(1.5)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "tcp", "as", "s")
			rep := refused(t, l, unix.ECONNREFUSED, "connect", append([]string{"s", "127.0.0.1", strconv.Itoa(port)}, tc.flags...)...)
			fix := strings.Join(strings.Fields(rep.Failure.Fix), " ")

			script := "import socket\ns = socket.socket()\n" + tc.setup + "\nfor _ in range(3):\n" +
				"    try:\n        s.connect(('127.0.0.1', " + strconv.Itoa(port) + "))\n        print('connected')\n" +
				"    except OSError as e:\n        print(type(e).__name__)\n"
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, python, "-c", script).CombinedOutput()
			if err != nil {
				t.Fatalf("python3: %v\n%s", err, out)
			}
			got := strings.Fields(string(out))
			if len(got) != 3 || got[0] != "ConnectionRefusedError" || got[2] != "ConnectionRefusedError" {
				t.Fatalf("python3's three connects: got %q, want the first and the last refused", got)
			}
			aborted := got[1] == "ConnectionAbortedError"
			if says := strings.Contains(fix, "raises ConnectionAbortedError"); says != aborted {
				t.Errorf("python3's second connect raised %s, yet the fix says %q", got[1], fix)
			}
			if aborted && !strings.Contains(fix, tc.setup) {
				t.Errorf("got fix %q, want it to name the Python that made the second connect fail: %s", fix, tc.setup)
			}
			if !strings.Contains(fix, "the same socket can try again") {
				t.Errorf("got fix %q, want it to say the lab's socket can connect again", fix)
			}
		})
	}
}
