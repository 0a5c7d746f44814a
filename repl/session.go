package repl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"sockstep/steps"
)

// ErrQuit ends the shell: the learner typed quit or exit.
var ErrQuit = errors.New("quit")

// ErrFailed is returned by Eval when a command did not do what it was
// asked: bad input, or a call the kernel refused. Its output has said why.
var ErrFailed = errors.New("the command failed")

// Options set up a session.
type Options struct {
	Colour    bool
	Hex       bool      // received data as a hex dump
	Narration Narration // how much of each report to show
	Width     int       // wrap output to this many columns (0: 80)
	// Columns is how wide the terminal is, when output goes to one (0:
	// not known, taken as Width). Output is wrapped at Width, which is
	// at most 100 on a wider terminal; auto demo's two columns use the
	// terminal's own width beyond that.
	Columns int
	Live    bool // output is a terminal: show progress bars
	// Input is where a command that asks the learner something (the
	// pauses of auto --step) reads the answer, when the session is not
	// the interactive shell or a script, which read their own input.
	Input io.Reader
	// Prompts is where questions read from Input or a script's lines are
	// asked, when not in the output: the terminal they are typed on, when
	// the output goes to a file or a pipe and would not show them.
	Prompts io.Writer
	// Timeout, when not zero, bounds every wait of a command given no
	// --timeout of its own, and of auto's calls that have none (sockstep
	// --timeout): a run from a file or a pipe then never waits for ever.
	Timeout time.Duration
}

// Width is how wide output is wrapped on a terminal of the given number
// of columns: all of them, up to 100, beyond which lines are hard to read.
func Width(columns int) int { return max(20, min(100, columns)) }

// A Session is one learner's lab and shell: it evaluates command lines and
// writes what they did. It needs no terminal.
type Session struct {
	lab     *steps.Lab
	out     *syncWriter
	render  renderer
	watcher *watcher
	// columns is the terminal's width, never less than render.width.
	columns int

	extra      []*command  // the extensions' commands
	extensions []Extension // told what each command line did
	report     *steps.Report
	// input reads the learner's next line, after showing prompt: the line
	// editor's in the interactive shell, the script's next line in a
	// transcript, else a line of Options.Input.
	input func(prompt string) (string, error)
	// prompts is Options.Prompts: where input's prompts go, if not out.
	prompts io.Writer
	// ran counts the commands of the last transcript and failed those of
	// them that failed; failures are the first of these, as echoed:
	// "[17] connect c 127.0.0.1 9".
	ran, failed int
	failures    []string
}

// New starts a session that writes to w.
func New(w io.Writer, o Options) *Session {
	if o.Width <= 0 {
		o.Width = 80
	}
	s := &Session{
		lab:     steps.NewLab(),
		out:     &syncWriter{w: w, failed: make(chan struct{})},
		render:  renderer{st: newStyle(o.Colour), width: o.Width, level: o.Narration, hexAll: o.Hex, langs: []string{"python"}},
		watcher: newWatcher(),
		columns: max(o.Width, o.Columns),
		prompts: o.Prompts,
	}
	s.lab.Timeout = o.Timeout
	s.lab.Waiting = func(what func() string) {
		var b strings.Builder
		s.render.waiting(&b, what())
		s.out.print(b.String())
	}
	s.input = s.promptThen(func() (string, bool) { return "", false })
	if o.Input != nil {
		lines := bufio.NewScanner(o.Input)
		s.input = s.promptThen(func() (string, bool) {
			ok := lines.Scan()
			return lines.Text(), ok
		})
	}
	if o.Live {
		s.lab.Progress = s.progress
	}
	return s
}

// promptThen makes an input that shows the prompt on a line of its own
// in the output, or on the terminal of Options.Prompts, where the answer
// is typed after it; then it reads the answer with next, which reports
// false at the end.
func (s *Session) promptThen(next func() (string, bool)) func(string) (string, error) {
	return func(prompt string) (string, error) {
		if s.prompts == nil {
			s.out.print(strings.TrimRight(prompt, " ") + "\n")
		} else {
			io.WriteString(s.prompts, prompt)
		}
		line, ok := next()
		if !ok {
			if s.prompts != nil {
				io.WriteString(s.prompts, "\n")
			}
			return "", io.EOF
		}
		return line, nil
	}
}

// ask shows prompt and reads the learner's answer. It gives up, returning
// false, when the input ends or fails, or when ctx is cancelled (Ctrl-C)
// while it waits.
func (s *Session) ask(ctx context.Context, prompt string) (string, bool) {
	type answer struct {
		line string
		err  error
	}
	answers := make(chan answer, 1)
	input := s.input
	go func() {
		line, err := input(prompt)
		answers <- answer{line, err}
	}()
	select {
	case <-ctx.Done():
		return "", false
	case a := <-answers:
		return a.line, a.err == nil
	}
}

// OutputFailed is closed when the session's output could not be written
// (a full disk, /dev/full): it writes nothing from then on, so that what
// runs had better stop. (A closed pipe on standard output is not one:
// writing to it, Go ends the program by SIGPIPE.)
func (s *Session) OutputFailed() <-chan struct{} { return s.out.failed }

// OutputError is the error of the write that failed, or nil.
func (s *Session) OutputError() error {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return s.out.err
}

// Lab is the session's table of live sockets.
func (s *Session) Lab() *steps.Lab { return s.lab }

// SetOutput sends the session's output to w from now on; the interactive
// shell uses it to write through the line editor, which redraws the prompt.
func (s *Session) SetOutput(w io.Writer) { s.out.set(w) }

// Eval runs one command line. It returns ErrQuit when the learner leaves,
// ErrFailed when the command failed, and nil otherwise. Notices about
// other sockets (a connection waiting, data arrived) follow the output,
// and then each extension is told what the line did (a lesson checks the
// state and says whether the learner reached the step's goal).
func (s *Session) Eval(ctx context.Context, line string) error {
	s.report = nil
	name, err := s.eval(ctx, line)
	s.PrintNotices()
	if strings.TrimSpace(line) != "" && !errors.Is(err, ErrQuit) {
		for _, e := range s.extensions {
			e.Evaluated(ctx, Evaluation{Line: line, Command: name, Err: err, Report: s.report})
		}
	}
	return err
}

// eval runs one line and returns the name of the command it ran.
func (s *Session) eval(ctx context.Context, line string) (string, error) {
	words, err := SplitWords(line)
	if err != nil {
		if s.python(line) {
			return "", ErrFailed
		}
		s.problem(err.Error(), quoting)
		return "", ErrFailed
	}
	if len(words) == 0 {
		return "", nil
	}
	cmd, args := s.find(words)
	if cmd == nil {
		if s.python(line) {
			return "", ErrFailed
		}
		s.unknown(words[0])
		s.oneCommand(line)
		return "", ErrFailed
	}
	refused, err := s.run(ctx, cmd, args)
	if refused {
		s.oneCommand(line)
	}
	return cmd.name, err
}

// run runs cmd with its arguments. A line it could not run as typed is
// said with cmd's usage and an example, and is refused: nothing was
// called, and the error is ErrFailed.
func (s *Session) run(ctx context.Context, cmd *command, args []string) (refused bool, err error) {
	err = cmd.run(s, ctx, args)
	var usage *steps.UsageError
	if errors.As(err, &usage) {
		s.problem(usage.Problem, cmd)
		return true, ErrFailed
	}
	return false, err
}

// quoting is how a word is quoted, shown after a line SplitWords refuses.
var quoting = &command{
	usage: `"TEXT" keeps spaces and decodes \n \r \t \\ \" \0 \xNN` + "\n" +
		`'TEXT' keeps each character as typed; outside quotes \ keeps the next`,
	// The example sends on a connection the session has, or asks for
	// help: a line that quotes a word and works now.
	fit: func(s *Session) string {
		if send := s.lab.ExampleNow(steps.SendStep); strings.HasPrefix(send, "send ") {
			return strings.Replace(send, `"hello"`, `"hello\n"`, 1)
		}
		return `help "send"`
	},
}

// oneCommand says, after a line that could not be run, that a line is one
// command, when its semicolons would have split it into commands that
// each begin with a command's name (socket as s; sockets): only -c splits
// on them.
func (s *Session) oneCommand(line string) {
	parts := SplitCommands(line)
	if len(parts) < 2 {
		return
	}
	quoted := make([]string, len(parts))
	for i, part := range parts {
		words, err := SplitWords(part)
		if err != nil || len(words) == 0 {
			return
		}
		if cmd, _ := s.find(words); cmd == nil {
			return
		}
		quoted[i] = "`" + part + "`"
	}
	var b strings.Builder
	s.render.para(&b, "note", fmt.Sprintf("One line is one command: `;` separates commands only in sockstep -c 'CMD; CMD'. Type %s on lines of their own.",
		steps.Listed(quoted)))
	s.out.print(b.String())
}

// runStep runs one socket step and writes its report.
func (s *Session) runStep(ctx context.Context, step *steps.Step, args []string) error {
	rep, err := s.lab.Run(ctx, step, args)
	if err != nil {
		return err
	}
	s.report = rep
	s.show(rep)
	s.watcher.sawReport(rep)
	if rep.Failed() {
		return ErrFailed
	}
	return nil
}

// show writes a report.
func (s *Session) show(rep *steps.Report) {
	var b strings.Builder
	s.render.report(&b, rep)
	s.out.print(b.String())
}

// problem says what was wrong with a command, with its usage and an
// example when the command is known: one that works when typed now,
// which is labelled first where the command cannot work until a step of
// another comes first.
func (s *Session) problem(msg string, cmd *command) {
	var b strings.Builder
	st := s.render.st
	paintWrapped(&b, "✗ "+msg, s.render.width-4, "  ", "    ", st.fail)
	if cmd != nil {
		label, example := "example", cmd.example
		if cmd.fit != nil {
			example = cmd.fit(s)
			if cmd.name != "" && example != cmd.name && !strings.HasPrefix(example, cmd.name+" ") {
				label = "first" // a step the command needs before it
			}
		}
		s.render.usage(&b, cmd.usage)
		s.render.labelled(&b, label, example)
	}
	s.out.print(b.String())
}

// unknown says a command does not exist, and shows the usage of the one
// it most likely meant, or else how a line begins and a first step.
func (s *Session) unknown(name string) {
	near := s.suggest(name)
	shown := s.lookup(near)
	if shown == nil {
		var calls []string
		for _, st := range steps.Steps()[:4] {
			calls = append(calls, st.Name)
		}
		shown = &command{usage: "COMMAND [ARGUMENT…]   (COMMAND: " + strings.Join(calls, ", ") + ", …)", example: s.firstStep()}
	}
	s.problem(noCommand(name, near), shown)
}

// noCommand says there is no command called name, and which one it most
// likely meant, if any.
func noCommand(name, near string) string {
	msg := "there is no command " + steps.QuoteShort(name)
	if near != "" {
		msg += fmt.Sprintf("; did you mean %s?", near)
	}
	return msg + " (`help` lists every command)"
}

// firstStep is a first command that works now: a new socket, with a name
// no socket of the session has; `sockets` when the session holds as many
// as it may.
func (s *Session) firstStep() string {
	if len(s.lab.Sockets()) >= steps.MaxSockets {
		return "sockets"
	}
	return "socket as " + s.lab.FreeName("s")
}

// progress draws a bar over itself on a terminal, and ends the line when
// the transfer is done.
func (s *Session) progress(done, total int) {
	const width = 30
	filled := width * done / max(total, 1)
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	line := fmt.Sprintf("\r  sent %3d%% %s %s of %s", 100*done/max(total, 1), bar, megabytes(done), megabytes(total))
	if done >= total {
		line += "\n"
	}
	s.out.print(s.render.st.dim(line))
}

func megabytes(n int) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// Printf writes to the session's output.
func (s *Session) Printf(format string, a ...any) { s.out.print(fmt.Sprintf(format, a...)) }

// Close closes every socket the session still holds, saying so.
func (s *Session) Close() {
	if len(s.lab.Sockets()) > 0 {
		var b strings.Builder
		s.render.legend(&b, "leaving: closing every socket this session still holds")
		s.out.print(b.String())
		s.show(s.lab.CloseAll())
	}
}

// syncWriter lets the background watcher and the shell write without
// interleaving their lines. After a write fails (a full disk, /dev/full)
// it writes nothing more: what it would write is lost already.
type syncWriter struct {
	mu     sync.Mutex
	w      io.Writer
	err    error         // the write that failed
	failed chan struct{} // closed when one has
}

func (w *syncWriter) print(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		_, err := io.WriteString(w.w, s)
		w.fail(err)
	}
}

func (w *syncWriter) write(p []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		_, err := w.w.Write(p)
		w.fail(err)
	}
}

// fail remembers a write's error, if it is one. It is called with mu held.
func (w *syncWriter) fail(err error) {
	if err != nil {
		w.err = err
		close(w.failed)
	}
}

func (w *syncWriter) set(out io.Writer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.w = out
}
