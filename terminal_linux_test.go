package main

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTerminalTermAndHangUpLeaveAsQuitDoes sends SIGTERM, SIGHUP and
// SIGQUIT (Ctrl-\ while a command runs) to the shell, at the prompt
// (where the line editor holds the terminal in raw mode) and while accept
// waits: sockstep gives the terminal back as it found it, closes every
// socket, saying so, and leaves with status 0.
func TestTerminalTermAndHangUpLeaveAsQuitDoes(t *testing.T) {
	for _, sig := range stopSignals {
		for _, waiting := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, accept waiting %v", unix.SignalName(sig), waiting), func(t *testing.T) {
				term, port := listeningTerminal(t, "off")
				if waiting {
					term.typeText("accept server\r")
					term.waitFor("Ctrl-C stops waiting")
				}
				before, err := unix.IoctlGetTermios(int(term.pty.Fd()), unix.TCGETS)
				if err != nil {
					t.Fatal(err)
				}
				if raw := before.Lflag&(unix.ICANON|unix.ECHO) == 0; raw == waiting {
					t.Fatalf("raw mode before the signal: got %v, want %v", raw, !waiting)
				}
				term.cmd.Process.Signal(sig)
				if code := term.waitExit(); code != 0 {
					t.Errorf("exit status after %s: got %d, want 0", unix.SignalName(sig), code)
				}
				after, err := unix.IoctlGetTermios(int(term.pty.Fd()), unix.TCGETS)
				if err != nil {
					t.Fatal(err)
				}
				if after.Lflag&(unix.ICANON|unix.ECHO) != unix.ICANON|unix.ECHO {
					t.Errorf("the terminal was left without ICANON and ECHO (lflag %#x)", after.Lflag)
				}
				term.waitFor("sockstep was sent " + unix.SignalName(sig))
				term.waitFor("close(3) = 0")
				if listening(t, port) {
					t.Errorf("port %d still listening after %s", port, unix.SignalName(sig))
				}
				if strings.Contains(term.screen.text(), "Ctrl-C)") {
					t.Errorf("a signal that is not Ctrl-C is said to be one:\n%s", term.screen.text())
				}
			})
		}
	}
}
