package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chzyer/readline"

	"sockstep/steps"
)

// HistoryFile is where the shell keeps its history across runs: the
// user's config directory (on Linux ~/.config/sockstep/history), readable
// by the user alone.
func HistoryFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "sockstep", "history")
}

// maxHistory bounds the history file, which the line editor reads whole
// as it starts: the 500 commands it keeps take a few tens of kilobytes.
const maxHistory = 1 << 20

// prepareHistory makes the history file, mode 0600, before the line
// editor opens it (it would create it readable by everyone). A history
// that is not a regular file of at most maxHistory bytes (a link to
// /dev/zero, read for ever; a named pipe, waited on for ever) is not used,
// and why says why.
func prepareHistory(path string) (file, why string) {
	if path == "" {
		return "", ""
	}
	if info, err := os.Stat(path); err == nil && (!info.Mode().IsRegular() || info.Size() > maxHistory) {
		return "", fmt.Sprintf("%s is not a regular file of at most %d MiB", steps.Printable([]byte(path)), maxHistory>>20)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", steps.Printable([]byte(err.Error()))
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return "", steps.Printable([]byte(err.Error()))
	}
	f.Close()
	os.Chmod(path, 0o600)
	return path, ""
}

// RunInteractive is the shell on a terminal: line editing, history, Tab
// completion, notices above the prompt, and Ctrl-C that stops a waiting
// step without killing anything. It returns when the learner quits, or
// sockstep is sent SIGTERM, SIGHUP or SIGQUIT, after closing every
// socket, with the number of commands that failed.
//
// The line editor puts the terminal in raw mode only inside Readline, so
// Ctrl-C at the prompt arrives as a key (ErrInterrupt, with the partial
// line, which is never run), while Ctrl-C during a step arrives as SIGINT,
// which is caught here and cancels that step alone. Readline is called from
// this goroutine only; the watcher writes through the editor's Stdout,
// which redraws the prompt and the half-typed line below the notice.
func (s *Session) RunInteractive() (failed int, err error) {
	// Closing stdin ends a Readline that waits for a key, with io.EOF.
	stdin := readline.NewCancelableStdin(os.Stdin)
	history, why := prepareHistory(HistoryFile())
	if why != "" {
		s.Say(Faint, "", "(no command history this time: "+why+")")
	}
	rl, err := readline.NewEx(&readline.Config{
		Stdin:             stdin,
		HistoryFile:       history,
		AutoComplete:      completer{s},
		InterruptPrompt:   "^C",
		EOFPrompt:         "quit",
		HistorySearchFold: true,
		// Commands go into the history, answers to --step's pauses do not.
		DisableAutoSaveHistory: true,
	})
	if err != nil {
		return 0, err
	}
	defer rl.Close()
	// At the prompt, output goes through the editor, which redraws the
	// prompt and the half-typed line below it; while a command runs there is
	// no prompt to redraw, so output goes straight to the terminal.
	atPrompt := rl.Stdout()
	s.SetOutput(atPrompt)
	var running sync.Mutex // held while a command runs; the watcher waits its turn
	var cancelMu sync.Mutex
	var cancel context.CancelFunc
	// stopCommand stops the command that runs, if one does, after
	// before, and says whether one did.
	stopCommand := func(before func()) bool {
		cancelMu.Lock()
		defer cancelMu.Unlock()
		if cancel == nil {
			return false
		}
		before()
		cancel()
		return true
	}
	s.input = func(prompt string) (string, error) {
		rl.SetPrompt(prompt)
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			// Ctrl-C typed at a command's question stops the command, as
			// the signal does while it waits.
			stopCommand(func() {})
		}
		return line, err
	}
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	defer signal.Stop(interrupts)
	// SIGTERM, SIGHUP and SIGQUIT (Ctrl-\ while a command runs) leave as
	// Ctrl-D does, so that the terminal is given back out of raw mode and
	// every socket is closed, saying so, without Go's dump of its
	// goroutines for SIGQUIT. A command that runs is stopped without a
	// word, since what it would say is about Ctrl-C.
	leave := make(chan os.Signal, 1)
	signal.Notify(leave, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(leave)
	var leftOn atomic.Value    // the steps.Signal that asked sockstep to leave
	var stoppedOne atomic.Bool // it stopped a command that ran
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-interrupts:
				stopCommand(func() {})
			case sig := <-leave:
				leftOn.Store(steps.SignalOf(sig))
				stdin.Close()
				if stopCommand(func() { s.SetOutput(io.Discard) }) {
					stoppedOne.Store(true)
				}
			}
		}
	}()
	go func() {
		tick := time.NewTicker(watchInterval * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if running.TryLock() {
					s.PrintNotices()
					running.Unlock()
				}
			}
		}
	}()

	s.sayDim(s.welcome())
	cell := 1
	for {
		rl.SetPrompt(s.render.st.dim("[" + strconv.Itoa(cell) + "] › "))
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			if line == "" {
				s.Printf("  %s\n", s.render.st.dim("(Ctrl-D or quit closes every socket and leaves)"))
			}
			continue
		}
		if errors.Is(err, io.EOF) || leftOn.Load() != nil {
			break
		}
		if err != nil {
			return failed, err
		}
		if strings.TrimSpace(line) != "" {
			rl.SaveHistory(line)
		}
		ctx, stop := context.WithCancel(context.Background())
		running.Lock()
		s.SetOutput(os.Stdout)
		if columns := readline.GetScreenWidth(); columns > 0 {
			s.render.width, s.columns = Width(columns), columns // the terminal may have been resized
		}
		cancelMu.Lock()
		cancel = stop
		cancelMu.Unlock()
		err = s.Eval(ctx, line)
		cancelMu.Lock()
		cancel = nil
		cancelMu.Unlock()
		s.SetOutput(atPrompt)
		running.Unlock()
		stop()
		if errors.Is(err, ErrQuit) || leftOn.Load() != nil {
			break
		}
		if err != nil {
			failed++
		}
		if len(line) > 0 {
			cell++
		}
	}
	running.Lock()
	s.SetOutput(os.Stdout)
	if sig, ok := leftOn.Load().(steps.Signal); ok {
		what := "it leaves as quit does"
		if stoppedOne.Load() {
			what = "it stopped the command and leaves as quit does"
		}
		var b strings.Builder
		b.WriteString("\n")
		s.render.legend(&b, sig.Error()+": "+what)
		s.out.print(b.String())
	}
	s.Close()
	running.Unlock()
	return failed, nil
}

// completer adapts the session's completion to the line editor.
type completer struct{ s *Session }

func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	candidates, word := c.s.Complete(string(line[:pos]))
	var out [][]rune
	for _, cand := range candidates {
		out = append(out, []rune(cand[len(word):]+" "))
	}
	return out, len([]rune(word))
}

// welcome is the shell's first line: what sockstep is, and the commands
// a newcomer needs first, `lessons` among them where the lessons are
// attached.
func (s *Session) welcome() string {
	start := ""
	if s.lookup("lessons") != nil {
		start = " `lessons` starts from the beginning;"
	}
	return "sockstep: the socket API, one real call at a time." + start + " `help` lists the commands; Tab completes; Ctrl-D leaves."
}
