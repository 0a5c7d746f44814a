package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/creack/pty"
)

// TestNarrowTerminalIsToldSo: on a terminal narrower than 40 columns,
// sockstep says at start-up, first, how wide the terminal is and that
// some lines will be wider; and they are: at 30 columns the Python line
// of socket is wider than the terminal. On a terminal of 40 columns,
// where every line of the same commands fits, and with output to a pipe,
// whatever COLUMNS says, it says nothing of the kind.
func TestNarrowTerminalIsToldSo(t *testing.T) {
	const told = "columns wide. Lines labelled"
	for _, tt := range []struct {
		name  string
		cols  uint16 // 0: output to a pipe
		told  bool
		wider bool // a line of these commands is wider than the terminal
	}{
		{"30 columns", 30, true, true},
		{"39 columns", 39, true, false},
		{"40 columns", 40, false, false},
		{"a pipe, COLUMNS=30", 0, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("timeout", "20", binary(t), "-c", "socket as server; bind server 127.0.0.1 0")
			cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "TERM=xterm", "NO_COLOR=1", "COLUMNS=30")
			var out []byte
			if tt.cols == 0 {
				var err error
				if out, err = cmd.Output(); err != nil {
					t.Fatal(err)
				}
			} else {
				f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: tt.cols})
				if err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				io.Copy(&b, f) // until sockstep ends: EIO
				cmd.Wait()
				f.Close()
				out = bytes.ReplaceAll(b.Bytes(), []byte("\r"), nil)
			}
			text := regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`).ReplaceAllString(string(out), "")
			if !strings.Contains(text, "bind(3, 127.0.0.1:0) = 0") {
				t.Fatalf("sockstep did not run the commands:\n%s", text)
			}
			said := strings.Join(strings.Fields(text), " ")
			if got := strings.Contains(said, told); got != tt.told {
				t.Errorf("told of a narrow terminal: %v, want %v\n%s", got, tt.told, text)
			}
			if tt.told && !strings.HasPrefix(said, fmt.Sprintf("sockstep: this terminal is %d columns wide", tt.cols)) {
				t.Errorf("the first line does not give the terminal's width, %d:\n%s", tt.cols, text)
			}
			wider := false
			for line := range strings.Lines(text) {
				wider = wider || tt.cols > 0 && utf8.RuneCountInString(strings.TrimSuffix(line, "\n")) > int(tt.cols)
			}
			if wider != tt.wider {
				t.Errorf("a line wider than %d columns: %v, want %v\n%s", tt.cols, wider, tt.wider, text)
			}
		})
	}
}
