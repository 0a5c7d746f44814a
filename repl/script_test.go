package repl

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
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
