package repl

import (
	"context"
	"fmt"
	"strings"

	"sockstep/steps"
)

// expectCommand is the table's line for expect, which runs a socket call
// that a lab script means to fail, and succeeds when the kernel refuses it
// with the errno named: so that a script that shows ECONNREFUSED on
// purpose can still end with status 0.
var expectCommand = &command{
	name: "expect", group: groupShell,
	usage:   "expect ERRNO COMMAND [ARGUMENT…]   (COMMAND: a socket call)",
	example: "expect ECONNREFUSED connect client 127.0.0.1 9090",
	summary: "run a call that should fail with this errno",
	about: "Runs a socket call, narrated as if typed alone, and then says whether it failed with ERRNO: " +
		"✔ when it did, ✗ when it succeeded, failed with another errno, or was stopped before it returned. " +
		"A lab script shows a refused connect or EADDRINUSE with it and still ends with status 0; " +
		"a ✗ counts as a failed command, listed at the script's end, and makes the status 1.\n" +
		"ERRNO is a name as the failure lines write it (ECONNREFUSED, EADDRINUSE, EPIPE), in any case; " +
		"EWOULDBLOCK is EAGAIN, the same number. A call that cannot be run as typed is a mistake of the line, not the failure expected.",
	complete: completeExpect,
	anyCase: func(s *Session, before []string) bool {
		if len(before) <= 1 {
			return len(before) == 0 // the errno's name
		}
		cmd, args := s.find(before[1:])
		return cmd != nil && cmd.anyCase != nil && cmd.anyCase(s, args)
	},
	run: runExpect,
}

func runExpect(s *Session, ctx context.Context, args []string) error {
	if len(args) == 0 {
		return &steps.UsageError{Problem: "expect takes an errno's name and then the socket call that should fail with it"}
	}
	want, ok := steps.ErrnoNamed(args[0])
	if !ok {
		return &steps.UsageError{Problem: fmt.Sprintf("%s is not an errno's name: give one as the failure lines write it, such as ECONNREFUSED or EADDRINUSE", steps.QuoteShort(args[0]))}
	}
	if len(args) == 1 {
		return &steps.UsageError{Problem: fmt.Sprintf("expect %s needs the socket call that should fail with %s after it", args[0], want.Name)}
	}
	cmd, rest := s.find(args[1:])
	if cmd == nil {
		return &steps.UsageError{Problem: noCommand(args[1], s.suggest(args[1]))}
	}
	if cmd.step == nil {
		return &steps.UsageError{Problem: fmt.Sprintf("%s makes no socket call for the kernel to refuse: expect takes one of %s",
			cmd.name, strings.Join(socketCalls(s), ", "))}
	}
	if refused, err := s.run(ctx, cmd, rest); refused {
		return err // the line's mistake, said with the call's usage
	}
	rep := s.report
	var failure *steps.Failure
	if rep != nil {
		failure = rep.Failure
	}
	switch {
	case rep != nil && !rep.Failed():
		return s.unmet(fmt.Sprintf("%s succeeded, where %s was expected", cmd.name, want.Name))
	case failure != nil && failure.Number == want.Number:
		s.verdict(fmt.Sprintf("✔ %s failed with %s, as expected", cmd.name, failure.Name), s.render.st.next)
		return nil
	case failure != nil:
		return s.unmet(fmt.Sprintf("%s failed with %s, where %s was expected", cmd.name, failure.Name, want.Name))
	case rep != nil:
		return s.unmet(fmt.Sprintf("%s was stopped before the call returned, so it gave no errno; %s was expected", cmd.name, want.Name))
	}
	return s.unmet(fmt.Sprintf("%s made no call, so it gave no errno; %s was expected", cmd.name, want.Name))
}

// unmet says how an expectation was not met, and fails the command.
func (s *Session) unmet(what string) error {
	s.verdict("✗ "+what, s.render.st.fail)
	return ErrFailed
}

// verdict writes expect's line, marked ✔ or ✗, wrapped as a refusal is.
func (s *Session) verdict(line string, paint func(string) string) {
	var b strings.Builder
	paintWrapped(&b, line, s.render.width-4, "  ", "    ", paint)
	s.out.print(b.String())
}

// completeExpect offers errno names, then the socket calls, then what
// the call chosen offers for its own arguments.
func completeExpect(s *Session, before []string) []string {
	switch len(before) {
	case 0:
		return steps.ErrnoNames()
	case 1:
		return socketCalls(s)
	}
	cmd, args := s.find(before[1:])
	if cmd == nil || cmd.step == nil || cmd.complete == nil {
		return nil
	}
	return cmd.complete(s, args)
}

// socketCalls are the names of the commands that make a socket call, in
// the table's order.
func socketCalls(s *Session) []string {
	var names []string
	for _, c := range s.table() {
		if c.step != nil {
			names = append(names, c.name)
		}
	}
	return names
}
