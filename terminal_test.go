package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"sockstep/steps"
)

// The real-terminal tests start the built binary under a pseudo-terminal,
// type at it, and read the screen back, as a learner would meet it.

// binary is the sockstep built once for all the tests, by TestMain.
func binary(t *testing.T) string {
	t.Helper()
	return sockstep
}

// terminal is the binary running under a pty of 100×40.
type terminal struct {
	t      *testing.T
	cmd    *exec.Cmd
	pty    *os.File
	screen *screen
	raw    bytes.Buffer
	rawMu  sync.Mutex
	done   chan struct{}
}

func startTerminal(t *testing.T, configDir string, env ...string) *terminal {
	t.Helper()
	return startResizedTerminal(t, configDir, 100, 100, env...)
}

// startResizedTerminal starts the binary under a pty of startCols columns,
// and once the prompt is shown makes it cols wide, as a learner who
// narrows the window does.
func startResizedTerminal(t *testing.T, configDir string, startCols, cols uint16, env ...string) *terminal {
	t.Helper()
	cmd := exec.Command(binary(t))
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+configDir, "TERM=xterm", "NO_COLOR=")
	cmd.Env = append(cmd.Env, env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: startCols})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, cmd: cmd, pty: f, screen: newScreen(40, int(cols)), done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				term.rawMu.Lock()
				term.raw.Write(buf[:n])
				term.rawMu.Unlock()
				term.screen.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		f.Close()
	})
	term.waitFor("[1] › ")
	if startCols != cols {
		if err := pty.Setsize(f, &pty.Winsize{Rows: 40, Cols: cols}); err != nil {
			t.Fatal(err)
		}
	}
	return term
}

// typeText sends keystrokes, a few at a time, as typing does.
func (term *terminal) typeText(s string) {
	term.t.Helper()
	if _, err := io.WriteString(term.pty, s); err != nil {
		term.t.Fatalf("typing %q: %v", s, err)
	}
	time.Sleep(30 * time.Millisecond)
}

// waitFor waits up to five seconds for text to appear on the screen.
// Lines on the screen are right-trimmed, so trailing spaces are too.
func (term *terminal) waitFor(text string) {
	term.t.Helper()
	text = strings.TrimRight(text, " ")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(term.screen.text(), text) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	term.t.Fatalf("%q never appeared on the screen:\n%s", text, term.screen.text())
}

// waitExit waits up to five seconds for the program to leave.
func (term *terminal) waitExit() int {
	term.t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- term.cmd.Wait() }()
	select {
	case err := <-exited:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 0
	case <-time.After(5 * time.Second):
		term.t.Fatalf("sockstep did not leave:\n%s", term.screen.text())
	}
	return -1
}

func (term *terminal) rawOutput() string {
	term.rawMu.Lock()
	defer term.rawMu.Unlock()
	return term.raw.String()
}

// listeningTerminal starts sockstep under a pty, with the narration at
// level narrate and a socket named server listening on a free loopback
// port, and waits for the prompt after it.
func listeningTerminal(t *testing.T, narrate string) (*terminal, int) {
	t.Helper()
	term := startTerminal(t, t.TempDir())
	port := freeTestPort(t)
	term.typeText(fmt.Sprintf("narrate %s\rsocket as server\rbind server 127.0.0.1 %d\rlisten server\r", narrate, port))
	term.waitFor("[5] › ")
	return term, port
}

func freeTestPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestTerminalFirstCommand(t *testing.T) {
	term := startTerminal(t, t.TempDir())
	term.typeText("socket as server\r")
	term.waitFor("socket(AF_INET, SOCK_STREAM, 0) = ")
	term.waitFor("[2] › ")
	if !strings.Contains(term.screen.text(), "python  server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)") {
		t.Errorf("no Python line on the screen:\n%s", term.screen.text())
	}
}

func TestTerminalHistoryAcrossRuns(t *testing.T) {
	config := t.TempDir()
	first := startTerminal(t, config)
	first.typeText("socket as remembered\r")
	first.waitFor("[2] › ")
	first.typeText("quit\r")
	if code := first.waitExit(); code != 0 {
		t.Fatalf("quit: exit status %d", code)
	}
	info, err := os.Stat(filepath.Join(config, "sockstep", "history"))
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("history file mode: got %o, want 600", mode)
	}
	second := startTerminal(t, config)
	second.typeText("\x1b[A\x1b[A") // Up, Up
	second.waitFor("[1] › socket as remembered")
}

func TestTerminalTabCompletion(t *testing.T) {
	term := startTerminal(t, t.TempDir())
	term.typeText("narrate of\t")
	term.waitFor("[1] › narrate off")
	term.typeText("\r")
	term.typeText("socket as alpha\r")
	term.waitFor("[3] › ")
	term.typeText("bind al\t")
	term.waitFor("[3] › bind alpha ")
}

func TestTerminalCtrlCAtPrompt(t *testing.T) {
	term := startTerminal(t, t.TempDir())
	term.typeText("socket as never")
	term.typeText("\x03")
	term.waitFor("[1] › socket as never^C\n[1] ›")
	term.typeText("\x03") // on an empty line: how to leave
	term.waitFor("(Ctrl-D or quit closes every socket and leaves)")
	term.typeText("sockets\r")
	term.waitFor("no sockets open")
	if strings.Contains(term.screen.text(), "socket(AF_INET") {
		t.Errorf("the interrupted line was run:\n%s", term.screen.text())
	}
}

func TestTerminalCtrlCWhileAcceptWaits(t *testing.T) {
	term, _ := listeningTerminal(t, "brief")
	term.typeText("accept server\r")
	term.waitFor("Ctrl-C stops waiting")
	term.typeText("\x03")
	term.waitFor("stopped waiting (Ctrl-C)")
	term.waitFor("[6] › ")
	term.typeText("sockets\r")
	term.waitFor("LISTEN 0/128")
}

func TestTerminalNoticeKeepsTheHalfTypedLine(t *testing.T) {
	term, port := listeningTerminal(t, "off")
	term.typeText("sockets")
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	term.waitFor("a connection is waiting to be accepted")
	time.Sleep(100 * time.Millisecond)
	if line := term.screen.cursorLine(); line != "[5] › sockets" {
		t.Errorf("the line being typed after the notice: got %q, want %q\n%s", line, "[5] › sockets", term.screen.text())
	}
	term.typeText("\r")
	term.waitFor("LISTEN 1/128")
}

func TestTerminalCtrlDClosesEverySocket(t *testing.T) {
	term, port := listeningTerminal(t, "off")
	if !listening(t, port) {
		t.Fatalf("port %d is not listening before Ctrl-D", port)
	}
	term.typeText("\x04")
	if code := term.waitExit(); code != 0 {
		t.Errorf("exit status after Ctrl-D: got %d, want 0", code)
	}
	term.waitFor("close(")
	if listening(t, port) {
		t.Errorf("port %d still listening after Ctrl-D", port)
	}
}

// listening asks the kernel's table whether anything listens on the port.
func listening(t *testing.T, port int) bool {
	t.Helper()
	conns, err := steps.Connections()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if c.State == steps.Listen && int(c.Local.Port()) == port {
			return true
		}
	}
	return false
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func TestTerminalColour(t *testing.T) {
	for _, tt := range []struct {
		name   string
		env    []string
		colour bool
	}{
		{"on a terminal", nil, true},
		{"with NO_COLOR", []string{"NO_COLOR=1"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			term := startTerminal(t, t.TempDir(), tt.env...)
			term.typeText("socket\r")
			term.waitFor("[2] › ")
			if got := sgr.MatchString(term.rawOutput()); got != tt.colour {
				t.Errorf("colour sequences in the output: got %v, want %v", got, tt.colour)
			}
		})
	}
}

// TestTerminalSignalDuringBlockingRecv checks that a SIGINT sent by
// another process (not typed) also stops only the wait.
func TestTerminalSignalDuringBlockingRecv(t *testing.T) {
	term, port := listeningTerminal(t, "off")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	term.typeText("accept server as conn\rrecv conn\r")
	term.waitFor("waiting for data from")
	term.cmd.Process.Signal(syscall.SIGINT)
	term.waitFor("stopped waiting (Ctrl-C)")
	conn.Write([]byte("late"))
	term.typeText("recv conn\r")
	term.waitFor(`"late"`)
}

// TestTerminalCtrlCStopsAutoServer runs auto server inside the shell,
// serves one client, and stops it with Ctrl-C: the flow closes what it
// opened, prints its summary, and the prompt comes back.
func TestTerminalCtrlCStopsAutoServer(t *testing.T) {
	term := startTerminal(t, t.TempDir())
	port := freeTestPort(t)
	term.typeText(fmt.Sprintf("auto server --host 127.0.0.1 --port %d --quiet\r", port))
	term.waitFor(fmt.Sprintf("Listening for incoming connections on port %d . . .", port))
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	greeting := make([]byte, len("You are connected"))
	if _, err := io.ReadFull(conn, greeting); err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("Hello from the test"))
	conn.Close()
	term.waitFor("Client disconnected")
	term.typeText("\x03")
	term.waitFor("1 client served")
	term.waitFor("[2] › ")
	if !regexp.MustCompile(`(?m)^auto server stopped: 1 client served`).MatchString(term.screen.text()) {
		t.Errorf("the summary does not start a line of its own after ^C:\n%s", term.screen.text())
	}
	if listening(t, port) {
		t.Errorf("port %d still listens after Ctrl-C stopped auto server", port)
	}
	term.typeText("sockets\r")
	term.waitFor("no sockets open")
}

// TestTerminalLearnersSocketsAreNumberedFrom3: in the shell, with its
// line editor and history file open, the learner's first socket gets file
// descriptor 3, as in a program of their own, and the narration says why.
func TestTerminalLearnersSocketsAreNumberedFrom3(t *testing.T) {
	term := startTerminal(t, t.TempDir())
	term.typeText("socket as server\r")
	term.waitFor("socket(AF_INET, SOCK_STREAM, 0) = 3")
	term.waitFor("[2] › ")
	if text := strings.Join(strings.Fields(term.screen.text()), " "); !strings.Contains(text, "gave it file descriptor 3, the lowest number this process had free (0, 1 and 2 are its standard input, output and error)") {
		t.Errorf("got\n%s\nwant fd 3 explained", term.screen.text())
	}
}

// TestFileDescriptorsAreTheLearners runs sockstep as a learner would and
// checks the numbers its sockets get: 3, then 4, and after a close the
// lowest number free again, as in a program of their own. sockstep's own
// descriptors (the netlink socket a refused connect's narration opens,
// Go's poller) take none of them.
func TestFileDescriptorsAreTheLearners(t *testing.T) {
	out, err := exec.Command(binary(t), "-c", "socket as a; socket as b; connect b 127.0.0.1 9; sockets; close a; socket as c; socket as d").Output()
	if err != nil && !strings.Contains(string(out), "ECONNREFUSED") {
		t.Fatalf("%v\n%s", err, out)
	}
	var got []string
	for _, line := range strings.Split(string(out), "\n") {
		if call, ok := strings.CutPrefix(strings.TrimSpace(line), "socket(AF_INET, SOCK_STREAM, 0) = "); ok {
			got = append(got, call)
		}
	}
	if want := []string{"3", "4", "3", "5"}; !slices.Equal(got, want) {
		t.Errorf("got file descriptors %v, want %v\n%s", got, want, out)
	}
}

// TestTerminalNarrowWrapsWholeWords runs socket on a terminal 40 columns
// wide, and on one narrowed to 50 after sockstep started: the narration
// and the shell's welcome are wrapped to the terminal's width, so the
// terminal never has to break a word. The narration's words are those of
// the same narration written to a pipe.
func TestTerminalNarrowWrapsWholeWords(t *testing.T) {
	const welcome = "sockstep: the socket API, one real call at a time. `lessons` starts from the beginning; `help` lists the commands; Tab completes; Ctrl-D leaves."
	piped, err := exec.Command(binary(t), "-c", "socket as s").Output()
	if err != nil {
		t.Fatal(err)
	}
	var prose []string
	for _, line := range strings.Split(string(piped), "\n") {
		if strings.HasPrefix(line, "  The kernel made") || len(prose) > 0 && !strings.HasPrefix(line, "  state") {
			prose = append(prose, strings.Fields(line)...)
			continue
		}
		if len(prose) > 0 {
			break
		}
	}
	if len(prose) < 20 {
		t.Fatalf("no narration of socket in\n%s", piped)
	}
	for _, tt := range []struct {
		name            string
		startCols, cols uint16
	}{
		{"40 columns", 40, 40},
		{"narrowed from 100 to 50 columns", 100, 50},
	} {
		t.Run(tt.name, func(t *testing.T) {
			term := startResizedTerminal(t, t.TempDir(), tt.startCols, tt.cols)
			term.typeText("socket as s\r")
			term.waitFor("[2] › ")
			screen := strings.Join(strings.Fields(term.screen.text()), " ")
			if !strings.Contains(screen, strings.Join(prose, " ")) {
				t.Errorf("the narration's words are broken on a screen %d columns wide:\n%s", tt.cols, term.screen.text())
			}
			if !strings.Contains(screen, welcome) {
				t.Errorf("the welcome's words are broken on a screen %d columns wide:\n%s", tt.cols, term.screen.text())
			}
		})
	}
}

// TestTerminalDemoColumnsFitAWideTerminal plays auto demo in the shell on
// a terminal 140 columns wide, from the start or widened after sockstep
// started: the two columns share the whole width, so the separator stands
// where the header puts it, at column 69, on every row from the header to
// the summary, and the terminal wraps no line.
func TestTerminalDemoColumnsFitAWideTerminal(t *testing.T) {
	for _, tt := range []struct {
		name            string
		startCols, cols uint16
	}{
		{"140 columns", 140, 140},
		{"widened from 100 to 140 columns", 100, 140},
	} {
		t.Run(tt.name, func(t *testing.T) {
			term := startResizedTerminal(t, t.TempDir(), tt.startCols, tt.cols)
			term.typeText("auto demo --port 0\r")
			term.waitFor("auto demo done")
			rows := strings.Split(term.screen.text(), "\n")
			header := slices.IndexFunc(rows, func(r string) bool { return strings.Contains(r, "┼") })
			if header < 0 {
				t.Fatalf("no header on the screen:\n%s", term.screen.text())
			}
			const separator = 69
			if got := []rune(rows[header]); len(got) <= separator || got[separator] != '┼' {
				t.Fatalf("the header's separator is not at column %d: %q", separator, rows[header])
			}
			for _, row := range rows[header+1:] {
				if strings.HasPrefix(row, "auto demo done") || row == "" {
					break
				}
				if r := []rune(row); len(r) <= separator || r[separator] != '│' {
					t.Errorf("a row has no separator at column %d: %q", separator, row)
				}
			}
		})
	}
}

// TestTerminalShellLeavesWithStatus0 checks what the usage says of the
// shell's exit status: 0, even after a command failed.
func TestTerminalShellLeavesWithStatus0(t *testing.T) {
	if !strings.Contains(strings.Join(strings.Fields(usage), " "), "the shell leaves with status 0") {
		t.Fatalf("the usage no longer says how the shell leaves:\n%s", usage)
	}
	term := startTerminal(t, t.TempDir())
	term.typeText("accept nothing\r")
	term.waitFor("there is no socket")
	term.typeText("quit\r")
	if code := term.waitExit(); code != 0 {
		t.Errorf("exit status after a failed command and quit: got %d, want 0", code)
	}
}

// TestTerminalCtrlCAtAPause types Ctrl-C where auto --step asks for
// Enter: the flow stops as Ctrl-C stops it anywhere else, with its
// summary, and is not said to have run out of input.
func TestTerminalCtrlCAtAPause(t *testing.T) {
	term := startTerminal(t, t.TempDir())
	term.typeText("auto demo --port 0 --step\r")
	term.waitFor("Enter runs it, q stops")
	term.typeText("\x03")
	term.waitFor("auto demo stopped: 0 clients served")
	term.waitFor("[2] › ")
	if strings.Contains(term.screen.text(), "no more input") {
		t.Errorf("Ctrl-C is said to be the end of the input:\n%s", term.screen.text())
	}
}

// typedToAFile starts sockstep with its input and its errors on a
// terminal, as a learner types them, and its output going to a file
// (sockstep | tee FILE): it returns the terminal's side, its screen, and
// a function that waits for sockstep to end and returns its output.
func typedToAFile(t *testing.T, args ...string) (io.Writer, *screen, func() string) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptmx.Close() })
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &out, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	t.Cleanup(func() { cmd.Process.Kill() })
	shown := newScreen(40, 100)
	go io.Copy(shown, ptmx)
	return ptmx, shown, func() string {
		t.Helper()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("exit: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("sockstep did not leave:\n%s", out.String())
		}
		return out.String()
	}
}

// waitToShow waits, up to 5 s, until the screen shows text; it fails the
// test if it never does.
func waitToShow(t *testing.T, shown *screen, text string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(shown.text(), text); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q:\n%s", text, shown.text())
		}
	}
}

// TestTerminalTypedWithOutputToAPipe types commands on a terminal while
// the output goes to a pipe (sockstep | tee FILE): with no prompt to show
// it, sockstep says on the terminal that it waits for commands and how to
// end, runs what is typed, and leaves on Ctrl-D.
func TestTerminalTypedWithOutputToAPipe(t *testing.T) {
	keys, shown, wait := typedToAFile(t, "--narrate", "off")
	waitToShow(t, shown, "type one command per line; Ctrl-D ends.")
	io.WriteString(keys, "socket udp as u\n\x04")
	if out := wait(); !strings.Contains(out, "[1] › socket udp as u") || !strings.Contains(out, "close(3) = 0") {
		t.Errorf("output to the pipe:\n%s", out)
	}
}

// TestTerminalStepWithOutputToAFile plays auto demo --step with the
// output going to a file and the answers typed on a terminal: the prompt
// is asked on the terminal, which would otherwise show nothing while
// sockstep waits, and stays out of the file; q stops the demo.
func TestTerminalStepWithOutputToAFile(t *testing.T) {
	for _, args := range [][]string{{"-c", "auto demo --port 0 --step"}, {}} {
		keys, shown, wait := typedToAFile(t, args...)
		if len(args) == 0 { // the command typed, too
			io.WriteString(keys, "auto demo --port 0 --step\n")
		}
		waitToShow(t, shown, "next: socket(AF_INET, SOCK_STREAM, 0)")
		io.WriteString(keys, "q\n\x04")
		if out := wait(); strings.Contains(out, "Enter runs it") || !strings.Contains(out, "auto demo --port 0 --step") {
			t.Errorf("%q: output to the file:\n%s", args, out)
		}
	}
}
