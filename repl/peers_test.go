package repl

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"sockstep/steps"
)

// peerSession is a session with a listener named server on a free
// loopback port, and a peer that connected to it from outside the session
// and was accepted as conn.
func peerSession(t *testing.T) (*Session, *strings.Builder, *net.TCPConn) {
	t.Helper()
	s, out := fullSession(t)
	port := freePort(t)
	mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server")
	peer, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	mustEval(t, s, "accept server as conn --timeout 2s")
	out.Reset()
	return s, out, peer.(*net.TCPConn)
}

func mustEval(t *testing.T, s *Session, lines ...string) {
	t.Helper()
	for _, line := range lines {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.Eval(ctx, line)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
}

// mustFind is the session's socket of that name; the test fails if there
// is none.
func mustFind(t *testing.T, s *Session, name string) *steps.Socket {
	t.Helper()
	sock, err := s.lab.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	return sock
}

func evalOut(s *Session, out *strings.Builder, line string) (string, error) {
	out.Reset()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.Eval(ctx, line)
	return out.String(), err
}

// problemSaid is the message of the first ✗ line in out, its wrapped
// lines joined by single spaces; "" when out has none.
func problemSaid(out string) string {
	var words []string
	for l := range strings.Lines(out) {
		switch {
		case words == nil && strings.HasPrefix(l, "  ✗ "):
			words = strings.Fields(strings.TrimPrefix(l, "  ✗ "))
		case words != nil && strings.HasPrefix(l, "    ") && l[4] != ' ':
			words = append(words, strings.Fields(l)...)
		case words != nil:
			return strings.Join(words, " ")
		}
	}
	return strings.Join(words, " ")
}

// rawControl finds any control character in output that the renderer did
// not write itself: anything below 0x20 but newline, DEL, and C1.
var rawControl = regexp.MustCompile("[\x00-\x09\x0b-\x1f\x7f\u0080-\u009f]")

func TestMisbehavingPeers(t *testing.T) {
	t.Run("silent peer", func(t *testing.T) {
		s, out, _ := peerSession(t)
		start := time.Now()
		got, err := evalOut(s, out, "recv conn --timeout 300ms")
		if err == nil || !strings.Contains(got, "timed out after 300ms") {
			t.Errorf("recv from a silent peer: got %v and %q, want a timeout", err, got)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("the timed-out recv took %v", took)
		}
		if got, _ := evalOut(s, out, "sockets"); !strings.Contains(got, "ESTABLISHED") {
			t.Errorf("after the timeout the connection is not ESTABLISHED:\n%s", got)
		}
	})
	t.Run("escape sequences and binary", func(t *testing.T) {
		s, out, peer := peerSession(t)
		payload := "\x1b]0;pwned\x07\x1b[2J\x1b[H\x07\x00\xff\xfe\xc2\x9b31m\u202eevil\r\n"
		peer.Write([]byte(payload))
		time.Sleep(50 * time.Millisecond)
		for _, cmd := range []string{"recv conn", "recv conn --hex"} {
			peer.Write([]byte(payload))
			time.Sleep(20 * time.Millisecond)
			got, err := evalOut(s, out, cmd)
			if err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, got)
			}
			if m := rawControl.FindString(got); m != "" {
				t.Errorf("%s wrote a raw control character %q to the terminal:\n%q", cmd, m, got)
			}
		}
	})
	t.Run("reset mid-exchange", func(t *testing.T) {
		s, out, peer := peerSession(t)
		peer.Write([]byte("half a mess"))
		peer.SetLinger(0)
		peer.Close() // SO_LINGER 0: an RST, not a FIN
		time.Sleep(50 * time.Millisecond)
		// Linux still delivers what arrived before the RST, then reports
		// the reset once, then the connection is simply gone.
		got, err := evalOut(s, out, "recv conn")
		if err != nil || !strings.Contains(got, `"half a mess"`) || !strings.Contains(got, "has been reset since") {
			t.Errorf("recv after the peer's reset: got %v and\n%s\nwant the bytes sent before the RST and the reset told", err, got)
		}
		got, err = evalOut(s, out, "send conn still there?")
		if err == nil || !strings.Contains(got, "ECONNRESET (errno 104)") || !strings.Contains(got, "ConnectionResetError") {
			t.Errorf("send after the reset: got %v and\n%s\nwant ECONNRESET explained", err, got)
		}
		if got, err := evalOut(s, out, "send conn and now?"); err == nil || !strings.Contains(got, "EPIPE") {
			t.Errorf("a second send after the reset: got %v and\n%s\nwant EPIPE", err, got)
		}
		if got, _ := evalOut(s, out, "sockets"); !strings.Contains(got, "server (fd") {
			t.Errorf("the session did not survive the reset:\n%s", got)
		}
	})
	t.Run("half-close", func(t *testing.T) {
		s, out, peer := peerSession(t)
		peer.Write([]byte("my whole request"))
		peer.CloseWrite()
		time.Sleep(50 * time.Millisecond)
		if got, _ := evalOut(s, out, "recv conn"); !strings.Contains(got, `"my whole request"`) {
			t.Errorf("first recv:\n%s", got)
		}
		if got, _ := evalOut(s, out, "recv conn"); !strings.Contains(got, "= 0") || !strings.Contains(got, "CLOSE_WAIT") {
			t.Errorf("recv after the peer's half-close: got\n%s\nwant 0 bytes and CLOSE_WAIT", got)
		}
		if _, err := evalOut(s, out, `send conn "the answer"`); err != nil {
			t.Errorf("send back after the peer's half-close: %v", err)
		}
		peer.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 64)
		n, _ := peer.Read(buf)
		if string(buf[:n]) != "the answer" {
			t.Errorf("the half-closed peer read %q, want %q", buf[:n], "the answer")
		}
	})
}
