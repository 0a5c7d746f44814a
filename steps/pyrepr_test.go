package steps

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPyReprIsCPythons hands the lab's socket to python3 and has it print
// the socket object, as network_server.py's print(connection) does: the
// same line as PyRepr's, but for the fd number, which is 3 in python3.
// A connection of each family, a reset one (no peer any more) and a
// listener are compared.
func TestPyReprIsCPythons(t *testing.T) {
	python := needPython(t, "the socket's Python line cannot be checked against CPython")
	cpython := func(t *testing.T, s *Socket) string {
		t.Helper()
		fd, err := unix.Dup(s.FD)
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(fd), s.Name)
		defer f.Close()
		// Family and type are read from the socket, as Python's accept
		// gets them; proto is 0, which accept passes on from socket().
		cmd := exec.Command(python, "-c", "import socket; print(socket.socket(proto=0, fileno=3))")
		cmd.ExtraFiles = []*os.File{f} // fd 3 in python3
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("python3: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	same := func(t *testing.T, s *Socket) {
		t.Helper()
		want := cpython(t, s)
		if got := strings.Replace(PyRepr(s), "fd="+strconv.Itoa(s.FD)+",", "fd=3,", 1); got != want {
			t.Errorf("got  %s\nwant %s (CPython)", got, want)
		}
	}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			same(t, sock(t, l, "conn"))
			same(t, sock(t, l, "server"))
			run(t, l, "option", "client", "SO_LINGER", "1", "0")
			run(t, l, "close", "client") // a reset: conn has no peer now
			same(t, sock(t, l, "conn"))
		})
	}
}
