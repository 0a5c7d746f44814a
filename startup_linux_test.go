package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// traceSockstep runs sockstep with args and stdin under strace, tracing
// the system calls named in calls, and returns strace's lines.
func traceSockstep(t *testing.T, calls, stdin string, args ...string) []string {
	t.Helper()
	strace := need(t, "strace")
	file := filepath.Join(t.TempDir(), "trace")
	cmd := exec.Command("timeout", append([]string{"30", strace, "-f", "-qq", "-e", "trace=" + calls, "-o", file, sockstep}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil && cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("strace sockstep %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	text, err := os.ReadFile(file)
	if err != nil || len(text) == 0 {
		t.Skipf("strace traced nothing here (not allowed to trace?): %v", err)
	}
	return strings.Split(string(text), "\n")
}

// A lesson finds the ports it starts from by binding a TCP and a UDP
// socket to each, as strace shows: each port is tried once for each
// kind of socket when the lesson starts, and once more when `reset`
// starts it again, never twice for one start.
func TestLessonStartTriesEachPortOnce(t *testing.T) {
	socket := regexp.MustCompile(`socket\(AF_INET, (SOCK_STREAM|SOCK_DGRAM)\b.*\) = (\d+)`)
	bind := regexp.MustCompile(`bind\((\d+), \{sa_family=AF_INET, sin_port=htons\((\d+)\).* = (0|-1 E)`) // a try that failed counts too
	for _, tc := range []struct {
		stdin  string
		starts int
	}{
		{"", 1},
		{"reset\n", 2},
	} {
		t.Run(strings.TrimSpace("lesson 1 "+tc.stdin), func(t *testing.T) {
			kinds := map[string]string{} // a socket's fd: its kind
			tries := map[string]int{}    // "SOCK_STREAM 8081": binds tried
			for _, line := range traceSockstep(t, "socket,bind", tc.stdin, "lesson", "1") {
				if m := socket.FindStringSubmatch(line); m != nil {
					kinds[m[2]] = m[1]
				}
				if m := bind.FindStringSubmatch(line); m != nil {
					tries[kinds[m[1]]+" "+m[2]]++
				}
			}
			if len(tries) == 0 {
				t.Fatal("strace shows no bind")
			}
			for port, n := range tries {
				if n > tc.starts {
					t.Errorf("the lesson started %d times, and bound a %s socket to port %s %d times", tc.starts, strings.Fields(port)[0], strings.Fields(port)[1], n)
				}
			}
		})
	}
}

// sockstep asks once at start-up whether stdin and stdout are terminals
// (an ioctl TCGETS each, as strace shows), however it runs: beyond those
// that `sockstep --version`, which asks nothing, makes as its libraries
// start, one on each.
func TestStartupAsksOnceForATerminal(t *testing.T) {
	tcgets := regexp.MustCompile(`ioctl\((\d+), TCGETS`)
	count := func(t *testing.T, stdin string, args ...string) map[string]int {
		n := map[string]int{}
		for _, line := range traceSockstep(t, "ioctl", stdin, args...) {
			if m := tcgets.FindStringSubmatch(line); m != nil {
				n[m[1]]++
			}
		}
		return n
	}
	libraries := count(t, "", "--version")
	for _, args := range [][]string{{"lesson", "1"}, {"-c", "sockets"}, {}, {"auto", "demo", "--help"}} {
		command := strings.TrimSpace("sockstep " + strings.Join(args, " "))
		t.Run(command, func(t *testing.T) {
			got := count(t, "sockets\n", args...)
			for _, fd := range []string{"0", "1"} {
				if asked := got[fd] - libraries[fd]; asked > 1 {
					t.Errorf("%s asked %d times whether fd %s is a terminal", command, asked, fd)
				}
			}
		})
	}
}
