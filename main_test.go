package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sockstep/internal/peer"
)

// TestCommandLine runs the command line as a learner would, without a
// terminal, and checks the exit status and the transcript.
func TestCommandLine(t *testing.T) {
	script := filepath.Join(t.TempDir(), "lab.txt")
	if err := os.WriteFile(script, []byte("socket as s\nbind s 127.0.0.1 0\nlisten s\nsockets\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hostileDir := filepath.Join(t.TempDir(), "\x1b]0;title\x07")
	if err := os.Mkdir(hostileDir, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantStatus int
		wantOut    []string // each must appear in stdout
		wantErr    []string // each must appear in stderr
	}{
		{"quit", []string{"-c", "quit"}, "", 0, []string{"[1] › quit"}, nil},
		{"commands", []string{"-c", "socket as s; bind s 127.0.0.1 0; sockets"}, "", 0,
			[]string{"[1] › socket as s", "[2] › bind s 127.0.0.1 0", "[3] › sockets", "s (fd ", "close("}, nil},
		{"a failed command fails the run", []string{"-c", "socket as s; accept s"}, "", 1,
			[]string{"EINVAL (errno 22)", "[2] › accept s"}, nil},
		{"a bad command fails the run", []string{"-c", "bnid s"}, "", 1, []string{"did you mean bind?"}, nil},
		{"run FILE", []string{"run", script}, "", 0, []string{"[3] › listen s", "LISTEN"}, nil},
		{"a file named after --", []string{"run", "--", "--narrate"}, "", 2, nil, []string{"open --narrate: no such file"}},
		{"piped stdin", nil, "socket udp as u\nbind u 127.0.0.1 0\n", 0, []string{"[2] › bind u 127.0.0.1 0", "SOCK_DGRAM"}, nil},
		{"no colour off a terminal", []string{"-c", "socket"}, "", 0, []string{"socket(AF_INET, SOCK_STREAM, 0) = "}, nil},
		{"brief narration", []string{"--narrate", "brief", "-c", "socket"}, "", 0, []string{"state "}, nil},
		{"version", []string{"--version"}, "", 0, []string{"sockstep " + Version}, nil},
		{"the lessons", []string{"lessons"}, "", 0, []string{"1 ", "The server's side", "11 "}, nil},
		{"missing file", []string{"run", "/no/such/file"}, "", 2, nil, []string{"sockstep: open /no/such/file: no such file or directory"}},
		{"a directory to run", []string{"run", os.TempDir()}, "", 2, nil, []string{"sockstep: " + os.TempDir() + " is a directory; run takes a file of commands"}},
		{"a missing file named with escapes", []string{"run", "/no/\x1b[2J\u202e\xff"}, "", 2, nil,
			[]string{`sockstep: open /no/\x1b[2J\u202e\xff: no such file or directory`}},
		{"a directory named with escapes", []string{"run", hostileDir}, "", 2, nil,
			[]string{"sockstep: " + filepath.Dir(hostileDir) + `/\x1b]0;title\x07 is a directory`}},
		{"-c with no commands runs none, not stdin", []string{"-c", ""}, "socket as s\n", 0, nil, nil},
		{"-c with a file to run too", []string{"-c", "sockets", "run", script}, "", 2, nil,
			[]string{`sockstep: -c runs the commands given to it, and nothing else: "run `, "usage:"}},
		{"-c twice", []string{"-c", "socket as s", "-c", "sockets"}, "", 2, nil,
			[]string{"sockstep: -c is given once, with every command in it, as in -c 'socket as s; sockets'", "usage:"}},
		{"bad narration", []string{"--narrate", "loud"}, "", 2, nil, nil},
		{"unknown subcommand", []string{"fly"}, "", 2, nil, []string{`sockstep: "fly" is not a command sockstep takes`, "usage:"}},
		{"run without a file", []string{"run"}, "", 2, nil, []string{"sockstep: run takes one file of commands, and 0 words followed it", "sockstep run FILE"}},
		{"-c without a value", []string{"-c"}, "", 2, nil, []string{`sockstep: "-c" needs a value after it`}},
		{"run with two files", []string{"run", "a", "b"}, "", 2, nil, []string{"sockstep: run takes one file of commands, and 2 words followed it", "sockstep run FILE"}},
		{"help asked for", []string{"--help"}, "", 0, []string{"usage:", "sockstep auto server|client|demo", "--narrate full|brief|off"}, nil},
		{"help asked for with -h", []string{"-h"}, "", 0, []string{"usage:", "sockstep run FILE"}, nil},
		{"auto's help asked for", []string{"auto", "client", "-h"}, "", 0,
			[]string{"usage   auto server [--host H]", "auto client [--host H]", "auto client connects to --host"}, nil},
		{"auto's help asked for with --help", []string{"auto", "demo", "--help"}, "", 0, []string{"auto demo   [--host H] [--port P] [--step]"}, nil},
		{"unknown option", []string{"--bogus"}, "", 2, nil, []string{`sockstep: there is no option "--bogus"`, "usage:"}},
		{"option without its value", []string{"--narrate"}, "", 2, nil, []string{`sockstep: "--narrate" needs a value after it`, "usage:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			status := run(tt.args, strings.NewReader(tt.stdin), &out, &errs)
			if status != tt.wantStatus {
				t.Errorf("status: got %d, want %d\nstdout:\n%s\nstderr:\n%s", status, tt.wantStatus, out.String(), errs.String())
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, out.String())
				}
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(errs.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs.String())
				}
			}
			if tt.wantOut == nil && out.Len() > 0 {
				t.Errorf("stdout: got\n%s\nwant nothing", out.String())
			}
			if status == 0 && errs.Len() > 0 {
				t.Errorf("a run that succeeded wrote on stderr:\n%s", errs.String())
			}
			if strings.ContainsAny(errs.String(), "\x1b\x07\u202e") {
				t.Errorf("a control or bidi character raw on stderr: %q", errs.String())
			}
			if strings.Contains(out.String(), "\x1b[") {
				t.Errorf("colour escape in output that is not a terminal: %q", out.String())
			}
		})
	}
}

// TestOptionsAfterTheCommand gives an option after run FILE and after
// lesson N: the output is the one the option gives before the command,
// and not the one without it.
func TestOptionsAfterTheCommand(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	script := filepath.Join(t.TempDir(), "lab.txt")
	commands := "socket as s\nsockets\n"
	if err := os.WriteFile(script, []byte(commands), 0o600); err != nil {
		t.Fatal(err)
	}
	output := func(args ...string) string {
		var out, errs bytes.Buffer
		run(args, strings.NewReader(commands), &out, &errs)
		return out.String() + errs.String()
	}
	for _, command := range [][]string{{"run", script}, {"lesson", "1"}} {
		t.Run(command[0], func(t *testing.T) {
			before := output(append([]string{"--narrate", "off"}, command...)...)
			after := output(append(command, "--narrate", "off")...)
			if after != before {
				t.Errorf("with --narrate off after %q: got\n%s\nwant, as with it before:\n%s", command, after, before)
			}
			if without := output(command...); without == before {
				t.Errorf("--narrate off changed nothing:\n%s", without)
			}
		})
	}
}

// TestOptionsAfterAuto gives sockstep's own options after auto's: they
// are sockstep's, as before auto, while a word that is the value of one
// of auto's flags stays auto's (--message --hex sends "--hex").
func TestOptionsAfterAuto(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	got := make(chan string, 1)
	port := strconv.Itoa(peer.Serve(t, func(conn net.Conn) {
		conn.Write([]byte("hi"))
		b, _ := io.ReadAll(conn)
		got <- string(b)
	}))
	play := func(args ...string) (output, message string) {
		t.Helper()
		var out, errs bytes.Buffer
		if status := run(args, strings.NewReader(""), &out, &errs); status != 0 {
			t.Fatalf("%q: status %d\n%s%s", args, status, out.String(), errs.String())
		}
		return out.String(), <-got
	}
	client := []string{"auto", "client", "--port", port, "--wait", "1s", "--message", "--hex"}
	before, sent := play(append([]string{"--narrate", "off"}, client...)...)
	after, sentAfter := play(append(client, "--narrate", "off")...)
	full, _ := play(client...)
	if sent != "--hex" || sentAfter != "--hex" {
		t.Errorf("the message --message --hex sent: %q and %q, want \"--hex\" both times", sent, sentAfter)
	}
	// Whether recv waits for the greeting depends on the moment: a line
	// that says it does (it may be wrapped) is not counted.
	lines := func(output string) int {
		n := 0
		for line := range strings.Lines(output) {
			if !strings.Contains(line, "waiting") {
				n++
			}
		}
		return n
	}
	if lines(after) != lines(before) || lines(full) <= lines(before) {
		t.Errorf("--narrate off after auto: %d lines, before auto: %d, without it: %d\n%s\n----\n%s", lines(after), lines(before), lines(full), after, before)
	}
}

// BenchmarkStartup measures `sockstep -c quit`: building the binary once,
// then starting it, running one command and leaving.
func BenchmarkStartup(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "sockstep")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := exec.Command(bin, "-c", "quit").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOutputThatCannotBeWritten sends the output to /dev/full, where every
// write fails with ENOSPC: each way of running sockstep stops, says so on
// stderr and ends with status 1, auto server too, which would otherwise
// serve on.
func TestOutputThatCannotBeWritten(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	script := filepath.Join(t.TempDir(), "lab.txt")
	if err := os.WriteFile(script, []byte("socket as s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer full.Close()
	_, want := full.WriteString("x")
	if want == nil {
		t.Fatal("a write to /dev/full did not fail")
	}
	for _, tt := range []struct {
		name  string
		args  []string
		stdin string
	}{
		{"-c", []string{"-c", "socket as s; sockets"}, ""},
		{"a bad command", []string{"-c", "frobnicate"}, ""},
		{"run FILE", []string{"run", script}, ""},
		{"piped stdin", nil, "socket as s\n"},
		{"the lessons", []string{"lessons"}, ""},
		{"a lesson", []string{"lesson", "1"}, "socket as s\n"},
		{"auto server", []string{"auto", "server", "--host", "127.0.0.1", "--port", "0"}, ""},
		{"auto demo", []string{"auto", "demo", "--port", "0"}, ""},
		{"version", []string{"--version"}, ""},
		{"help", []string{"--help"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var errs bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- run(tt.args, strings.NewReader(tt.stdin), full, &errs) }()
			select {
			case status := <-done:
				if status != 1 || !strings.Contains(errs.String(), "sockstep: its output could not be written, so it stopped: "+want.Error()) {
					t.Errorf("status %d, stderr %q; want 1 and that the output could not be written: %v", status, errs.String(), want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still running 10 s after its output failed")
			}
		})
	}
}
