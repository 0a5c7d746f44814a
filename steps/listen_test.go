package steps

import (
	"fmt"
	"strings"
	"testing"
)

// The command listen suggests for a client must be one connect accepts:
// the host and the port as two words.
func TestListenSuggestsAConnectThatWorks(t *testing.T) {
	for name, host := range map[string]string{"loopback": "127.0.0.1", "every interface": ""} {
		t.Run(name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "as", "server")
			run(t, l, "bind", "server", host, "0")
			rep := run(t, l, "listen", "server")
			server, _ := l.Find("server")
			want := fmt.Sprintf("connect c 127.0.0.1 %d)", Read(server).Local.Port())
			if !strings.HasSuffix(rep.Next, want) {
				t.Errorf("got next %q, want it to end with %q", rep.Next, want)
			}
		})
	}
}

// TestListenRoom checks the number of waiting connections listen's report
// gives against the kernel: that many clients finish their handshake with
// nobody calling accept, and the next one's connect waits, its SYN
// ignored.
func TestListenRoom(t *testing.T) {
	for _, backlog := range []int{0, 1, 3} {
		t.Run(fmt.Sprint("backlog ", backlog), func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "as", "server")
			run(t, l, "bind", "server", "127.0.0.1", "0")
			rep := run(t, l, "listen", "server", fmt.Sprint(backlog))
			room := backlog + 1
			wantSays(t, "listen", rep, fmt.Sprintf("up to %d may wait", room))
			port := portOf(t, l, "server")
			for i := range room {
				name := fmt.Sprint("client", i)
				run(t, l, "socket", "as", name)
				if rep := run(t, l, "connect", name, "127.0.0.1", port, "--timeout", "2s"); rep.Stopped {
					t.Fatalf("client %d of %d: got %q, want it connected", i+1, room, rep.Call)
				}
			}
			run(t, l, "socket", "as", "late")
			if rep := run0(t, l, "connect", "late", "127.0.0.1", port, "--timeout", "300ms"); !rep.Stopped {
				t.Errorf("client %d: got %q, want its connect to wait: the queue holds %d", room+1, rep.Call, room)
			}
		})
	}
}

// TestListenAgain calls listen on a listener with two connections waiting:
// only the backlog changes, and the two stay for accept, as the report
// says.
func TestListenAgain(t *testing.T) {
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	for _, name := range []string{"a", "b"} {
		run(t, l, "socket", "as", name)
		run(t, l, "connect", name, "127.0.0.1", port)
	}
	rep := run(t, l, "listen", "server", "1")
	for _, want := range []string{"was listening already", "from 128 to 1", "The 2 connections in its queue stay"} {
		if !strings.Contains(rep.Says, want) {
			t.Errorf("got %q, want %q", rep.Says, want)
		}
	}
	for _, name := range []string{"c1", "c2"} {
		run(t, l, "accept", "server", "--timeout", "1s", "as", name)
	}
}
