package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTimeoutBoundsEveryWaitOfARun runs, with sockstep --timeout, commands
// from a file, a pipe, -c and a lesson, each with a call that nothing will
// ever answer: an accept with no client, a recv from a silent peer, a
// recvfrom with no datagram, a connect to a listener whose accept queue is
// full (its kernel ignores the SYN), a send to a peer that does not read,
// and auto server with no client. Each
// wait ends after the time given, says that it was sockstep's --timeout
// and how to wait longer, the run goes on to its next command, and the
// exit status says a command failed (a send that sent part of its bytes
// before the time ran out failed too, as Python's sendall raises). A
// command's own --timeout still bounds its own wait.
func TestTimeoutBoundsEveryWaitOfARun(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("NO_COLOR", "1")
	port := strconv.Itoa(freeTestPort(t))
	listening := []string{"socket as s", "bind s 127.0.0.1 " + port, "listen s"}
	file := filepath.Join(t.TempDir(), "commands")
	bounded := []string{"`sockstep --timeout`, which bounds every wait of this run",
		"To wait longer, give this command a --timeout of its own, or sockstep a longer one."}
	for _, tc := range []struct {
		name     string
		how      string // run, pipe, -c, lesson, auto
		commands []string
		want     []string
		status   int
	}{
		{"accept from a file", "run", append(listening, "accept s", "sockets"),
			append([]string{"accept(3) … timed out after 400ms"}, append(bounded, "[5] › sockets")...), 1},
		{"recv from a pipe", "pipe", append(listening, "socket as c", "connect c 127.0.0.1 "+port, "recv c", "sockets"),
			append([]string{"recv(4, 1024) … timed out after 400ms"}, append(bounded, "[7] › sockets")...), 1},
		{"recvfrom from -c", "-c", []string{"socket udp as u", "bind u 127.0.0.1 0", "recvfrom u", "sockets"},
			append([]string{"recvfrom(3, 1024) … timed out after 400ms"}, append(bounded, "[4] › sockets")...), 1},
		{"connect to a full accept queue", "-c", []string{"socket as l", "bind l 127.0.0.1 " + port, "listen l 0",
			"socket as a", "connect a 127.0.0.1 " + port, "socket as b", "connect b 127.0.0.1 " + port, "sockets"},
			append([]string{"connect(5, 127.0.0.1:" + port + ") … timed out after 400ms"}, append(bounded, "[8] › sockets")...), 1},
		{"send to a peer that does not read", "-c", append(listening, "socket as c", "connect c 127.0.0.1 "+port,
			"accept s as conn", "send conn --bytes 50M", "sockets"),
			[]string{"send(5, 52428800 bytes) = ", "(timed out after 400ms)",
				"The 400ms of `sockstep --timeout`, which bounds every wait of this run, passed first", "[8] › sockets"}, 1},
		{"accept in a lesson from a pipe", "lesson", append(listening, "accept s"),
			append([]string{"accept(3) … timed out after 400ms"}, bounded...), 1},
		{"a command's own --timeout first", "-c", append(listening, "accept s --timeout 300ms"),
			[]string{"accept(3) … timed out after 300ms", "sockstep waited 300ms (--timeout)"}, 1},
		{"auto server with no client", "auto", []string{"server", "--host", "127.0.0.1", "--port", "0", "--quiet"},
			[]string{"Listening for incoming connections on port", "auto server ended because accept timed out"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			timeout := "400ms"
			if strings.Contains(tc.name, "own --timeout") {
				timeout = "30s"
			}
			var p *process
			switch tc.how {
			case "run":
				if err := os.WriteFile(file, []byte(strings.Join(tc.commands, "\n")+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				p = start(t, nil, sockstep, "--timeout", timeout, "run", file)
			case "pipe":
				p = start(t, strings.NewReader(strings.Join(tc.commands, "\n")+"\n"), sockstep, "--timeout", timeout)
			case "-c":
				p = start(t, nil, sockstep, "-c", strings.Join(tc.commands, "; "), "--timeout", timeout)
			case "lesson":
				p = start(t, strings.NewReader(strings.Join(tc.commands, "\n")+"\n"), sockstep, "lesson", "2", "--timeout", timeout)
			case "auto":
				p = sockstepAuto(t, nil, append(tc.commands, "--timeout", timeout)...)
			}
			began := time.Now()
			out := wantStatus(t, p, tc.status)
			wantInOrder(t, out, tc.want...)
			if took := time.Since(began); took > 15*time.Second {
				t.Errorf("the run took %v, with --timeout %s", took, timeout)
			}
		})
	}
}

// TestTimeoutTakesADuration: sockstep --timeout with a value that is no
// duration, or none that is more than zero, is a wrong command line.
func TestTimeoutTakesADuration(t *testing.T) {
	for _, value := range []string{"0", "soon", "-1s"} {
		out := wantStatus(t, start(t, nil, sockstep, "--timeout", value, "-c", "sockets"), 2)
		wantInOrder(t, out, `sockstep: --timeout takes a duration such as 5s, 500ms or 2m, not "`+value+`"`)
	}
}
