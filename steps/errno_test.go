package steps

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// requiredErrnos are the errnos a learner meets with the socket calls
// sockstep teaches; errno.txt must explain every one of them.
var requiredErrnos = []struct {
	name  string
	errno unix.Errno
}{
	{"EADDRINUSE", unix.EADDRINUSE},
	{"EADDRNOTAVAIL", unix.EADDRNOTAVAIL},
	{"EACCES", unix.EACCES},
	{"ECONNREFUSED", unix.ECONNREFUSED},
	{"ETIMEDOUT", unix.ETIMEDOUT},
	{"EHOSTUNREACH", unix.EHOSTUNREACH},
	{"ENETUNREACH", unix.ENETUNREACH},
	{"ECONNRESET", unix.ECONNRESET},
	{"EPIPE", unix.EPIPE},
	{"ENOTCONN", unix.ENOTCONN},
	{"EISCONN", unix.EISCONN},
	{"EINVAL", unix.EINVAL},
	{"EBADF", unix.EBADF},
	{"EMFILE", unix.EMFILE},
	{"ENFILE", unix.ENFILE},
	{"EAFNOSUPPORT", unix.EAFNOSUPPORT},
	{"EAGAIN", unix.EAGAIN},
	{"EINTR", unix.EINTR},
	{"ENOBUFS", unix.ENOBUFS},
	{"EDESTADDRREQ", unix.EDESTADDRREQ},
	{"EOPNOTSUPP", unix.EOPNOTSUPP},
	{"EPROTONOSUPPORT", unix.EPROTONOSUPPORT},
	{"EMSGSIZE", unix.EMSGSIZE},
	{"EINPROGRESS", unix.EINPROGRESS},
	{"EALREADY", unix.EALREADY},
	{"ECONNABORTED", unix.ECONNABORTED},
	{"EPERM", unix.EPERM},
	{"ENOTSOCK", unix.ENOTSOCK},
}

func TestErrnoTextCoversRequiredErrnos(t *testing.T) {
	for _, tt := range requiredErrnos {
		t.Run(tt.name, func(t *testing.T) {
			help, ok := ExplainErrno(tt.errno)
			if !ok {
				t.Fatalf("ExplainErrno(%s) reports no errno", tt.name)
			}
			if help.Name != tt.name {
				t.Errorf("Name: got %q, want %q", help.Name, tt.name)
			}
			if help.Number != int(tt.errno) {
				t.Errorf("Number: got %d, want %d", help.Number, int(tt.errno))
			}
			for _, f := range []struct{ field, value string }{
				{"Meaning", help.Meaning},
				{"Cause", help.Cause},
				{"Fix", help.Fix},
				{"Python", help.Python},
			} {
				if strings.TrimSpace(f.value) == "" {
					t.Errorf("%s is empty: errno.txt has no explanation for %s", f.field, tt.name)
				}
			}
		})
	}
}

// sentenceEnd finds where one sentence stops and the next begins.
var sentenceEnd = regexp.MustCompile(`[.!?] +[A-Z(]`)

// TestErrnoProse holds errno.txt to the style its header asks for: short
// values a newcomer can read at a glance.
func TestErrnoProse(t *testing.T) {
	byName, err := parseErrnoText(errnoFile, errnoText)
	if err != nil {
		t.Fatal(err)
	}
	for name, help := range byName {
		for _, f := range []struct{ key, value string }{
			{"meaning", help.Meaning},
			{"cause", help.Cause},
			{"fix", help.Fix},
		} {
			t.Run(name+"/"+f.key, func(t *testing.T) {
				if !strings.HasSuffix(f.value, ".") {
					t.Errorf("got %q, want a value that ends with a full stop", f.value)
				}
				if n := len(sentenceEnd.FindAllStringIndex(f.value, -1)) + 1; n > 2 {
					t.Errorf("got %d sentences in %q, want one or two", n, f.value)
				}
				if strings.Contains(strings.ToLower(f.value), "the user") {
					t.Errorf("got %q, want the learner addressed as \"you\"", f.value)
				}
			})
		}
	}
}

// cpythonErrors runs python3 once and returns, for every errno from 1 to
// last, the line CPython prints for it, such as
// "ConnectionRefusedError: [Errno 111] Connection refused".
func cpythonErrors(t *testing.T, last int) map[int]string {
	t.Helper()
	python := needPython(t, "the Python lines cannot be checked against CPython")
	const script = `
import os, sys
for n in range(1, int(sys.argv[1]) + 1):
    e = OSError(n, os.strerror(n))
    print(n, type(e).__name__, str(e), sep="\t")
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", script, strconv.Itoa(last)).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	lines := make(map[int]string)
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), "\t", 3)
		if len(fields) != 3 {
			t.Fatalf("python3 printed %q, want number, class and message", sc.Text())
		}
		n, err := strconv.Atoi(fields[0])
		if err != nil {
			t.Fatalf("python3 printed %q: %v", sc.Text(), err)
		}
		lines[n] = fields[1] + ": " + fields[2]
	}
	if len(lines) != last {
		t.Fatalf("python3 printed %d errnos, want %d", len(lines), last)
	}
	return lines
}

func TestErrnoPythonMatchesCPython(t *testing.T) {
	want := cpythonErrors(t, maxErrno)

	// Every entry of errno.txt, as ExplainErrno hands it out.
	for number, help := range errnoHelpByNumber {
		t.Run("errno.txt/"+help.Name, func(t *testing.T) {
			if help.Python != want[int(number)] {
				t.Errorf("got %q, want %q", help.Python, want[int(number)])
			}
		})
	}

	// Every other number too: the class table and the messages must hold
	// for errnos errno.txt does not cover.
	for n := 1; n <= maxErrno; n++ {
		errno := unix.Errno(n)
		t.Run(fmt.Sprintf("all/%d_%s", n, unix.ErrnoName(errno)), func(t *testing.T) {
			got := pythonError(errno)
			gotClass, _, _ := strings.Cut(got, ":")
			wantClass, _, _ := strings.Cut(want[n], ":")
			if gotClass != wantClass {
				t.Errorf("class: got %q, want %q", gotClass, wantClass)
			}
			if errno.Error() == "errno "+strconv.Itoa(n) && !strings.Contains(want[n], "Unknown error") {
				t.Skipf("Go has no message for errno %d, so sockstep cannot print CPython's %q", n, want[n])
			}
			if got != want[n] {
				t.Errorf("got %q, want %q", got, want[n])
			}
		})
	}
}

func TestExplainErrno(t *testing.T) {
	// A number with no name and no message, for the fallback's Name.
	unnamed := unix.Errno(0)
	for n := 1; n <= maxErrno; n++ {
		e := unix.Errno(n)
		if unix.ErrnoName(e) == "" && e.Error() == "errno "+strconv.Itoa(n) {
			unnamed = e
			break
		}
	}

	tests := []struct {
		name       string
		err        error
		wantOK     bool
		wantName   string
		wantNumber int
		covered    bool // errno.txt explains it, so Cause and Fix are set
	}{
		{"bare errno", unix.EADDRINUSE, true, "EADDRINUSE", int(unix.EADDRINUSE), true},
		{"fmt.Errorf %w", fmt.Errorf("bind: %w", unix.EADDRINUSE), true, "EADDRINUSE", int(unix.EADDRINUSE), true},
		{"os.NewSyscallError", os.NewSyscallError("connect", unix.ECONNREFUSED), true, "ECONNREFUSED", int(unix.ECONNREFUSED), true},
		{"wrapped twice", fmt.Errorf("step: %w", os.NewSyscallError("listen", unix.EOPNOTSUPP)), true, "EOPNOTSUPP", int(unix.EOPNOTSUPP), true},
		{"joined", errors.Join(errors.New("close failed"), unix.EBADF), true, "EBADF", int(unix.EBADF), true},
		{"other name of a covered errno", unix.EWOULDBLOCK, true, "EAGAIN", int(unix.EAGAIN), true},
		{"errno the file does not cover", os.NewSyscallError("open", unix.ENOENT), true, "ENOENT", int(unix.ENOENT), false},
		{"not an errno", errors.New("connection closed"), false, "", 0, false},
		{"os.ErrDeadlineExceeded", os.ErrDeadlineExceeded, false, "", 0, false},
		{"nil", nil, false, "", 0, false},
		{"errno 0 means success", unix.Errno(0), false, "", 0, false},
	}
	if unnamed != 0 {
		tests = append(tests, struct {
			name       string
			err        error
			wantOK     bool
			wantName   string
			wantNumber int
			covered    bool
		}{"errno without a name", unnamed, true, "errno " + strconv.Itoa(int(unnamed)), int(unnamed), false})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			help, ok := ExplainErrno(tt.err)
			if ok != tt.wantOK {
				t.Fatalf("ok: got %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				if help != (ErrnoHelp{}) {
					t.Errorf("got %+v, want the zero ErrnoHelp", help)
				}
				return
			}
			if help.Name != tt.wantName {
				t.Errorf("Name: got %q, want %q", help.Name, tt.wantName)
			}
			if help.Number != tt.wantNumber {
				t.Errorf("Number: got %d, want %d", help.Number, tt.wantNumber)
			}
			if help.Meaning == "" || help.Python == "" {
				t.Errorf("got Meaning %q and Python %q, want both set", help.Meaning, help.Python)
			}
			if tt.covered && (help.Cause == "" || help.Fix == "") {
				t.Errorf("got Cause %q and Fix %q, want errno.txt's text", help.Cause, help.Fix)
			}
			if !tt.covered && (help.Cause != "" || help.Fix != "") {
				t.Errorf("got Cause %q and Fix %q, want both empty for an errno errno.txt does not cover", help.Cause, help.Fix)
			}
		})
	}

	// The fallback's Meaning and Python come from the errno itself.
	t.Run("fallback text", func(t *testing.T) {
		help, _ := ExplainErrno(unix.ENOENT)
		if want := "No such file or directory."; help.Meaning != want {
			t.Errorf("Meaning: got %q, want %q", help.Meaning, want)
		}
		want := fmt.Sprintf("FileNotFoundError: [Errno %d] No such file or directory", int(unix.ENOENT))
		if help.Python != want {
			t.Errorf("Python: got %q, want %q", help.Python, want)
		}
	})
}

func TestParseErrnoTextAccepts(t *testing.T) {
	text := "# A comment.\r\n" +
		"\n" +
		"EADDRINUSE\r\n" +
		"fix: Pick another\n" +
		"  port.   \n" +
		"# A comment inside an entry.\n" +
		"meaning: The port is taken.\n" +
		"cause:\n" +
		"  Someone: else\n" +
		"  holds it.\n" +
		"\n" +
		"\n" +
		"EWOULDBLOCK\n" +
		"meaning: Not ready.\n" +
		"cause: Non-blocking.\n" +
		"fix: Wait." // no newline at the end
	got, err := parseErrnoText("good.txt", text)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ErrnoHelp{
		"EADDRINUSE": {
			Name:    "EADDRINUSE",
			Number:  int(unix.EADDRINUSE),
			Meaning: "The port is taken.",
			Cause:   "Someone: else holds it.",
			Fix:     "Pick another port.",
			Python:  pythonError(unix.EADDRINUSE),
		},
		"EWOULDBLOCK": {
			Name:    "EWOULDBLOCK",
			Number:  int(unix.EWOULDBLOCK),
			Meaning: "Not ready.",
			Cause:   "Non-blocking.",
			Fix:     "Wait.",
			Python:  pythonError(unix.EWOULDBLOCK),
		},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			if g := got[name]; g != w {
				t.Errorf("got %q, want %q", fmt.Sprintf("%+v", g), fmt.Sprintf("%+v", w))
			}
		})
	}
}

func TestParseErrnoTextRejects(t *testing.T) {
	const good = "meaning: M.\ncause: C.\nfix: F.\n"
	tests := []struct {
		name     string
		text     string
		wantLine int
		wantText string // a piece of the message after "bad.txt:LINE: "
	}{
		{"unknown key", "EPIPE\nmeaning: M.\ncause: C.\nfixx: F.\n", 4, `unknown key "fixx"`},
		{"upper-case key", "EPIPE\nMeaning: M.\ncause: C.\nfix: F.\n", 2, `want "key: value"`},
		{"repeated key", "EPIPE\n" + good + "cause: Again.\n", 5, `EPIPE gives "cause" twice (first at line 3)`},
		{"missing key", "EPIPE\nmeaning: M.\nfix: F.\n\nEBADF\n" + good, 1, `EPIPE has no "cause:" line`},
		{"missing key at end of file", "EPIPE\n" + good + "\nEBADF\nmeaning: M.\ncause: C.", 6, `EBADF has no "fix:" line`},
		{"empty value", "EPIPE\nmeaning: M.\ncause:\nfix: F.\n", 3, `EPIPE: "cause" is empty`},
		{"unknown errno name", "# x\nEADDRINUSED\n" + good, 2, `"EADDRINUSED" is not an errno name`},
		{"lower-case errno name", "eaddrinuse\n" + good, 1, `"eaddrinuse" is not an errno name`},
		{"duplicate entry", "EPIPE\n" + good + "\nEBADF\n" + good + "\nEPIPE\n" + good, 11, "duplicate entry: EPIPE is already explained at line 1"},
		{"duplicate under another name", "EAGAIN\n" + good + "\nEWOULDBLOCK\n" + good, 6, "duplicate entry: EWOULDBLOCK is the same errno"},
		{"no blank line between entries", "EPIPE\n" + good + "EBADF\n" + good, 5, `want "key: value" in entry EPIPE`},
		{"stray blank line in an entry", "EPIPE\nmeaning: M.\n\ncause: C.\nfix: F.\n", 1, `EPIPE has no "cause:" line`},
		{"key line before any entry", "\nmeaning: M.\n", 2, "outside an entry"},
		{"continuation after a blank line", "EPIPE\n" + good + "\n  more text.\n", 6, "continues nothing"},
		{"continuation before any key", "EPIPE\n  text.\n" + good, 2, "continues nothing"},
		{"continuation indented with a tab", "EPIPE\nmeaning: M\n\tmore.\ncause: C.\nfix: F.\n", 3, "two spaces"},
		{"continuation indented with one space", "EPIPE\nmeaning: M\n more.\ncause: C.\nfix: F.\n", 3, "two spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseErrnoText("bad.txt", tt.text)
			if err == nil {
				t.Fatalf("got %d entries and no error, want an error at bad.txt:%d", len(got), tt.wantLine)
			}
			wantPrefix := fmt.Sprintf("bad.txt:%d: ", tt.wantLine)
			if !strings.HasPrefix(err.Error(), wantPrefix) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("got %q, want %q followed by a message containing %q", err.Error(), wantPrefix, tt.wantText)
			}
		})
	}
}
