package repl

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// aside is the explanation some suggestions end with, "(the peer can
// still answer)", which is for reading, not typing.
var aside = regexp.MustCompile(`\s+\(.*\)$`)

// TestSuggestionsRun plays a few exchanges, and then types the command the
// last report suggests next, as a learner would: it must run, and the
// kernel must not refuse it.
func TestSuggestionsRun(t *testing.T) {
	pair := []string{"socket as server", "bind server 127.0.0.1 PORT", "listen server", "socket as client", "connect client 127.0.0.1 PORT"}
	tests := []struct {
		name  string
		lines []string
		next  string // the command suggested, with PORT for the port
	}{
		{"answer a datagram", []string{"socket udp as a", "bind a 127.0.0.1 PORT", "socket udp as b", "bind b 127.0.0.1 0", "sendto b 127.0.0.1 PORT ping", "recvfrom a"}, "sendto a 127.0.0.1 "},
		{"accept what connected", pair, "accept server as conn"},
		{"greet who was accepted", append(pair, "accept server as conn"), `send conn "You are connected"`},
		{"read what was sent", append(pair, "accept server as conn", "send client hi"), "recv conn"},
		{"after a send the peer's kernel reset", append(pair, "accept server as conn", "close client", "send conn bye"), "close conn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, out := fullSession(t)
			port := fmt.Sprint(freePort(t))
			for _, line := range tt.lines {
				mustEval(t, s, strings.ReplaceAll(line, "PORT", port))
			}
			if s.report == nil {
				t.Fatal("the last command left no report")
			}
			next := aside.ReplaceAllString(s.report.Next, "")
			if !strings.HasPrefix(next, strings.ReplaceAll(tt.next, "PORT", port)) {
				t.Fatalf("got next %q, want %q", next, tt.next)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			out.Reset()
			if err := s.Eval(ctx, next); err != nil {
				t.Errorf("the suggested %q: %v\n%s", next, err, out.String())
			}
		})
	}
}
