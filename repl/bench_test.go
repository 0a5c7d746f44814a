package repl

import (
	"context"
	"fmt"
	"io"
	"testing"

	"sockstep/steps"
)

// BenchmarkTypedStep measures what a learner waits for after pressing
// Enter: the line split into words, the call made on a live loopback
// socket, the kernel's state read back and the narration rendered (to
// io.Discard). Each op is a pair of steps; ns/step is half of ns/op.
func BenchmarkTypedStep(b *testing.B) {
	ctx := context.Background()
	eval := func(b *testing.B, s *Session, line string) {
		if err := s.Eval(ctx, line); err != nil {
			b.Fatalf("%s: %v", line, err)
		}
	}
	session := func(b *testing.B) *Session {
		s := New(io.Discard, Options{Narration: Full})
		b.Cleanup(s.Close)
		return s
	}
	perStep := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/step")
	}

	b.Run("socket+close", func(b *testing.B) {
		s := session(b)
		for b.Loop() {
			eval(b, s, "socket as s")
			eval(b, s, "close s")
		}
		perStep(b)
	})
	b.Run("send+recv", func(b *testing.B) {
		s := session(b)
		eval(b, s, "socket as server")
		eval(b, s, "bind server 127.0.0.1 0")
		eval(b, s, "listen server")
		server, err := s.Lab().Find("server")
		if err != nil {
			b.Fatal(err)
		}
		eval(b, s, "socket as client")
		eval(b, s, fmt.Sprintf("connect client 127.0.0.1 %d", steps.Read(server).Local.Port()))
		eval(b, s, "accept server as conn")
		for b.Loop() {
			eval(b, s, `send client "Hello Server, I have connected"`)
			eval(b, s, "recv conn")
		}
		perStep(b)
	})
}
