package repl

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exampleStates are the sockets each command's example (in `help NAME`
// and under a usage error) speaks of, made as a learner would: what the
// session holds when the example is typed. PORT is a free port.
var exampleStates = map[string][]string{
	"socket":   nil,
	"bind":     {"socket as server"},
	"listen":   {"socket as server", "bind server 127.0.0.1 PORT"},
	"accept":   {"socket as server", "bind server 127.0.0.1 PORT", "listen server", "socket as client", "connect client 127.0.0.1 PORT"},
	"connect":  {"socket as server", "bind server 127.0.0.1 PORT", "listen server", "socket as client"},
	"send":     connected,
	"recv":     append(connected[:len(connected):len(connected)], "send client hello"),
	"close":    connected,
	"shutdown": connected,
	"sendto":   {"socket udp as u", "bind u 127.0.0.1 PORT"},
	"recvfrom": {"socket udp as u", "bind u 127.0.0.1 PORT", "sendto u 127.0.0.1 PORT hello"},
	"option":   {"socket as server"},
	"auto":     nil,
	"sockets":  nil,
	"show":     {"socket as server"},
	"ports":    nil,
	"diagram":  nil,
	"narrate":  nil,
	"code":     nil,
	"expect":   {"socket as client"},
	"help":     nil,
	"quit":     nil,
}

var connected = []string{"socket as server", "bind server 127.0.0.1 PORT", "listen server",
	"socket as client", "connect client 127.0.0.1 PORT", "accept server as conn"}

// TestEveryExampleRuns types each command's example, as `help` and a
// usage error show it, into a session holding the sockets it names, and
// fails if the example fails. Where an example names port 8081 or 9090,
// or names no port and so takes auto's default of 8081, a free port the
// test holds stands in.
func TestEveryExampleRuns(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			state, ok := exampleStates[c.name]
			if !ok {
				t.Fatalf("exampleStates gives no state for %s's example %q", c.name, c.example)
			}
			s, out := fullSession(t)
			port := strconv.Itoa(freePort(t))
			for _, line := range state {
				mustEval(t, s, strings.ReplaceAll(line, "PORT", port))
			}
			example := strings.NewReplacer("8081", port, "9090", port).Replace(c.example)
			if c.name == "auto" && !strings.Contains(example, "--port") {
				example += " --port " + port
			}
			out.Reset()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := s.Eval(ctx, example); err != nil && !errors.Is(err, ErrQuit) {
				t.Errorf("the example %q, typed after %q, fails: %v\n%s", c.example, state, err, out.String())
			}
		})
	}
}
