package repl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sockstep/steps"
)

// TestScriptCtrlCWhileWaitingForALine interrupts a script that waits for
// its next line, as a pipe from a slow program makes it wait: it stops at
// once, says so, closes its socket, and does not run a line that comes
// after the interrupt.
func TestScriptCtrlCWhileWaitingForALine(t *testing.T) {
	out := &lockedBuffer{}
	s := New(out, Options{Narration: Off})
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	defer pw.Close()
	failed := make(chan int, 1)
	go func() { failed <- s.RunScript(ctx, pr) }()
	io.WriteString(pw, "socket as first\n")
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Lab().Sockets()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	go io.WriteString(pw, "socket as late\n") // typed after Ctrl-C
	select {
	case n := <-failed:
		if n == 0 {
			t.Errorf("RunScript: 0 failed, want the interrupt counted")
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the script still waits for a line after Ctrl-C:\n%s", out.String())
	}
	got := out.String()
	for _, want := range []string{"socket as first", "stopped: Ctrl-C ends the script", "close("} {
		if !strings.Contains(got, want) {
			t.Errorf("got\n%s\nwant %q", got, want)
		}
	}
	if strings.Contains(got, "late") {
		t.Errorf("a line that came after Ctrl-C was run:\n%s", got)
	}
	if n := len(s.Lab().Sockets()); n != 0 {
		t.Errorf("%d sockets still open after the script stopped", n)
	}
}

// lockedBuffer is a buffer a session may write while a test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestScriptFromAWindowsEditor runs a script as a Windows editor saves
// it: a UTF-8 byte-order mark first, CR LF line endings, and no line end
// after the last line. Every command runs.
func TestScriptFromAWindowsEditor(t *testing.T) {
	var out strings.Builder
	s := New(&out, Options{Narration: Off})
	script := "\ufeffsocket udp as u\r\n# a comment\r\n\r\nbind u 127.0.0.1 0\r\nsockets"
	if failed := s.RunScript(context.Background(), strings.NewReader(script)); failed != 0 {
		t.Errorf("%d commands failed:\n%s", failed, out.String())
	}
	got := out.String()
	for _, want := range []string{"[1] › socket udp as u\n", "# a comment\n", "[2] › bind u 127.0.0.1 0\n", "[3] › sockets\n", "SOCK_DGRAM"} {
		if !strings.Contains(got, want) {
			t.Errorf("got\n%s\nwant %q", got, want)
		}
	}
}

// TestSemicolonOnATypedLine: a typed line is one command, so `socket as
// s; sockets` fails; sockstep then says that only -c splits on `;`, and
// the commands it names each run when typed alone (and as -c runs them).
// A line that works, or whose parts are not all commands, gets no such
// note, and `send u a;b` sends the three bytes a;b.
func TestSemicolonOnATypedLine(t *testing.T) {
	const note = "One line is one command"
	for _, tt := range []struct {
		line  string
		named []string // the commands the note names, nil for no note
	}{
		{"socket as s; sockets", []string{"socket as s", "sockets"}},
		{"sockets; socket udp as t", []string{"sockets", "socket udp as t"}},
		{`socket udp as u;bind u 127.0.0.1 0; sendto u 127.0.0.1 9 "a;b"`, []string{"socket udp as u", "bind u 127.0.0.1 0", `sendto u 127.0.0.1 9 "a;b"`}},
		{"socket as s; nosuch", nil},
		{`socket as s "; sockets`, nil},
		{"socket as s", nil},
	} {
		t.Run(tt.line, func(t *testing.T) {
			var out strings.Builder
			s := New(&out, Options{Narration: Off, Width: 1000})
			err := s.Eval(context.Background(), tt.line)
			said := strings.Contains(out.String(), note)
			if said != (tt.named != nil) {
				t.Fatalf("%q (error %v) said %q: %v, want %v:\n%s", tt.line, err, note, said, tt.named != nil, out.String())
			}
			if !said {
				return
			}
			if err == nil {
				t.Errorf("%q worked, yet the note came", tt.line)
			}
			_, named, _ := strings.Cut(out.String(), "Type ")
			for _, want := range tt.named {
				if !strings.Contains(named, "`"+want+"`") {
					t.Errorf("the note does not name `%s`:\n%s", want, out.String())
				}
			}
			alone := New(&out, Options{Narration: Off})
			for _, cmd := range tt.named {
				if err := alone.Eval(context.Background(), cmd); err != nil {
					t.Errorf("%s, typed alone as the note says: %v\n%s", cmd, err, out.String())
				}
			}
			alone.Close()
			if failed := New(&out, Options{Narration: Off}).RunCommands(context.Background(), tt.line); failed != 0 {
				t.Errorf("-c %q: %d failed", tt.line, failed)
			}
		})
	}
	var out strings.Builder
	s := New(&out, Options{Narration: Off})
	defer s.Close()
	for _, line := range []string{"socket udp as u", "bind u 127.0.0.1 0"} {
		if err := s.Eval(context.Background(), line); err != nil {
			t.Fatal(line, err)
		}
	}
	u, _ := s.Lab().Find("u")
	port := steps.Read(u).Local.Port()
	for _, line := range []string{fmt.Sprintf("connect u 127.0.0.1 %d", port), "send u a;b", "recv u"} {
		if err := s.Eval(context.Background(), line); err != nil || strings.Contains(out.String(), note) {
			t.Fatalf("%s: %v\n%s", line, err, out.String())
		}
	}
	if !bytes.Equal(s.report.Data, []byte("a;b")) {
		t.Errorf("send u a;b sent %q, want a;b", s.report.Data)
	}
}

// TestFailuresListedAreBounded: the list that ends a transcript with
// failed commands names the first maxListedFailures of them and counts
// the rest, so a script of many failing lines keeps no more in memory.
func TestFailuresListedAreBounded(t *testing.T) {
	var out strings.Builder
	s := New(&out, Options{Narration: Off})
	lines := slices.Repeat([]string{"close nosuch"}, maxListedFailures+5)
	if failed := s.RunCommands(context.Background(), strings.Join(lines, "; ")); failed != len(lines) {
		t.Fatalf("%d commands failed; want %d", failed, len(lines))
	}
	out.Reset()
	s.SayFailures()
	got := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	want := fmt.Sprintf("✗ %d of %d commands failed:", len(lines), len(lines))
	if len(got) != maxListedFailures+2 || !strings.Contains(got[0], want) || !strings.Contains(got[len(got)-1], "… and 5 more") {
		t.Errorf("got %d lines:\n%s\nwant %q, %d commands, then … and 5 more", len(got), out.String(), want, maxListedFailures)
	}
	if len(s.failures) != maxListedFailures {
		t.Errorf("the session keeps %d failures; want %d", len(s.failures), maxListedFailures)
	}
}
