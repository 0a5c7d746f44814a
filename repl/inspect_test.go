package repl

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"sockstep/steps"

	"golang.org/x/sys/unix"
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

// TestSocketsWhenNoneIsOpen checks what sockets says with no socket open:
// that none is, and, once the session has made some, that they are
// closed, as the kernel says of their descriptors, and that diagram draws
// them.
func TestSocketsWhenNoneIsOpen(t *testing.T) {
	tests := []struct {
		lines  []string // run first
		closed bool     // sockets were made, and are closed
	}{
		{nil, false},
		{[]string{"close nosuch"}, false}, // a command that made nothing
		{[]string{"socket as a", "close a"}, true},
		{[]string{"socket as a", "socket udp as b", "close all"}, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.lines, "; "), func(t *testing.T) {
			var out strings.Builder
			s := New(&out, Options{})
			defer s.Close()
			var fds []int
			for _, line := range tt.lines {
				evalOut(s, &out, line)
				for _, sock := range s.lab.Sockets() {
					fds = append(fds, sock.FD)
				}
			}
			got, err := evalOut(s, &out, "sockets")
			if err != nil || !strings.Contains(got, "no sockets open") {
				t.Errorf("sockets says %q (%v), want that no socket is open", got, err)
			}
			if says := strings.Contains(got, "every socket of this session is closed"); says != tt.closed {
				t.Errorf("sockets says %q: saying the session's sockets are closed is %v, want %v", got, says, tt.closed)
			}
			for _, fd := range fds {
				if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
					t.Errorf("fd %d is still open (%v)", fd, err)
				}
			}
			if tt.closed {
				if drawn, _ := evalOut(s, &out, "diagram"); !strings.Contains(drawn, "close(") {
					t.Errorf("sockets points to diagram, which does not draw the closes:\n%s", drawn)
				}
			}
		})
	}
}

// TestTableNotesFitTheWidth: the notes under the tables of sockets and
// ports are wrapped to the session's width, as prose is (the rows are
// TestTablesFitTheWidth's).
func TestTableNotesFitTheWidth(t *testing.T) {
	const width = 40
	out := new(strings.Builder)
	s := New(out, Options{Width: width})
	t.Cleanup(s.Close)
	port := freePort(t)
	mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
		"socket udp as u", fmt.Sprintf("bind u 127.0.0.1 %d", port))
	for _, line := range []string{"sockets", fmt.Sprint("ports ", port)} {
		got, err := evalOut(s, out, line)
		if err != nil {
			t.Fatal(err)
		}
		notes := 0
		for _, l := range strings.Split(got, "\n") {
			if f := strings.Fields(l); len(f) == 0 || f[0] == "SOCKET" || f[0] == "PROTO" || strings.Contains(l, "(fd ") {
				continue // a row of the table
			}
			notes++
			if n := utf8.RuneCountInString(l); n > width {
				t.Errorf("%s: a note of %d columns, in a session %d wide: %q", line, n, width, l)
			}
		}
		if notes < 3 {
			t.Errorf("%s: got %d lines of notes, want the table's notes\n%s", line, notes, got)
		}
	}
}

// TestMappedAddressesAreExplained: an IPv6 listener on :: that takes IPv4
// too, and an IPv4 client. The kernel gives the IPv6 end the client's
// address in its IPv4-mapped form; sockets and show explain that form
// wherever such an address is on screen, and only there.
func TestMappedAddressesAreExplained(t *testing.T) {
	s, out := fullSession(t)
	port := freePort(t)
	mustEval(t, s, "socket ipv6 as server", "option server v6only off", fmt.Sprintf("bind server :: %d", port), "listen server",
		"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port))
	client := steps.Read(mustFind(t, s, "client")).Local.Addr()
	note := fmt.Sprintf("::ffff:%s is an IPv4-mapped address: the IPv4 address %s written for an IPv6 socket; packets to and from it go over IPv4.", client, client)
	check := func(line string, want bool) {
		t.Helper()
		got, err := evalOut(s, out, line)
		if err != nil {
			t.Fatal(err)
		}
		if flat := strings.Join(strings.Fields(got), " "); strings.Contains(flat, note) != want {
			t.Errorf("%s: got\n%s\nwant the note %v", line, got, want)
		}
	}
	check("sockets", false) // no IPv4-mapped address on screen yet
	check("show client", false)
	check("show server", true) // the connection waiting in its queue
	mustEval(t, s, "accept server as conn")
	if peer := steps.Read(mustFind(t, s, "conn")).Remote.Addr(); !peer.Is4In6() || peer.Unmap() != client {
		t.Fatalf("the kernel gives conn the peer %v, want %s's address IPv4-mapped", peer, client)
	}
	check("sockets", true)
	check("show conn", true)
	check("show server", false)
}
