package repl

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRefusalExamplesWork: each command that names a socket, refused
// for a socket the session lacks, shows its usage and an example that
// works when typed next, in an empty session, in one with a listener and
// a connected pair, and with a UDP socket too; the refusal changes
// nothing. An example that has to wait (accept on an empty queue, recv
// with nothing queued) is stopped after a moment: it was taken, not
// refused.
func TestRefusalExamplesWork(t *testing.T) {
	states := map[string][]string{
		"empty": nil,
		"pair": {"socket as server", "bind server 127.0.0.1 PORT", "listen server",
			"socket as client", "connect client 127.0.0.1 PORT", "accept server as conn"},
		"pair and udp": {"socket as server", "bind server 127.0.0.1 PORT", "listen server",
			"socket as client", "connect client 127.0.0.1 PORT", "accept server as conn", "socket udp as u"},
		"fresh": {"socket as a", "socket ipv6 as b", "socket udp as u"},
	}
	for _, c := range commands {
		if c.fit == nil {
			continue
		}
		for name, state := range states {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				s, out := fullSession(t)
				port := strconv.Itoa(freePort(t))
				for _, line := range state {
					mustEval(t, s, strings.ReplaceAll(line, "PORT", port))
				}
				names := s.Lab().Names()
				said, err := evalOut(s, out, c.name+" nosuch")
				if err == nil || !strings.Contains(said, "✗ ") || !strings.Contains(said, "\n  usage   "+c.name) {
					t.Fatalf("%s nosuch: got %q, %v; want it refused with its usage", c.name, said, err)
				}
				if got := s.Lab().Names(); !slices.Equal(got, names) {
					t.Errorf("the sockets were %q and are %q: a refused line changed them", names, got)
				}
				m := exampleLine.FindStringSubmatch(said)
				if m == nil {
					t.Fatalf("got %q, which shows no example", said)
				}
				out.Reset()
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				defer cancel()
				err = s.Eval(ctx, m[1])
				if err != nil && !(errors.Is(ctx.Err(), context.DeadlineExceeded) && !strings.Contains(out.String(), "✗")) {
					t.Errorf("in %s, the example %q of %s's refusal fails when typed: %v\n%s", name, m[1], c.name, err, out.String())
				}
			})
		}
	}
}
