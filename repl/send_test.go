package repl

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"sockstep/steps"
)

// TestOptionAfterTheText types an option of send or sendto after the
// text, where it would be sent as text, or sendto's words with send's
// --timeout, which sendto does not take. The step must refuse, send
// nothing, say what it must (says), and name commands; each is then
// typed, and the peer must receive what each is said to do: the option
// obeyed, or the words sent as typed. Both steps say in the same words
// how to send the option as text, naming it; where the words cannot be
// shown as typed (not ASCII), without a command.
func TestOptionAfterTheText(t *testing.T) {
	for _, tc := range []struct {
		line  string
		sends []string // what the commands it names send, in order
		says  string
	}{
		{"send conn hello --timeout 500ms", []string{"hello", "hello --timeout 500ms"}, "goes before the text"},
		{"send conn hello world --timeout=2s", []string{"hello world", "hello world --timeout=2s"}, "goes before the text"},
		{"send conn hello --bytes 10", []string{"sockstep b", "hello --bytes 10"}, "goes straight after the socket"},
		{"send conn héllo --timeout 500ms", nil, "goes before the text"},
		{"sendto u 127.0.0.1 PORT hi --bytes 5", []string{"socks", "hi --bytes 5"}, "goes straight after the socket"},
		{"sendto u 127.0.0.1 PORT hi --timeout 1s", []string{"hi --timeout 1s"}, "sendto takes no --timeout"},
		{"sendto u 127.0.0.1 PORT --timeout=1s hi", []string{"--timeout=1s hi"}, "sendto takes no --timeout"},
		{"sendto u 127.0.0.1 PORT héllo --timeout 1s", nil, "sendto takes no --timeout"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			s, out, line, to := sendingSession(t, tc.line)
			got, _ := evalOut(s, out, line)
			msg := problemSaid(got)
			if msg == "" || !strings.Contains(got, "usage ") || !strings.Contains(msg, tc.says) {
				t.Fatalf("%s: got\n%s\nwant a usage error that says %q", line, got, tc.says)
			}
			if b := received(t, to.FD); b != "" {
				t.Fatalf("%s: the peer got %q, want nothing sent", line, b)
			}
			option := "--timeout"
			if strings.Contains(line, "--bytes") {
				option = "--bytes"
			}
			advice := "To send " + option + " as text, put it and the words around it inside one pair of quotes"
			if shown := strings.Contains(msg, advice+": "+strings.Fields(line)[0]+" "); !strings.Contains(msg, advice) || shown != (tc.sends != nil) {
				t.Errorf("%s: got %q, want it to end: %s, with the command that does as the words allow", line, msg, advice)
			}
			for _, want := range tc.sends {
				start := strings.Index(msg, ": "+strings.Fields(line)[0]+" ")
				if start < 0 {
					t.Fatalf("%s: got %q, want a command to type", line, msg)
				}
				msg = msg[start+2:]
				cmd, rest, _ := strings.Cut(msg, ". ")
				msg = rest
				mustEval(t, s, cmd)
				if b := received(t, to.FD); b != want {
					t.Errorf("%s: typed %q, the peer got %q, want %q", line, cmd, b, want)
				}
			}
		})
	}
}

// received reads what waits on fd now: the bytes of a TCP connection, or
// one datagram.
func received(t *testing.T, fd int) string {
	t.Helper()
	buf := make([]byte, 1024)
	n, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
	if errors.Is(err, unix.EAGAIN) {
		return ""
	} else if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

// TestQuotedOptionIsText types, after send's and sendto's text, and as
// its first word, one quoted word that starts as an option does but has a
// space in it: it was typed as text, and both steps send it as typed, as
// the peer's kernel shows.
func TestQuotedOptionIsText(t *testing.T) {
	for _, tc := range []struct {
		line, sends string
	}{
		{`send conn a "--timeout=1s hi"`, "a --timeout=1s hi"},
		{`send conn "--timeout=1s hi"`, "--timeout=1s hi"},
		{`send conn a "--bytes=1 hi"`, "a --bytes=1 hi"},
		{`sendto u 127.0.0.1 PORT a "--timeout=1s hi"`, "a --timeout=1s hi"},
		{`sendto u 127.0.0.1 PORT "--timeout=1s hi"`, "--timeout=1s hi"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			s, out, line, to := sendingSession(t, tc.line)
			if got, err := evalOut(s, out, line); err != nil {
				t.Fatalf("%s: %v\n%s", line, err, got)
			}
			if b := received(t, to.FD); b != tc.sends {
				t.Errorf("%s: the peer got %q, want %q", line, b, tc.sends)
			}
		})
	}
}

// sendingSession is a session with a TCP connection (pairSession) and
// two UDP sockets, u and receiver, bound on 127.0.0.1, for a line that
// sends: send on conn, whose bytes reach client, or sendto from u to
// receiver at PORT. It returns the line with PORT filled in, and the
// socket whose receive queue the line's bytes would reach.
func sendingSession(t *testing.T, line string) (*Session, *strings.Builder, string, *steps.Socket) {
	t.Helper()
	s, out := pairSession(t)
	mustEval(t, s, "socket udp as u", "socket udp as receiver", "bind receiver 127.0.0.1 0")
	receiver := mustFind(t, s, "receiver")
	to := receiver
	if strings.HasPrefix(line, "send ") {
		to = mustFind(t, s, "client")
	}
	return s, out, strings.Replace(line, "PORT", fmt.Sprint(steps.Read(receiver).Local.Port()), 1), to
}
