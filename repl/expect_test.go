package repl

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestExpect runs expect on live loopback sockets: a call refused with
// the errno named succeeds, and one that succeeds, is refused with
// another errno or is stopped fails, saying what happened instead. PORT
// is a port nothing listens on, or the listener's in the states that
// make one.
func TestExpect(t *testing.T) {
	tests := []struct {
		name  string
		state []string
		line  string
		ok    bool
		want  string // the verdict, as the last line of the output
	}{
		{"refused as expected", []string{"socket as c"}, "expect ECONNREFUSED connect c 127.0.0.1 PORT",
			true, "✔ connect failed with ECONNREFUSED, as expected"},
		{"EWOULDBLOCK is EAGAIN", append(connected, "option client nonblock on"), "expect ewouldblock recv client",
			true, "✔ recv failed with EAGAIN, as expected"},
		{"another errno", []string{"socket as c"}, "expect EADDRINUSE connect c 127.0.0.1 PORT",
			false, "✗ connect failed with ECONNREFUSED, where EADDRINUSE was expected"},
		{"succeeded", []string{"socket as c"}, "expect EADDRINUSE bind c 127.0.0.1 0",
			false, "✗ bind succeeded, where EADDRINUSE was expected"},
		{"stopped", connected, "expect EAGAIN recv client --timeout 50ms",
			false, "✗ recv was stopped before the call returned, so it gave no errno; EAGAIN was expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, out := fullSession(t)
			port := strconv.Itoa(freePort(t))
			for _, line := range tt.state {
				mustEval(t, s, strings.ReplaceAll(line, "PORT", port))
			}
			out.Reset()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := s.Eval(ctx, strings.ReplaceAll(tt.line, "PORT", port))
			if ok := err == nil; ok != tt.ok {
				t.Errorf("got error %v, want success %v\n%s", err, tt.ok, out)
			}
			lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
			if got := strings.TrimSpace(lines[len(lines)-1]); got != tt.want {
				t.Errorf("got %q, want %q\n%s", got, tt.want, out)
			}
		})
	}
}

// TestExpectRefused: a line expect cannot run is said with a usage and an
// example, and makes no call: the inner call's own usage, when the
// mistake is in its arguments.
func TestExpectRefused(t *testing.T) {
	tests := []struct {
		line, problem, usage string
	}{
		{"expect", "expect takes an errno's name and then the socket call", "expect ERRNO"},
		{"expect ECONNREFUSED", "expect ECONNREFUSED needs the socket call that should fail with ECONNREFUSED", "expect ERRNO"},
		{"expect NOSUCH connect c 127.0.0.1 9", `"NOSUCH" is not an errno's name`, "expect ERRNO"},
		{"expect 111 connect c 127.0.0.1 9", `"111" is not an errno's name`, "expect ERRNO"},
		{"expect ECONNREFUSED nosuchcommand", `there is no command "nosuchcommand"`, "expect ERRNO"},
		{"expect ECONNREFUSED conect c 127.0.0.1 9", `there is no command "conect"; did you mean connect?`, "expect ERRNO"},
		{"expect EPIPE sockets", "sockets makes no socket call for the kernel to refuse: expect takes one of socket, bind", "expect ERRNO"},
		{"expect EPIPE expect EPIPE send c hi", "expect makes no socket call", "expect ERRNO"},
		{"expect ECONNREFUSED connect c 127.0.0.1", "connect takes a socket, the server's host and its port", "connect SOCK HOST PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			s, out := fullSession(t)
			mustEval(t, s, "socket as c")
			out.Reset()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Eval(ctx, tt.line); !errors.Is(err, ErrFailed) {
				t.Errorf("got error %v, want ErrFailed", err)
			}
			got := out.String()
			if !strings.Contains(got, "✗ "+tt.problem) || !strings.Contains(got, "usage   "+tt.usage) ||
				!strings.Contains(got, "example ") && !strings.Contains(got, "first ") {
				t.Errorf("got %q, want ✗ %q with the usage %q and an example", got, tt.problem, tt.usage)
			}
			if strings.Contains(got, "connect(") || strings.Contains(got, "✔") {
				t.Errorf("got %q, want no call made", got)
			}
		})
	}
}
