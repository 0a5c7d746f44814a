package steps

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// An ErrnoHelp explains one errno to a learner.
type ErrnoHelp struct {
	Name    string // "EADDRINUSE"
	Number  int    // 98 on Linux (from the unix.Errno value, never hand-typed)
	Meaning string // one sentence: what the kernel is saying
	Cause   string // the usual cause, in a learner's situation
	Fix     string // what to do about it
	Python  string // what Python raises for it, e.g. "OSError: [Errno 98] Address already in use"
}

// errnoFile is the name parse errors carry, so that a teacher who breaks
// the prose is sent to the right line of the right file.
const errnoFile = "errno.txt"

//go:embed errno.txt
var errnoText string

// errnoHelpByNumber holds every explanation in errno.txt, keyed by errno.
// It is parsed once at start-up; a mistake in the file panics here, so the
// first test run (or the first start of sockstep) names the broken line.
var errnoHelpByNumber = func() map[unix.Errno]ErrnoHelp {
	byName, err := parseErrnoText(errnoFile, errnoText)
	if err != nil {
		panic(err)
	}
	byNumber := make(map[unix.Errno]ErrnoHelp, len(byName))
	for _, help := range byName {
		byNumber[unix.Errno(help.Number)] = help
	}
	return byNumber
}()

// ExplainErrno returns the explanation of err if it is (or wraps) a unix.Errno.
// For an errno the file does not cover it still returns Name, Number and Python
// (from the errno itself) with a Meaning taken from the errno's own message, and ok=true.
// ok is false only when err is not an errno at all; an Errno of 0, which
// means success, counts as no errno.
//
// Name is the name errno.txt uses (EOPNOTSUPP rather than its Linux alias
// ENOTSUP), else unix.ErrnoName's, else "errno N" for a number with no name.
func ExplainErrno(err error) (ErrnoHelp, bool) {
	var errno unix.Errno
	if !errors.As(err, &errno) || errno == 0 {
		return ErrnoHelp{}, false
	}
	if help, ok := errnoHelpByNumber[errno]; ok {
		return help, true
	}
	name := unix.ErrnoName(errno)
	if name == "" {
		name = "errno " + strconv.Itoa(int(errno))
	}
	return ErrnoHelp{
		Name:    name,
		Number:  int(errno),
		Meaning: strerror(errno) + ".",
		Python:  pythonError(errno),
	}, true
}

// ErrnoNamed returns the explanation of the errno a name stands for: any
// name this system knows, in any case, so that EWOULDBLOCK is EAGAIN and
// ENOTSUP EOPNOTSUPP, each under the Name the failure lines write.
func ErrnoNamed(name string) (ErrnoHelp, bool) {
	errno, ok := errnoByName[strings.ToUpper(name)]
	if !ok {
		return ErrnoHelp{}, false
	}
	return ExplainErrno(errno)
}

// ErrnoNames are the names of the errnos errno.txt explains, sorted: the
// ones a learner meets, for completion.
func ErrnoNames() []string {
	names := make([]string, 0, len(errnoHelpByNumber))
	for _, help := range errnoHelpByNumber {
		names = append(names, help.Name)
	}
	slices.Sort(names)
	return names
}

// errnoName is the name of err's errno as the failure lines write it, or
// "" when err carries none.
func errnoName(err error) string {
	help, _ := ExplainErrno(err)
	return help.Name
}

// strerror returns the C library's message for errno, as glibc's strerror
// and Python's os.strerror print it: Go's text with a capital first letter
// ("Connection refused"), and "Unknown error N" for a number Go has no text
// for.
func strerror(errno unix.Errno) string {
	msg := errno.Error()
	if msg == "errno "+strconv.Itoa(int(errno)) {
		return "Unknown error " + strconv.Itoa(int(errno))
	}
	first, size := utf8.DecodeRuneInString(msg)
	return string(unicode.ToUpper(first)) + msg[size:]
}

// pythonError returns the line Python prints when a socket call fails with
// errno: the OSError subclass CPython picks for that errno, then the errno
// and its message, as in "ConnectionRefusedError: [Errno 111] Connection refused".
func pythonError(errno unix.Errno) string {
	class, ok := pythonErrorClass[errno]
	if !ok {
		class = "OSError"
	}
	return fmt.Sprintf("%s: [Errno %d] %s", class, int(errno), strerror(errno))
}

// pythonErrorClass is CPython's errno-to-exception table (PEP 3151, built in
// Objects/exceptions.c); an errno not in it raises plain OSError. It is
// filled from a list rather than a map literal because some of these names
// share a number (EAGAIN and EWOULDBLOCK on Linux), which a literal rejects.
var pythonErrorClass = func() map[unix.Errno]string {
	classes := []struct {
		class  string
		errnos []unix.Errno
	}{
		{"BlockingIOError", []unix.Errno{unix.EAGAIN, unix.EWOULDBLOCK, unix.EALREADY, unix.EINPROGRESS}},
		{"ChildProcessError", []unix.Errno{unix.ECHILD}},
		{"BrokenPipeError", []unix.Errno{unix.EPIPE, unix.ESHUTDOWN}},
		{"ConnectionAbortedError", []unix.Errno{unix.ECONNABORTED}},
		{"ConnectionRefusedError", []unix.Errno{unix.ECONNREFUSED}},
		{"ConnectionResetError", []unix.Errno{unix.ECONNRESET}},
		{"FileExistsError", []unix.Errno{unix.EEXIST}},
		{"FileNotFoundError", []unix.Errno{unix.ENOENT}},
		{"IsADirectoryError", []unix.Errno{unix.EISDIR}},
		{"NotADirectoryError", []unix.Errno{unix.ENOTDIR}},
		{"InterruptedError", []unix.Errno{unix.EINTR}},
		{"PermissionError", []unix.Errno{unix.EACCES, unix.EPERM}},
		{"ProcessLookupError", []unix.Errno{unix.ESRCH}},
		{"TimeoutError", []unix.Errno{unix.ETIMEDOUT}},
	}
	m := make(map[unix.Errno]string)
	for _, c := range classes {
		for _, errno := range c.errnos {
			m[errno] = c.class
		}
	}
	return m
}()

// maxErrno bounds the scan for errno names: Linux numbers its errnos below
// 135 and the BSDs and macOS below 110.
const maxErrno = 255

// errnoByName maps every errno name this system knows to its number. It is
// built by asking unix.ErrnoName about each number, so no number is typed by
// hand; ErrnoName gives one name per number, so the other names of a shared
// number (EWOULDBLOCK for EAGAIN, EOPNOTSUPP for ENOTSUP on Linux) are added
// from their unix constants.
var errnoByName = func() map[string]unix.Errno {
	m := make(map[string]unix.Errno)
	for n := 1; n <= maxErrno; n++ {
		if name := unix.ErrnoName(unix.Errno(n)); name != "" {
			m[name] = unix.Errno(n)
		}
	}
	aliases := []struct {
		name  string
		errno unix.Errno
	}{
		{"EWOULDBLOCK", unix.EWOULDBLOCK},
		{"EOPNOTSUPP", unix.EOPNOTSUPP},
		{"ENOTSUP", unix.ENOTSUP},
	}
	for _, a := range aliases {
		if _, ok := m[a.name]; !ok {
			m[a.name] = a.errno
		}
	}
	return m
}()

// errnoKeys are the keys every entry of errno.txt must give, in the order
// the file's header documents them.
var errnoKeys = []string{"meaning", "cause", "fix"}

// errnoKeyLine matches the first line of a value: a lower-case key, a
// colon, and the start of the text.
var errnoKeyLine = regexp.MustCompile(`^([a-z][a-z_-]*):\s*(.*)$`)

// errnoEntry is an entry of errno.txt while it is being read.
type errnoEntry struct {
	name    string
	errno   unix.Errno
	line    int // the line of the errno name
	values  map[string]string
	keyLine map[string]int // where each key was given
	lastKey string         // the key a continuation line adds to
}

// parseErrnoText reads text in errno.txt's format (see the comment at the
// top of errno.txt) and returns its entries keyed by the errno name as
// written. name is the file name that errors carry, as in
// "errno.txt:12: unknown key "fixx"". It rejects unknown or misspelt errno
// names, an errno given twice (under either of its names), unknown,
// repeated, missing or empty keys, and lines that fit nowhere.
func parseErrnoText(name string, text string) (map[string]ErrnoHelp, error) {
	entries := make(map[string]ErrnoHelp)
	seen := make(map[unix.Errno]*errnoEntry) // to report duplicates by line
	var cur *errnoEntry

	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...))
	}
	finish := func() error {
		if cur == nil {
			return nil
		}
		for _, key := range errnoKeys {
			value, ok := cur.values[key]
			if !ok {
				return fail(cur.line, "%s has no %q line", cur.name, key+":")
			}
			if value == "" {
				return fail(cur.keyLine[key], "%s: %q is empty", cur.name, key)
			}
		}
		entries[cur.name] = ErrnoHelp{
			Name:    cur.name,
			Number:  int(cur.errno),
			Meaning: cur.values["meaning"],
			Cause:   cur.values["cause"],
			Fix:     cur.values["fix"],
			Python:  pythonError(cur.errno),
		}
		cur = nil
		return nil
	}

	lines := strings.Split(text, "\n")
	for i, raw := range lines {
		lineNo := i + 1
		line := strings.TrimRight(raw, " \t\r")
		switch {
		case strings.HasPrefix(line, "#"):
			// A comment; it neither starts nor ends an entry.

		case line == "":
			if err := finish(); err != nil {
				return nil, err
			}

		case line[0] == ' ' || line[0] == '\t':
			if !strings.HasPrefix(line, "  ") {
				return nil, fail(lineNo, "indent a continuation line with two spaces")
			}
			if cur == nil || cur.lastKey == "" {
				return nil, fail(lineNo, "indented line continues nothing: it must follow a \"key: value\" line")
			}
			more := strings.TrimSpace(line)
			if v := cur.values[cur.lastKey]; v == "" {
				cur.values[cur.lastKey] = more
			} else {
				cur.values[cur.lastKey] = v + " " + more
			}

		case cur == nil:
			if errnoKeyLine.MatchString(line) {
				return nil, fail(lineNo, "%q is outside an entry: is there a stray blank line above it?", line)
			}
			errno, ok := errnoByName[line]
			if !ok {
				return nil, fail(lineNo, "%q is not an errno name this system knows (want a name such as EADDRINUSE)", line)
			}
			if first, dup := seen[errno]; dup {
				if first.name == line {
					return nil, fail(lineNo, "duplicate entry: %s is already explained at line %d", line, first.line)
				}
				return nil, fail(lineNo, "duplicate entry: %s is the same errno (%d) as %s at line %d", line, int(errno), first.name, first.line)
			}
			cur = &errnoEntry{
				name:    line,
				errno:   errno,
				line:    lineNo,
				values:  make(map[string]string),
				keyLine: make(map[string]int),
			}
			seen[errno] = cur

		default:
			m := errnoKeyLine.FindStringSubmatch(line)
			if m == nil {
				return nil, fail(lineNo, "want \"key: value\" in entry %s (separate entries with a blank line)", cur.name)
			}
			key, value := m[1], m[2]
			if !slices.Contains(errnoKeys, key) {
				return nil, fail(lineNo, "unknown key %q (want %s)", key, strings.Join(errnoKeys, ", "))
			}
			if at, dup := cur.keyLine[key]; dup {
				return nil, fail(lineNo, "%s gives %q twice (first at line %d)", cur.name, key, at)
			}
			cur.values[key] = value
			cur.keyLine[key] = lineNo
			cur.lastKey = key
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}

	return entries, nil
}
