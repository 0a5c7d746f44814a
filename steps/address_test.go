package steps

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestAddressPythonLinesRunInCPython runs the Python line of bind and
// connect, for each way of writing a host, in python3 on a socket of the
// same family, and holds what CPython's call did to what the kernel did
// for the step: the same local address after bind, the same peer after
// connect.
func TestAddressPythonLinesRunInCPython(t *testing.T) {
	python := needPython(t, "the address in bind's and connect's Python lines cannot be checked against CPython")
	cases := []struct {
		family string
		host   string
		server family // where connect's server listens
	}{
		{"ipv4", "127.0.0.1", families[0]},
		{"ipv4", "localhost", families[0]},
		{"ipv4", "::ffff:127.0.0.1", families[0]},
		{"ipv6", "::1", families[1]},
		{"ipv6", "[::1]", families[1]},
		{"ipv6", "::ffff:127.0.0.1", families[0]},
		{"ipv6", "[::ffff:127.0.0.1]", families[0]},
	}
	// cpython makes a socket of s's family called as s is, runs line on
	// it, and prints the host of the address end gives (getsockname or
	// getpeername).
	cpython := func(t *testing.T, s *Socket, line, end string) string {
		t.Helper()
		program := strings.Join([]string{
			"import socket",
			s.Py() + " = socket.socket(" + strconv.Itoa(s.Family.domain()) + ", socket.SOCK_STREAM)",
			line,
			"print(" + s.Py() + "." + end + "()[0])",
		}, "\n")
		out, err := exec.Command(python, "-c", program).CombinedOutput()
		if err != nil {
			t.Fatalf("python3 ran %q: %v\n%s", line, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, c := range cases {
		t.Run(c.family+" "+c.host, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "tcp", c.family, "as", "s")
			rep := run(t, l, "bind", "s", c.host, "0")
			if got, want := cpython(t, sock(t, l, "s"), rep.Python, "getsockname"), Read(sock(t, l, "s")).Local.Addr().String(); got != want {
				t.Errorf("bind's %q bound CPython's socket to %s; the kernel bound the step's to %s", rep.Python, got, want)
			}
			port := listener(t, l, c.server, "server")
			run(t, l, "socket", "tcp", c.family, "as", "c")
			rep = run(t, l, "connect", "c", c.host, port)
			if got, want := cpython(t, sock(t, l, "c"), rep.Python, "getpeername"), Read(sock(t, l, "c")).Remote.Addr().String(); got != want {
				t.Errorf("connect's %q connected CPython's socket to %s; the kernel connected the step's to %s", rep.Python, got, want)
			}
		})
	}
}
