package repl

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestHostileArguments types every command with an argument that is long
// and carries a terminal escape, in each place an argument can go, in a
// session with no sockets and in one with a connection, and checks that
// whatever comes back, a usage error or a report, shows it escaped and cut
// short: no raw control reaches the terminal, and no line of output
// carries the whole argument. The Python line is the one exception to the
// length: it is the learner's own text, written whole so that it can be
// copied.
func TestHostileArguments(t *testing.T) {
	hostile := "\x1b[31m" + strings.Repeat("x", 3000)
	quoted, flag := `"`+hostile+`"`, `"--`+hostile+`"`
	shapes := [][]string{
		{quoted},
		{"conn", quoted},
		{"conn", quoted, quoted},
		{"conn", "127.0.0.1", quoted},
		{"conn", "--timeout", quoted},
		{"conn", flag},
		{"server", "as", quoted},
		{"as", quoted},
	}
	var lines []string
	for _, c := range commands {
		for _, shape := range shapes {
			lines = append(lines, c.name+" "+strings.Join(shape, " "))
		}
	}
	lines = append(lines, "auto server --port "+quoted, "auto client --wait "+quoted, "auto server "+flag)
	empty, emptyOut := fullSession(t)
	full, fullOut := pairSession(t)
	for _, line := range lines {
		for _, session := range []struct {
			*Session
			out *strings.Builder
		}{{empty, emptyOut}, {full, fullOut}} {
			got, _ := evalOut(session.Session, session.out, line)
			name := line[:min(len(line), 40)]
			if loc := rawControl.FindStringIndex(got); loc != nil {
				t.Errorf("%q: raw control %q in the output:\n%s", name, got[loc[0]:loc[1]], got)
			}
			for l := range strings.Lines(got) {
				if len(l) > 400 && !strings.HasPrefix(l, "  python") {
					t.Errorf("%q: a line of %d bytes:\n%.100s…", name, len(l), l)
				}
			}
		}
	}
}

// TestScriptLineTooLong feeds a script whose second line is longer than
// one command may be: the first runs, the script stops there with a
// message that names the line, before the sockets are closed, and counts
// as failed.
func TestScriptLineTooLong(t *testing.T) {
	var out strings.Builder
	s := New(&out, Options{Narration: Full})
	script := "socket as first\nsend first " + strings.Repeat("x", maxLine) + "\nsocket as third\n"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	failed := s.RunScript(ctx, strings.NewReader(script))
	got := out.String()
	if failed == 0 {
		t.Errorf("RunScript: 0 failed, want the unread line counted")
	}
	want := fmt.Sprintf("line 2 is longer than %d bytes, the most one command may take; it and the lines after it were not run", maxLine)
	i, closing := strings.Index(got, "  ✗ "), strings.Index(got, "leaving: closing every socket")
	if said := problemSaid(got); said != want || closing < i {
		t.Errorf("got\n%s\nwant %q before the sockets are closed", got, want)
	}
	if !strings.Contains(got, "socket as first") || strings.Contains(got, "third") {
		t.Errorf("got\n%s\nwant line 1 run and line 3 not", got)
	}
}

// A history file that is a device or a named pipe, or far larger than the
// 500 commands the line editor keeps, is not given to the editor, which
// would read it whole (from /dev/zero: a gigabyte in 4 s, and on) or wait
// for a writer for ever; a history file of commands is.
func TestHistoryFileThatIsNotOne(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(file string) error
		used bool
	}{
		{"a history of commands", func(file string) error { return os.WriteFile(file, []byte("sockets\n"), 0o600) }, true},
		{"no file yet", func(string) error { return nil }, true},
		{"a link to /dev/zero", func(file string) error { return os.Symlink("/dev/zero", file) }, false},
		{"a named pipe no one reads", func(file string) error { return unix.Mkfifo(file, 0o600) }, false},
		{"a file of 100 MB", func(file string) error {
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				return err
			}
			return os.Truncate(file, 100<<20)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "history")
			if err := tc.make(file); err != nil {
				t.Fatal(err)
			}
			type answer struct{ file, unused string }
			prepared := make(chan answer, 1)
			go func() {
				file, unused := prepareHistory(file)
				prepared <- answer{file, unused}
			}()
			select {
			case got := <-prepared:
				if used := got.file != ""; used != tc.used || used == (got.unused != "") {
					t.Errorf("prepareHistory: got %q, said %q; want it used %v, and said why when it is not", got.file, got.unused, tc.used)
				}
				if !tc.used && !strings.Contains(got.unused, file) {
					t.Errorf("prepareHistory: said %q, want the file named", got.unused)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("prepareHistory did not return within 5 s")
			}
		})
	}
}
