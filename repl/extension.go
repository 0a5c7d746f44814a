package repl

import (
	"context"
	"strings"

	"sockstep/steps"
)

// An Extension adds a group of commands to the shell and is told what each
// command line did. The lessons are one: the shell offers their commands in
// help and completion, and after every command the lesson checks the
// state, without the shell knowing anything about lessons.
type Extension interface {
	// Commands are the extension's commands and the heading help lists
	// them under, before the shell's own commands.
	Commands() (group string, cmds []Command)
	// Evaluated is called after each non-blank command line has run and
	// its output and notices are written, except quit.
	Evaluated(ctx context.Context, e Evaluation)
}

// A Command is a command an extension adds to the shell. Its Name may be
// two words, such as "quit lesson": the command then runs when both are
// typed, and the one-word command of the same first word otherwise.
type Command struct {
	Name    string
	Usage   string
	Example string
	// Fit, if set, is an example that works when typed now, which a
	// refusal shows instead of Example.
	Fit     func() string
	Summary string // one line, for the list in `help`
	About   string // for `help NAME`
	// Complete offers words for the next argument, given those before it.
	Complete func(before []string) []string
	// Run runs the command. A *steps.UsageError is shown with the usage.
	Run func(ctx context.Context, args []string) error
}

// An Evaluation is what one command line did.
type Evaluation struct {
	Line string
	// Command is the name of the table's command that ran ("connect",
	// "quit lesson"), or "" when the line matched no command.
	Command string
	// Err is what Eval returns: nil, or ErrFailed when the command failed.
	Err error
	// Report is the socket step's report, or nil when the command was not
	// one of the socket calls.
	Report *steps.Report
}

// Extend adds an extension's commands to the session's table and tells it
// about every command line from now on.
func (s *Session) Extend(e Extension) {
	group, cmds := e.Commands()
	for _, c := range cmds {
		s.extra = append(s.extra, extensionCommand(group, c))
	}
	s.extensions = append(s.extensions, e)
}

// extensionCommand makes a table line from an extension's command.
func extensionCommand(group string, c Command) *command {
	line := &command{name: c.Name, group: group, usage: c.Usage, example: c.Example, summary: c.Summary, about: c.About,
		run: func(_ *Session, ctx context.Context, args []string) error { return c.Run(ctx, args) }}
	if c.Fit != nil {
		line.fit = func(*Session) string { return c.Fit() }
	}
	if c.Complete != nil {
		line.complete = func(_ *Session, before []string) []string { return c.Complete(before) }
	}
	return line
}

// table is every command of this session in the order help lists them:
// the socket calls and the looking commands, then the extensions' groups,
// then the shell's own commands.
func (s *Session) table() []*command {
	var all []*command
	inserted := false
	for _, c := range commands {
		if c.group == groupShell && !inserted {
			all = append(all, s.extra...)
			inserted = true
		}
		all = append(all, c)
	}
	if !inserted {
		all = append(all, s.extra...)
	}
	return all
}

// find looks up the command a line's words call for: a two-word command
// such as "quit lesson" first, then one word. It returns the command and
// the words that are its arguments.
func (s *Session) find(words []string) (*command, []string) {
	if len(words) >= 2 {
		if c := s.lookup(words[0] + " " + words[1]); c != nil {
			return c, words[2:]
		}
	}
	if len(words) >= 1 {
		if c := s.lookup(words[0]); c != nil {
			return c, words[1:]
		}
	}
	return nil, words
}

// lookup finds a command by its full name or an alias.
func (s *Session) lookup(name string) *command {
	for _, c := range s.table() {
		if c.name == name {
			return c
		}
		for _, a := range c.aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// Knows says whether the shell has a command of this name, so that a
// lesson can tell a learner when this build lacks the command it asks for.
func (s *Session) Knows(name string) bool { return s.lookup(name) != nil }

// firstWords are the words a line can start with: each command's first
// word and its aliases, for completion and suggestions.
func (s *Session) firstWords() []string {
	var names []string
	seen := map[string]bool{}
	for _, c := range s.table() {
		first, _, _ := strings.Cut(c.name, " ")
		for _, n := range append([]string{first}, c.aliases...) {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}

// secondWords are the words that complete a two-word command after first:
// "lesson" after "quit".
func (s *Session) secondWords(first string) []string {
	var words []string
	for _, c := range s.table() {
		if f, second, ok := strings.Cut(c.name, " "); ok && f == first {
			words = append(words, second)
		}
	}
	return words
}

// LeaveOutNext has each step's report leave out its next line, the call
// the step suggests after it, and the recv that a notice of arrived bytes
// names, whenever leave answers true: a lesson's own page says what to do next,
// and the step's suggestion, which knows nothing of the lesson, would
// often ask for something else.
func (s *Session) LeaveOutNext(leave func() bool) { s.render.noNext = leave }

// Tone is how a line an extension writes is coloured.
type Tone int

// The tones of an extension's text, in the shell's colours.
const (
	Plain   Tone = iota
	Heading      // bold, like a call
	Good         // green, like a suggestion
	Bad          // red, like a failure
	Code         // yellow, like the Python line
	Faint        // dim, like a remark
)

func (s *Session) paint(t Tone, text string) string {
	st := s.render.st
	switch t {
	case Heading:
		return st.call(text)
	case Good:
		return st.next(text)
	case Bad:
		return st.fail(text)
	case Code:
		return st.python(text)
	case Faint:
		return st.dim(text)
	}
	return text
}

// Say writes text for an extension, wrapped to the session's width: with a
// label, in the label column like a report's lines; without one, at the
// narration's indent. Each line of text is a paragraph.
func (s *Session) Say(t Tone, label, text string) {
	var b strings.Builder
	for _, para := range strings.Split(text, "\n") {
		width := s.render.width - 2
		if label != "" {
			width -= labelWidth
		}
		for _, line := range wrap(para, width) {
			if label == "" {
				b.WriteString("  " + s.paint(t, line) + "\n")
				continue
			}
			s.render.labelled(&b, label, s.paint(t, line))
			label = " "
		}
	}
	s.out.print(b.String())
}

// SayAsIs writes one line for an extension as it is, unwrapped, at the
// narration's indent: code, and text laid out by hand.
func (s *Session) SayAsIs(t Tone, line string) {
	s.out.print("  " + s.paint(t, line) + "\n")
}
