package repl

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBulkSendAndDrain checks what `send --bytes` and `recv --all` say
// against each other: a blocking send to a peer that does not read stops
// when interrupted with part sent, a non-blocking one returns a partial
// count and then EAGAIN, and a drain reads exactly what was sent.
func TestBulkSendAndDrain(t *testing.T) {
	var out strings.Builder
	s := New(&out, Options{Narration: Full})
	defer s.Close()
	port := freePort(t)
	eval := func(ctx context.Context, line string) string {
		t.Helper()
		out.Reset()
		s.Eval(ctx, line)
		return out.String()
	}
	bg := context.Background()
	for _, line := range []string{"socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
		"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept server as conn"} {
		if got := eval(bg, line); strings.Contains(got, "✗") || strings.Contains(got, "errno") {
			t.Fatalf("%s:\n%s", line, got)
		}
	}
	sentBy := regexp.MustCompile(`send\(\d+, (\d+) bytes\) = (\d+)`)
	drained := regexp.MustCompile(`until empty: \d+ calls, (\d+) bytes`)
	number := func(re *regexp.Regexp, text string, group int) int {
		t.Helper()
		m := re.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no match for %s in:\n%s", re, text)
		}
		n, _ := strconv.Atoi(m[group])
		return n
	}

	// Blocking: the peer never reads, so the send waits until stopped.
	ctx, cancel := context.WithTimeout(bg, 500*time.Millisecond)
	blocked := eval(ctx, "send client --bytes 200M")
	cancel()
	asked, sent := number(sentBy, blocked, 1), number(sentBy, blocked, 2)
	if asked != 200<<20 || sent <= 0 || sent >= asked {
		t.Fatalf("blocking send to a peer that does not read: asked %d, sent %d; want a partial count\n%s", asked, sent, blocked)
	}
	if !strings.Contains(blocked, "waiting for room in the send buffer") || !strings.Contains(blocked, "You stopped it") {
		t.Errorf("the blocked send does not say it waited and was stopped:\n%s", blocked)
	}
	if got := number(drained, eval(bg, "recv conn --all"), 1); got > sent {
		t.Errorf("drained %d bytes, more than the %d sent", got, sent)
	}

	// Non-blocking: send takes what fits and stops at EAGAIN.
	eval(bg, "option client nonblock on")
	partial := eval(bg, "send client --bytes 200M")
	if n := number(sentBy, partial, 2); n <= 0 || n >= 200<<20 || !strings.Contains(partial, "(then EAGAIN)") {
		t.Errorf("non-blocking bulk send: got %d bytes and %q, want a partial count then EAGAIN", n, partial)
	}
	eval(bg, "option client nonblock off")
	eval(bg, "recv conn --all")
	time.Sleep(50 * time.Millisecond)
	eval(bg, "recv conn --all") // what was still in flight

	// Everything sent is what a drain finds.
	whole := number(sentBy, eval(bg, "send client --bytes 300K"), 2)
	time.Sleep(50 * time.Millisecond)
	if got := number(drained, eval(bg, "recv conn --all"), 1); got != whole || whole != 300<<10 {
		t.Errorf("sent %d bytes, drained %d; want both %d", whole, got, 300<<10)
	}
}
