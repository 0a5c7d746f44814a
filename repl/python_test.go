package repl

import (
	"strings"
	"testing"
)

// TestPythonLineShowsTheCommand: a line of the tutorial's Python typed at
// the prompt is refused as Python, not as an unknown command, and the
// command shown in its place runs, making the same call.
func TestPythonLineShowsTheCommand(t *testing.T) {
	tests := []struct {
		before []string
		typed  string
		same   string
	}{
		{nil, "s = socket.socket()", "socket as s"},
		{nil, "server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)", "socket as server_socket"},
		{nil, "u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)", "socket udp ipv6 as u"},
		{nil, "c = socket.socket(AF_INET, SOCK_DGRAM)", "socket udp as c"},
		{[]string{"socket as s"}, `s.bind(("", 0))`, `bind s "" 0`},
		{[]string{"socket as s"}, `s.bind(('127.0.0.1', 0))`, "bind s 127.0.0.1 0"},
		{[]string{"socket as s", "bind s 127.0.0.1 0"}, "s.listen(5)", "listen s 5"},
		{[]string{"socket as s", "bind s 127.0.0.1 0"}, "s.listen()", "listen s"},
		{[]string{"socket as s"}, "s.close()", "close s"},
	}
	for _, tt := range tests {
		t.Run(tt.typed, func(t *testing.T) {
			s, out := fullSession(t)
			mustEval(t, s, tt.before...)
			said, err := evalOut(s, out, tt.typed)
			if err == nil || !strings.Contains(said, "that is Python") || strings.Contains(said, "there is no command") {
				t.Fatalf("got %q, %v; want it refused as Python", said, err)
			}
			m := exampleLine.FindStringSubmatch(said)
			if m == nil || m[1] != tt.same {
				t.Fatalf("got %q, want the command %q shown", said, tt.same)
			}
			if shown, err := evalOut(s, out, m[1]); err != nil {
				t.Errorf("the command shown, %q, failed: %q", m[1], shown)
			}
		})
	}
	if got := fromPython("s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)"); got != "" {
		t.Errorf("fromPython(AF_UNIX) = %q, want none: sockstep makes no such socket", got)
	}
	for _, line := range []string{"conn, addr = s.accept()", "data = conn.recv(1024)", `c.sendall(b"hi")`, `c.connect(("127.0.0.1", 8081))`} {
		if got := fromPython(line); got == "" {
			t.Errorf("fromPython(%q) is empty, want a command", line)
		}
	}
	if got, want := fromPython("conn, addr = s.accept()"), "accept s as conn"; got != want {
		t.Errorf("fromPython(accept) = %q, want %q", got, want)
	}
	if got, want := fromPython("data = conn.recv(1024)"), "recv conn 1024"; got != want {
		t.Errorf("fromPython(recv) = %q, want %q", got, want)
	}
}
