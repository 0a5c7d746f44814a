package repl

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sockstep/internal/kerneltest"
	"sockstep/steps"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/ from this run")

// TestTranscripts plays each testdata/*.cmds file through a session on
// live loopback sockets and compares the normalised output with the
// .golden file beside it. {{PORT}} in a script is a port that was free a
// moment before. Run `go test ./repl -run Transcripts -update` to rewrite
// the golden files, and review the diff.
func TestTranscripts(t *testing.T) {
	if err := kerneltest.SuggestedPortsFree(); err != nil {
		t.Fatal(err)
	}
	scripts, err := filepath.Glob("testdata/*.cmds")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no transcripts found: %v", err)
	}
	for _, script := range scripts {
		name := strings.TrimSuffix(filepath.Base(script), ".cmds")
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(script)
			if err != nil {
				t.Fatal(err)
			}
			port := freePort(t)
			got := playTranscript(t, strings.ReplaceAll(string(text), "{{PORT}}", strconv.Itoa(port)), port)
			compareGolden(t, strings.TrimSuffix(script, ".cmds")+".golden", got)
		})
	}
}

// playTranscript runs a script with lines unwrapped, so that normalising
// a sentence does not depend on where it was wrapped.
func playTranscript(t *testing.T, script string, port int) string {
	t.Helper()
	var out strings.Builder
	s := New(&out, Options{Width: 10000})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	failed := s.RunScript(ctx, strings.NewReader(script))
	if strings.Contains(out.String(), "[narration error") {
		t.Errorf("a prose template failed:\n%s", out.String())
	}
	return normalise(out.String(), port) + fmt.Sprintf("(commands failed: %d)\n", failed)
}

var (
	// A socket's fd, in its label or as the call that made it returned it
	// (a session that shows calls only has no labels for some).
	fdRef        = regexp.MustCompile(`(?m)\(fd (\d+)\)|^  (?:socket|accept)\(.*\) = (\d+)\b`)
	ephemeral    = regexp.MustCompile(`(127\.0\.0\.1|0\.0\.0\.0|\]|::1|localhost)(:|, )(\d{4,5})\b`)
	milliseconds = regexp.MustCompile(`\d+(\.\d+)? ms\b`)
	seconds      = regexp.MustCompile(`\d+\.\d s\b`)
	padding      = regexp.MustCompile(` {2,}(handshake|waited) `)
	// A table's first column is as wide as its widest socket label, and
	// the labels' fd numbers have one digit or two depending on what else
	// the test process has open.
	labelColumn = regexp.MustCompile(`(\(fd F\d+\)|SOCKET) {2,}`)
	// This machine's limits, which the narration reads from /proc/sys:
	// the steps' own tests check each against its file.
	machineLimit = regexp.MustCompile(`\b\d+ (bytes |seconds )?here\b`)
	timeWaitLeft = regexp.MustCompile(`TIME_WAIT \d+s\b`) // the seconds its timer has left, as ports gives them
	finWait      = regexp.MustCompile(`FIN_WAIT[12](: the FIN (is not acknowledged yet|has arrived)[^.]*|: the peer has acknowledged the FIN, and this side waits for the peer's own close)?`)
)

// normalise replaces what differs from run to run: fd numbers (renumbered
// in order of appearance) and the width of a table's column of them, the
// test's port, ephemeral ports, timings, this machine's limits, what is
// said of fd 3 alone (which a socket gets or not as the test binary has
// other files open), and
// whether the peer's delayed ACK of a FIN had come back yet (FIN_WAIT1 or
// FIN_WAIT2, a real race on loopback).
func normalise(out string, port int) string {
	fds := map[string]string{}
	for _, m := range fdRef.FindAllStringSubmatch(out, -1) {
		fd := m[1] + m[2]
		if _, ok := fds[fd]; !ok {
			fds[fd] = fmt.Sprintf("F%d", len(fds)+1)
		}
	}
	for fd, name := range fds {
		for _, pattern := range []string{`\(fd %s\)`, `\b(fd|descriptor) %s\b`, `(?m)^  (socket|accept)\((.*)\) = %s\b`, `(?m)^  (\w+)\(%s([,)])`, `; (\w+)\(%s([,)])`} {
			re := regexp.MustCompile(fmt.Sprintf(pattern, fd))
			out = re.ReplaceAllStringFunc(out, func(m string) string {
				i := strings.LastIndex(m, fd)
				return m[:i] + name + m[i+len(fd):]
			})
		}
	}
	out = strings.ReplaceAll(out, strconv.Itoa(port), "PORT")
	for _, m := range ephemeral.FindAllStringSubmatch(out, -1) {
		out = regexp.MustCompile(`\b`+m[3]+`\b`).ReplaceAllString(out, "EPH")
	}
	out = padding.ReplaceAllString(out, "  $1 ")
	out = labelColumn.ReplaceAllString(out, "$1  ")
	out = milliseconds.ReplaceAllString(out, "T ms")
	out = seconds.ReplaceAllString(out, "T s")
	out = finWait.ReplaceAllString(out, "FIN_WAIT1|2")
	out = timeWaitLeft.ReplaceAllString(out, "TIME_WAIT Ns")
	out = machineLimit.ReplaceAllString(out, "N ${1}here")
	out = strings.ReplaceAll(out, " (0, 1 and 2 are its standard input, output and error)", "") // said of fd 3 only
	return out
}

// freePort asks the kernel for a port that is free on 127.0.0.1 now and
// that no entry of the kernel's TCP table mentions (an earlier run's
// TIME_WAIT would show up in `ports`).
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		port := boundPort(t)
		if !mentioned(t, port) {
			return port
		}
	}
	t.Fatal("no port free of TIME_WAIT entries after 50 tries")
	return 0
}

func mentioned(t *testing.T, port int) bool {
	conns, err := steps.Connections()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if int(c.Local.Port()) == port || int(c.Remote.Port()) == port {
			return true
		}
	}
	return false
}

// boundPort is a port the kernel chose for a socket bound to 127.0.0.1:0.
func boundPort(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}
