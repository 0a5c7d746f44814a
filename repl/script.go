package repl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"sockstep/steps"
)

// maxLine bounds one command line read from a file or pipe.
const maxLine = 1 << 20

// RunScript runs commands read line by line, as a transcript: each one is
// echoed with its cell number before its output, comments (# …) are echoed
// as they are (as echoLine shows a command), and blank lines are skipped.
// Lines may end in CR LF, and the first may begin with a UTF-8 byte-order
// mark. It stops at quit or when ctx is cancelled (Ctrl-C, or a steps.Signal), closes every
// socket, and returns how many commands failed. A command that asks something (auto --step) reads its answers
// from the script's next lines.
func (s *Session) RunScript(ctx context.Context, r io.Reader) (failed int) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	// Lines are read apart, so that Ctrl-C stops a script that waits for
	// its next line (a pipe from a slow program, or the terminal).
	lines, done := make(chan string), make(chan struct{})
	defer close(done)
	var readErr error
	go func() {
		defer close(lines)
		for first := true; sc.Scan(); first = false {
			line := sc.Text()
			if first {
				// The byte-order mark some Windows editors begin a file with.
				line = strings.TrimPrefix(line, "\ufeff")
			}
			select {
			case lines <- line:
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
		readErr = sc.Err()
	}()
	read, unread := 0, false
	next := func() (string, bool) {
		select {
		case <-ctx.Done():
			return "", false
		case line, ok := <-lines:
			if ok {
				read++
				return line, true
			}
		}
		// Said here, before the script's end closes every socket.
		switch err := readErr; {
		case errors.Is(err, bufio.ErrTooLong):
			s.problem(fmt.Sprintf("line %d is longer than %d bytes, the most one command may take; it and the lines after it were not run", read+1, maxLine), nil)
			unread = true
		case err != nil:
			s.problem(fmt.Sprintf("could not read the commands: %v", err), nil)
			unread = true
		}
		return "", false
	}
	input := s.input
	s.input = s.promptThen(next)
	defer func() { s.input = input }()
	failed = s.runLines(ctx, next)
	if unread {
		failed++
	}
	return failed
}

// RunCommands runs the commands of a -c argument, separated by semicolons,
// as a transcript.
func (s *Session) RunCommands(ctx context.Context, cmds string) (failed int) {
	list := SplitCommands(cmds)
	next := func() (string, bool) {
		if len(list) == 0 {
			return "", false
		}
		line := list[0]
		list = list[1:]
		return line, true
	}
	return s.runLines(ctx, next)
}

func (s *Session) runLines(ctx context.Context, next func() (string, bool)) (failed int) {
	defer s.Close()
	cell := 0
	s.ran, s.failed, s.failures = 0, 0, nil
	defer func() { s.ran = cell }()
	stopped := func() int {
		s.Printf("  %s\n", s.render.st.fail("stopped: "+steps.StopName(ctx)+" ends the script"))
		return failed + 1
	}
	for {
		line, ok := next()
		if ctx.Err() != nil {
			return stopped() // a line that came after Ctrl-C is not run
		}
		if !ok {
			return failed
		}
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			continue
		case strings.HasPrefix(trimmed, "#"):
			s.Printf("%s\n", s.render.st.dim(echoLine(trimmed)))
			continue
		}
		cell++
		s.Printf("%s %s\n", s.render.st.dim(fmt.Sprintf("[%d] ›", cell)), echoLine(trimmed))
		err := s.Eval(ctx, trimmed)
		switch {
		case errors.Is(err, ErrQuit):
			return failed
		case err != nil:
			failed++
			if s.failed++; len(s.failures) < maxListedFailures {
				s.failures = append(s.failures, fmt.Sprintf("[%d] %s", cell, echoLine(trimmed)))
			}
		}
		if ctx.Err() != nil {
			return stopped()
		}
		s.Printf("\n")
	}
}

// SayFailures ends a transcript in which commands failed with the list
// of them, so that a teacher who finds its exit status 1 reads at its end
// why, without searching the output. It says nothing when every command
// of the last transcript succeeded.
func (s *Session) SayFailures() {
	if s.failed == 0 {
		return
	}
	s.Say(Bad, "", fmt.Sprintf("✗ %d of %s failed:", s.failed, steps.Counted(s.ran, "command")))
	for _, f := range s.failures {
		s.SayAsIs(Bad, "  "+f)
	}
	if more := s.failed - len(s.failures); more > 0 {
		s.SayAsIs(Bad, fmt.Sprintf("  … and %d more", more))
	}
}

// maxListedFailures is how many failed commands SayFailures lists: a
// script of a million failing lines keeps no more of them than that.
const maxListedFailures = 20

// Sent says, when sockstep is sent sig, that it stops as Ctrl-C stops it:
// so that what the stopped step says about Ctrl-C reads as what it is.
func (s *Session) Sent(sig steps.Signal) {
	var b strings.Builder
	s.render.legend(&b, sig.Error()+": it stops as Ctrl-C stops it, and closes its sockets")
	s.out.print(b.String())
}
