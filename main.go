// Go would keep two cgroup files open from start-up, to follow a
// container's CPU limit, on file descriptors 3 and 4: the learner's first
// socket is 3, as in a program of their own, only without them.
//go:debug containermaxprocs=0

// Command sockstep is an interactive, narrated laboratory for the BSD
// socket API: each command makes one real system call on a real socket and
// explains what the kernel did.
//
//	sockstep                           the shell
//	sockstep lesson [N]                the shell, with a lesson started
//	sockstep lessons                   the list of lessons, with progress
//	sockstep auto server|client|demo   the tutorial's programs, played and narrated
//	sockstep run FILE                  a file of commands, as a transcript
//	sockstep -c 'CMD; CMD'             commands from the argument
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"golang.org/x/sys/unix"

	"sockstep/auto"
	"sockstep/lessons"
	"sockstep/repl"
	"sockstep/steps"
)

// Version is sockstep's version.
const Version = "0.1.0"

const usage = `sockstep: the socket API, one real call at a time

usage:
  sockstep                       the shell (commands from a pipe are run as a transcript)
  sockstep lesson [N]            the shell with lesson N started (alone: the next one not done);
                                 commands from a pipe play the lesson, and the exit status is 0
                                 only if it reached its end with every step done
  sockstep lessons               the lessons, what each teaches, and how far you got
  sockstep auto server|client|demo [flags]
                                 play the tutorial's server, client, or both (sockstep -c 'help auto')
  sockstep run FILE              run a file of commands, as a transcript
  sockstep -c 'CMD; CMD'         run commands from the argument

options (before the command or after it):
  --no-color                     no colour (also when NO_COLOR is set or output is not a terminal)
  --hex                          show received bytes as a hex dump
  --narrate full|brief|off       how much each step explains (default full)
  --timeout D                    the longest any call waits (5s, 2m) when its command gives no
                                 --timeout of its own, auto server's accept too: a run from a
                                 file or a pipe then never waits for ever (default: no bound)
  --version                      print the version
  --help                         this text

The exit status is 2 when the command line is wrong. Commands from run, -c or
a pipe end with status 1 when one failed or Ctrl-C stopped them; the shell
leaves with status 0. Ctrl-C stops auto after its summary, with status 0.
SIGTERM (kill, timeout, systemd), SIGHUP (a closed terminal; not under nohup)
and SIGQUIT (Ctrl-\) stop commands and auto as Ctrl-C does, with the same
status, and leave the shell as quit does: every socket is closed, and
sockstep says which signal it was sent. When output goes to a pipe that is
closed (| head), sockstep ends at once, killed by SIGPIPE (status 141), and
the kernel closes its sockets. When output cannot be written (a full disk),
sockstep stops, says so on stderr, closes its sockets and ends with status 1.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (status int) {
	fs := flag.NewFlagSet("sockstep", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // its errors are said below, in sockstep's words
	noColor := fs.Bool("no-color", false, "")
	hex := fs.Bool("hex", false, "")
	narrate := fs.String("narrate", "full", "")
	timeout := fs.String("timeout", "", "")
	var commands *string // -c's, even ""; nil when -c is not given
	var everyC []string  // each -c given, so that a second is refused rather than lost
	fs.Func("c", "", func(text string) error { commands, everyC = &text, append(everyC, text); return nil })
	version := fs.Bool("version", false, "")
	// Options may follow the command too (sockstep run FILE --no-color),
	// except auto's, which auto reads itself, and what follows --.
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return optionProblem(err, stdout, stderr)
		}
		left := fs.Args()
		if len(left) == 0 || left[0] == "auto" && len(rest) == 0 || len(left) < len(args) && args[len(args)-len(left)-1] == "--" {
			rest = append(rest, left...)
			break
		}
		rest, args = append(rest, left[0]), left[1:]
	}
	if len(rest) > 0 && rest[0] == "auto" {
		own, words := ownOptions(fs, rest[1:])
		if err := fs.Parse(own); err != nil {
			return optionProblem(err, stdout, stderr)
		}
		rest = append(rest[:1], words...)
	}
	if *version {
		_, err := fmt.Fprintln(stdout, "sockstep", Version)
		return written(err, stderr)
	}
	level, ok := map[string]repl.Narration{"full": repl.Full, "brief": repl.Brief, "off": repl.Off}[*narrate]
	if !ok {
		fmt.Fprintf(stderr, "sockstep: --narrate takes full, brief or off, not %s\n", steps.QuoteShort(*narrate))
		return 2
	}
	var bound time.Duration
	if *timeout != "" {
		var err error
		if bound, err = steps.ParseTimeout(*timeout); err != nil {
			fmt.Fprintln(stderr, "sockstep:", err)
			return 2
		}
	}
	tty := terminals{in: isTerminal(stdin), out: isTerminal(stdout)}
	columns := terminalColumns(stdout, tty.out)
	opts := repl.Options{Hex: *hex, Narration: level, Colour: colourWanted(tty.out, *noColor), Width: width(columns),
		Columns: columns, Live: tty.out, Input: stdin, Timeout: bound}
	if tty.in && !tty.out && (len(rest) == 0 || rest[0] != "run") {
		// auto --step asks on the terminal its answers are typed on, not
		// in the file or pipe the output goes to. (run FILE reads its
		// answers from the file: they are asked in the transcript.)
		opts.Prompts = stderr
	}
	session := repl.New(stdout, opts)
	if columns > 0 && columns < repl.FitWidth {
		session.SayTooNarrow(columns)
	}
	defer func() { status = max(status, written(session.OutputError(), stderr)) }()
	tutor, err := lessons.Attach(session, lessons.Options{ProgressFile: lessons.ProgressFile()})
	if err != nil {
		fmt.Fprintf(stderr, "sockstep: a lesson file is broken: %v\n", err)
		return 1
	}

	ctx, stop := stopOnSignals(session, stdout)
	defer stop()
	var failed int
	switch {
	case len(everyC) > 1:
		fmt.Fprintf(stderr, "sockstep: -c is given once, with every command in it, as in -c '%s'\n\n%s",
			steps.Printable([]byte(strings.Join(everyC, "; "))), usage)
		return 2
	case commands != nil && len(rest) > 0:
		fmt.Fprintf(stderr, "sockstep: -c runs the commands given to it, and nothing else: %s cannot come with it\n\n%s",
			steps.QuoteShort(strings.Join(rest, " ")), usage)
		return 2
	case commands != nil:
		failed = session.RunCommands(ctx, *commands)
	case len(rest) > 0 && rest[0] == "auto":
		plan, err := auto.Parse(rest[1:])
		if errors.Is(err, auto.ErrHelp) {
			session.Eval(ctx, "help auto")
			return 0
		}
		if err != nil {
			fmt.Fprintf(stderr, "sockstep: %v\nusage:\n  sockstep %s\nexample:\n  sockstep auto demo\n", err, strings.ReplaceAll(auto.Usage, "\n", "\n  sockstep "))
			return 2
		}
		err = session.Play(ctx, plan)
		if _, ok := errors.AsType[*auto.HostError](err); ok {
			fmt.Fprintf(stderr, "sockstep: %v\n", err) // before any socket is made
			return 2
		}
		if err != nil {
			return 1
		}
		return 0
	case len(rest) == 2 && rest[0] == "run":
		f, err := os.Open(rest[1])
		if err != nil {
			fmt.Fprintf(stderr, "sockstep: %s\n", steps.Printable([]byte(err.Error())))
			return 2
		}
		defer f.Close()
		if info, err := f.Stat(); err == nil && info.IsDir() {
			fmt.Fprintf(stderr, "sockstep: %s is a directory; run takes a file of commands\n", steps.Printable([]byte(rest[1])))
			return 2
		}
		failed = session.RunScript(ctx, f)
	case len(rest) == 1 && rest[0] == "lessons":
		if session.Eval(ctx, "lessons") != nil {
			return 1
		}
		return 0
	case len(rest) >= 1 && len(rest) <= 2 && rest[0] == "lesson":
		return playLesson(ctx, stop, session, tutor, rest[1:], tty, stdin, stderr)
	case len(rest) == 0:
		if failed, err = shellOrScript(ctx, stop, session, tty, stdin, stderr); err != nil {
			fmt.Fprintf(stderr, "sockstep: %v\n", err)
			return 1
		}
	case rest[0] == "run":
		fmt.Fprintf(stderr, "sockstep: run takes one file of commands, and %d words followed it\n\n", len(rest)-1)
		fmt.Fprint(stderr, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "sockstep: %s is not a command sockstep takes\n\n", steps.QuoteShort(strings.Join(rest, " ")))
		fmt.Fprint(stderr, usage)
		return 2
	}
	if failed > 0 {
		session.SayFailures()
		return 1
	}
	return 0
}

// stopOnSignals returns a context that Ctrl-C (SIGINT), SIGTERM, SIGHUP
// and SIGQUIT cancel, so that a run without a shell of its own (auto, run,
// -c, a pipe, a lesson from a pipe) stops on any of them as on Ctrl-C: what
// runs stops, every socket is closed, saying so, and auto prints its
// summary; the others are said first. SIGHUP that was ignored when sockstep
// started (nohup) stays ignored. stop gives the signals back, to the shell
// or to Go.
func stopOnSignals(session *repl.Session, stdout io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	watched := []os.Signal{os.Interrupt, unix.SIGTERM, unix.SIGQUIT}
	if !signal.Ignored(unix.SIGHUP) {
		watched = append(watched, unix.SIGHUP)
	}
	signals, done := make(chan os.Signal, 1), make(chan struct{})
	signal.Notify(signals, watched...)
	gone := outputGone(stdout)
	go func() {
		select {
		case <-done:
		case <-gone:
			cancel(nil) // what is said next ends sockstep, by SIGPIPE
		case <-session.OutputFailed():
			cancel(nil) // nothing more can be said
		case sig := <-signals:
			var cause error // nil: Ctrl-C
			if sig != os.Interrupt {
				stopped := steps.SignalOf(sig)
				session.Sent(stopped)
				cause = stopped
			}
			cancel(cause)
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(signals)
			close(done)
			cancel(nil)
		})
	}
}

// outputGone is closed when stdout is a pipe and its reader has gone
// (sockstep … | head -3). Go ends sockstep, by SIGPIPE, at its next write
// there, as any Unix program ends; but a server waiting for a client, or an
// accept, writes nothing until someone connects, and would hold its port
// for nobody to watch. Stopped at once, it writes at once, and the kernel
// closes its sockets as it ends.
func outputGone(stdout io.Writer) <-chan struct{} {
	gone := make(chan struct{})
	f, ok := stdout.(*os.File)
	if !ok {
		return gone
	}
	if info, err := f.Stat(); err != nil || info.Mode()&os.ModeNamedPipe == 0 {
		return gone
	}
	go func() {
		// With no events asked for, poll reports only POLLERR, which a
		// pipe's writing end has once no reader is left, or POLLNVAL.
		fds := []unix.PollFd{{Fd: int32(f.Fd())}}
		for {
			if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
				return
			}
			if fds[0].Revents&unix.POLLERR != 0 {
				close(gone)
			}
			if fds[0].Revents != 0 {
				return
			}
		}
	}()
	return gone
}

// written says on stderr that the output could not be written, when err
// is the error of a write that failed, and returns the exit status: 1 then,
// else 0.
func written(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "sockstep: its output could not be written, so it stopped: %s\n", steps.Printable([]byte(err.Error())))
	return 1
}

// optionProblem says what is wrong with sockstep's options, or gives the
// usage that -h or --help asked for, and returns the exit status.
func optionProblem(err error, stdout, stderr io.Writer) int {
	if err == flag.ErrHelp {
		_, err := fmt.Fprint(stdout, usage)
		return written(err, stderr)
	}
	fmt.Fprintf(stderr, "sockstep: %s\n\n%s", auto.FlagProblem(err), usage)
	return 2
}

// ownOptions takes sockstep's own options, those of fs, out of auto's
// words, so that `sockstep auto demo --no-color` is `sockstep --no-color
// auto demo`. A word that is the value of one of auto's flags (--message
// --hex) stays auto's, and so does everything after --.
func ownOptions(fs *flag.FlagSet, words []string) (own, autos []string) {
	for i := 0; i < len(words); i++ {
		name, _, hasValue := strings.Cut(words[i], "=")
		mine := fs.Lookup(strings.TrimLeft(name, "-"))
		switch {
		case words[i] == "--":
			return own, append(autos, words[i:]...)
		case mine != nil && strings.HasPrefix(name, "-"):
			own = append(own, words[i])
			if b, ok := mine.Value.(interface{ IsBoolFlag() bool }); !(ok && b.IsBoolFlag()) && !hasValue && i+1 < len(words) {
				own, i = append(own, words[i+1]), i+1 // its value
			}
		case !hasValue && i+1 < len(words) && strings.HasPrefix(name, "--") && !slices.Contains(auto.Switches, name):
			autos, i = append(autos, words[i], words[i+1]), i+1 // a flag of auto's and its value
		default:
			autos = append(autos, words[i])
		}
	}
	return own, autos
}

// playLesson starts a lesson, then runs the shell, or the commands from a
// pipe as a transcript. From a pipe the exit status says whether the
// lesson was played to its end with every step done, so that a teacher can
// check a lesson in a script.
func playLesson(ctx context.Context, stop func(), session *repl.Session, tutor *lessons.Tutor, args []string, tty terminals, stdin io.Reader, stderr io.Writer) int {
	line := "lesson"
	if len(args) == 1 {
		line += " " + args[0]
	}
	if err := session.Eval(ctx, line); err != nil {
		return 2
	}
	number := tutor.Current()
	session.Printf("\n")
	if _, err := shellOrScript(ctx, stop, session, tty, stdin, stderr); err != nil {
		fmt.Fprintf(stderr, "sockstep: %v\n", err)
		return 1
	}
	if notDone := tutor.NotDone(number); notDone != "" && !(tty.in && tty.out) {
		session.Say(repl.Bad, "", notDone)
		return 1 // from a pipe: the lesson was not played to its end
	}
	return 0
}

// shellOrScript runs the shell when stdin and stdout are a terminal, and
// otherwise the commands read from stdin as a transcript, saying first,
// when they are typed on a terminal, that there is no prompt. It returns
// how many of those commands failed, or the shell's error.
func shellOrScript(ctx context.Context, stop func(), session *repl.Session, tty terminals, stdin io.Reader, stderr io.Writer) (failed int, err error) {
	if tty.in && tty.out {
		stop() // the shell handles Ctrl-C itself
		_, err := session.RunInteractive()
		return 0, err
	}
	if tty.in {
		fmt.Fprint(stderr, typeBlind)
	}
	return session.RunScript(ctx, stdin), nil
}

// typeBlind is said when commands are typed but output is not a terminal
// (sockstep | tee FILE): nothing would show that sockstep waits for them.
const typeBlind = "sockstep: output goes to a pipe or a file, so there is no prompt and no line editing:\ntype one command per line; Ctrl-D ends.\n"

// colourWanted: colour only on a terminal, never with NO_COLOR or --no-color.
func colourWanted(terminal, noColor bool) bool {
	return terminal && !noColor && os.Getenv("NO_COLOR") == ""
}

// terminals says whether stdin and stdout are terminals, as isTerminal
// found once at start-up.
type terminals struct{ in, out bool }

func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && (isatty.IsTerminal(file.Fd()) || isatty.IsCygwinTerminal(file.Fd()))
}

// terminalColumns is how many columns wide the terminal out is, or 0
// when out is not one or does not say.
func terminalColumns(out io.Writer, terminal bool) int {
	file, ok := out.(*os.File)
	if !ok || !terminal {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(file.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}

// width is how wide output is wrapped on a terminal of columns columns,
// or 80 when output goes to no terminal (columns 0).
func width(columns int) int {
	if columns == 0 {
		return 80
	}
	return repl.Width(columns)
}
