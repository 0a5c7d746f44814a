package repl

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"sockstep/auto"
	"sockstep/steps"
)

// A command is one line of the command table: what to type, how it is
// used, what it does, how to complete it and how to run it. The table
// drives dispatch, help and Tab completion alike.
type command struct {
	name    string
	aliases []string
	usage   string
	example string // the example `help NAME` documents
	// fit, if set, is an example that works when typed now, which a
	// refusal shows instead of example, which may name sockets the
	// session does not have.
	fit      func(s *Session) string
	summary  string // one line, for the list in `help`
	about    string // for `help NAME`
	group    string
	complete func(s *Session, before []string) []string
	// anyCase, if set, says whether the command takes the word after
	// before in any case, so that Tab matches it in any case.
	anyCase func(s *Session, before []string) bool
	run     func(s *Session, ctx context.Context, args []string) error
	// step is the socket call the command makes, if it makes one: the
	// commands whose errno expect can check.
	step *steps.Step
	// topics are what `help NAME TOPIC` explains one by one, and topic
	// explains one (steps.Step's Topics and Topic).
	topics []string
	topic  func(name string) (usage, about string, err error)
}

// The groups of `help`, in the order shown.
const (
	groupSteps = "The socket calls, in the order of a socket's life"
	groupMore  = "More calls"
	groupFlow  = "The tutorial's whole flow in one go"
	groupLook  = "Looking at the sockets"
	groupShell = "The shell"
)

// commands is the table, in the order help lists it: first the eight
// calls in the order of a socket's life, then the rest.
var commands []*command

func init() {
	for _, st := range steps.Steps() {
		commands = append(commands, stepCommand(st, groupSteps))
	}
	for _, st := range steps.MoreSteps() {
		commands = append(commands, stepCommand(st, groupMore))
	}
	commands = append(commands,
		&command{
			name: "auto", group: groupFlow,
			usage: auto.Usage, example: "auto demo",
			summary:  "play the tutorial's server, client, or both at once",
			about:    auto.About,
			complete: completeAuto,
			run:      runAuto,
		},
		&command{
			name: "sockets", aliases: []string{"ls"}, group: groupLook,
			usage: "sockets", example: "sockets",
			summary: "every live socket, read from the kernel now",
			about: "Lists every socket of this session with what the kernel says of it at this moment: " +
				"its protocol, local and remote address, TCP state (and for a listener its accept queue " +
				"against its backlog), the bytes waiting in its receive and send queues, and which calls " +
				"would return at once rather than wait.",
			run: runSockets,
		},
		&command{
			name: "show", group: groupLook,
			usage: "show SOCK [--states]", example: "show server",
			fit: func(s *Session) string {
				if names := s.lab.Names(); len(names) > 0 {
					return "show " + names[0]
				}
				return s.firstStep()
			},
			summary: "one socket in depth",
			about: "Shows one socket in depth, read from the kernel now: addresses, TCP state, " +
				"the accept queue and who waits in it, queued bytes, whether each call would block, " +
				"and whether the socket is blocking or non-blocking.\n" +
				"With --states it draws TCP's state machine instead, each transition labelled by its cause, " +
				"with the state the kernel reports for this socket now marked: `you are here`.",
			// The socket and --states, in either order, once each.
			complete: func(s *Session, before []string) []string {
				socket, states := takeStates(before)
				switch {
				case len(socket) == 0:
					return s.lab.Names()
				case len(socket) == 1 && !states:
					return []string{"--states"}
				}
				return nil
			},
			run: runShow,
		},
		&command{
			name: "ports", group: groupLook,
			usage: "ports [PORT]", example: "ports 8081",
			summary: "every TCP and UDP socket of the machine, from the kernel",
			about: "Lists the kernel's tables of TCP and UDP sockets (/proc/net/tcp, tcp6, udp and udp6 on Linux, " +
				"and sock_diag for TCP sockets that are bound but neither listen nor connect): every socket " +
				"of the whole machine on that port, or on any port, including connections no process " +
				"holds any more, such as one in TIME_WAIT, and ones still waiting in an accept " +
				"queue. Sockets this session holds, or held, are named, and come first.",
			run: runPorts,
		},
		&command{
			name: "diagram", group: groupLook,
			usage: "diagram [--last N]", example: "diagram --last 20",
			summary: "the session so far as a sequence diagram",
			about: fmt.Sprintf("Draws the calls of this session as a sequence diagram: a lane per socket, each call on "+
				"its socket's lane, and the packets TCP and UDP send for it as arrows between lanes: the "+
				"handshake's SYN, SYN-ACK and ACK, data, FIN, RST, and an ICMP error that came back to a connected socket (an unconnected one never "+
				"hears of it). What a program outside the session sends of its own accord is not drawn. It draws the last %d calls, or the last N.", defaultLast),
			complete: func(_ *Session, before []string) []string {
				if len(before) == 0 {
					return []string{"--last"}
				}
				return nil // --last's number, and nothing after it
			},
			run: runDiagram,
		},
		&command{
			name: "narrate", group: groupShell,
			usage: "narrate full|brief|off", example: "narrate brief",
			summary: "how much each step explains",
			about: "full shows everything: the call, what it means, the state change, the call as code " +
				"(in the languages `code` chose) and a next step; for a failed call, the error, what it means " +
				"here, a fix and what Python raises. brief shows the call and the state change; for a failed " +
				"call, the error and what it means here. off shows the call; for a failed call, the error. " +
				"Received data, and the values `option` reads, are shown at every level. " +
				"In `auto`, the notes marked » are part of full narration; the tutorial's printed lines show at every level.",
			complete: func(_ *Session, before []string) []string {
				if len(before) == 0 {
					return []string{"full", "brief", "off"}
				}
				return nil
			},
			run: runNarrate,
		},
		&command{
			name: "code", group: groupShell,
			usage: "code python|c|go… | code all", example: "code python c",
			summary: "which languages each call is shown in",
			about: "Each step shows the call it made as a line of code: in Python, the tutorial's language, " +
				"unless you choose others. `code c` shows it in C, `code go` in Go with golang.org/x/sys/unix " +
				"(the calls sockstep itself makes), `code python c go` or `code all` in all three. " +
				"The code lines are part of full narration: `narrate brief` and `narrate off` show none.",
			complete: func(_ *Session, before []string) []string {
				if len(before) == 0 {
					return append(append([]string{}, languages...), "all")
				}
				if slices.Contains(before, "all") {
					return nil
				}
				var rest []string // all stands alone, and a language once is enough
				for _, lang := range languages {
					if !slices.Contains(before, lang) {
						rest = append(rest, lang)
					}
				}
				return rest
			},
			run: runCode,
		},
		expectCommand,
		&command{
			name: "help", aliases: []string{"?"}, group: groupShell,
			usage: "help [COMMAND]  |  help option NAME", example: "help bind",
			summary: "the commands, or one in depth",
			about: "Without a name, lists every command. With one, shows its usage, an example and what it does. " +
				"`help option NAME` tells what one socket option is for: `help option SO_REUSEADDR`, or `help option reuseaddr`.",
			complete: func(s *Session, before []string) []string {
				switch len(before) {
				case 1:
					words := s.secondWords(before[0])
					if c := s.lookup(before[0]); c != nil {
						words = append(words, c.topics...)
					}
					return words
				case 0:
					return s.firstWords()
				}
				return nil
			},
			anyCase: func(s *Session, before []string) bool { // a topic, such as an option's name
				return len(before) == 1 && s.lookup(before[0]) != nil && s.lookup(before[0]).topics != nil
			},
			run: runHelp,
		},
		&command{
			name: "quit", aliases: []string{"exit"}, group: groupShell,
			usage: "quit", example: "quit",
			summary: "close every socket and leave (also Ctrl-D)",
			about:   "Closes every socket this session holds, showing each close, and leaves.",
			run: func(_ *Session, _ context.Context, args []string) error {
				if len(args) > 0 {
					return &steps.UsageError{Problem: "quit takes no arguments"}
				}
				return ErrQuit
			},
		},
	)
}

// stepCommand makes a table line from a socket step.
func stepCommand(st *steps.Step, group string) *command {
	return &command{
		name: st.Name, group: group, usage: st.Usage, example: st.Example, summary: st.Summary, about: st.About,
		topics: st.Topics, topic: st.Topic, step: st,
		fit:      func(s *Session) string { return s.lab.ExampleNow(st) },
		complete: func(s *Session, before []string) []string { return st.Complete(s.lab, before) },
		anyCase: func(_ *Session, before []string) bool {
			return st.AnyCase != nil && st.AnyCase(before)
		},
		run: func(s *Session, ctx context.Context, args []string) error {
			return s.runStep(ctx, st, args)
		},
	}
}

// suggest finds the command a mistyped name most likely meant.
func (s *Session) suggest(name string) string {
	best, bestDist := "", 3
	letters := utf8.RuneCountInString(name)
	for _, n := range s.firstWords() {
		// A name bestDist letters longer than n is bestDist edits away at
		// least: a long line is not measured against every command.
		size := utf8.RuneCountInString(n)
		if letters >= size+bestDist {
			continue
		}
		// A word as many edits away as n has letters shares none of them.
		if d := distance(name, n); d < bestDist && d < size {
			best, bestDist = n, d
		}
	}
	if best != "" || len(name) < 2 {
		return best
	}
	for _, n := range s.firstWords() {
		if strings.HasPrefix(n, name) {
			return n
		}
	}
	return ""
}

// distance is the edit distance between two words, with a swap of two
// neighbouring letters counted as one edit (bnid → bind).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

func runNarrate(s *Session, _ context.Context, args []string) error {
	if len(args) != 1 {
		return &steps.UsageError{Problem: "narrate takes one word: full, brief or off"}
	}
	level, ok := narrationNames[args[0]]
	if !ok {
		return &steps.UsageError{Problem: fmt.Sprintf("%s is not a narration level: use full, brief or off", steps.QuoteShort(args[0]))}
	}
	s.render.level = level
	s.Printf("  narration is %s\n", args[0])
	return nil
}

func runCode(s *Session, _ context.Context, args []string) error {
	if len(args) == 0 {
		return &steps.UsageError{Problem: "code takes the languages to show calls in: python, c, go, or all"}
	}
	if len(args) == 1 && args[0] == "all" {
		args = languages
	}
	if slices.Contains(args, "all") {
		return &steps.UsageError{Problem: "all stands alone: `code all` shows every language; otherwise name the languages, as in `code python c`"}
	}
	var langs []string
	for _, lang := range languages { // in the order they are shown
		for _, a := range args {
			if a == lang && !slices.Contains(langs, lang) {
				langs = append(langs, lang)
			}
		}
	}
	for _, a := range args {
		if !slices.Contains(languages, a) {
			return &steps.UsageError{Problem: fmt.Sprintf("%s is not a language sockstep shows: use python, c, go, or all", steps.QuoteShort(a))}
		}
	}
	s.render.langs = langs
	s.Printf("  calls are shown in %s\n", strings.Join(langs, ", "))
	return nil
}

func runHelp(s *Session, _ context.Context, args []string) error {
	var b strings.Builder
	r := &s.render
	if len(args) == 0 {
		group := ""
		for _, c := range s.table() {
			if c.group != group {
				group = c.group
				b.WriteString("\n")
				paintWrapped(&b, group, r.width-2, "  ", "  ", r.st.call)
			}
			name := c.name
			if len(c.aliases) > 0 {
				name += " (" + strings.Join(c.aliases, ", ") + ")"
			}
			// The summary in a column of its own where it has room for
			// a few words, else on lines of its own under the name.
			first, rest, room := fmt.Sprintf("    %-18s ", name), strings.Repeat(" ", 23), r.width-23
			if room < 20 {
				b.WriteString("    " + name + "\n")
				first, rest, room = "      ", "      ", r.width-6
			}
			wrapInto(&b, c.summary, room, first, rest)
		}
		b.WriteString("\n")
		r.prose(&b, "`help NAME` shows one command in depth. A socket is named by `as NAME`, else s1, s2, … "+
			"(c1, c2, … for a connection accept took), or given by its fd number. Tab completes commands and socket names.")
		s.out.print(b.String())
		return nil
	}
	c, rest := s.find(args)
	if c != nil && len(rest) == 1 && c.topic != nil {
		usage, about, err := c.topic(rest[0])
		if err != nil { // the example is help for one the command knows
			return s.helpRefused(err.Error(), c.name+" "+c.topics[0])
		}
		r.usage(&b, usage)
		r.para(&b, "", about)
		s.out.print(b.String())
		return nil
	}
	if c == nil {
		// help's own usage and an example, which is help for the command
		// meant, or for the first call.
		near := s.suggest(args[0])
		return s.helpRefused(noCommand(strings.Join(args, " "), near), cmp.Or(near, steps.Steps()[0].Name))
	}
	if len(rest) > 0 {
		if c.topic != nil {
			return &steps.UsageError{Problem: fmt.Sprintf("help %s takes one name after it, as in `help %s %s`", c.name, c.name, c.topics[0])}
		}
		return &steps.UsageError{Problem: fmt.Sprintf("help takes one command's name: `help %s` tells about %s", c.name, c.name)}
	}
	r.usage(&b, c.usage)
	r.labelled(&b, "example", c.example)
	if len(c.aliases) > 0 {
		r.labelled(&b, "also", strings.Join(c.aliases, ", "))
	}
	for _, para := range strings.Split(c.about, "\n") {
		r.para(&b, "", para)
	}
	if len(c.topics) > 0 {
		r.para(&b, "", fmt.Sprintf("`help %s NAME` tells about one of: %s.", c.name, strings.Join(c.topics, ", ")))
	}
	s.out.print(b.String())
	return nil
}

// helpRefused says what was wrong with a help line, with help's usage
// and, as the example, help for topic.
func (s *Session) helpRefused(msg, topic string) error {
	s.problem(msg, &command{usage: s.lookup("help").usage, example: "help " + topic})
	return ErrFailed
}

// Complete offers the words that could follow line, for Tab: command
// names first, then what the command's table line offers for its
// arguments. It returns the candidates that start with the word being
// typed, sorted, and that word as typed, which Tab extends. A word typed
// with quotes or escapes gets only the candidates that start with it as
// typed: the rest of another added to it would not stand on the line as
// offered (`""` and 127.0.0.1 would make `""127.0.0.1`; `\"` and `""`, an
// unterminated quote).
func (s *Session) Complete(line string) (candidates []string, word string) {
	words, err := SplitWords(line)
	if err != nil {
		return nil, ""
	}
	word = line[strings.LastIndexAny(line, " \t")+1:]
	if more, _ := SplitWords(line + "x"); len(more) == len(words) {
		// The line ends inside a word: the text after the last blank,
		// unless that blank was escaped or began a comment.
		if w, _ := SplitWords(word); len(words) == 0 || len(w) != 1 || w[0] != words[len(words)-1] {
			return nil, word
		}
		words = words[:len(words)-1]
	}
	var offered []string
	anyCase := false
	if len(words) == 0 {
		offered = s.firstWords()
	} else if c, args := s.find(words); c != nil {
		if len(words) == 1 {
			offered = s.secondWords(words[0])
		}
		if c.complete != nil {
			offered = append(offered, c.complete(s, args)...)
		}
		anyCase = c.anyCase != nil && c.anyCase(s, args)
	}
	seen := map[string]bool{}
	for _, o := range offered {
		if anyCase && len(o) >= len(word) && strings.EqualFold(o[:len(word)], word) {
			o = word + inCaseOf(word, o[len(word):]) // so_re ⇥ so_reuseaddr, as typed
		}
		if strings.HasPrefix(o, word) && !seen[o] {
			seen[o] = true
			candidates = append(candidates, o)
		}
	}
	sort.Strings(candidates)
	return candidates, word
}

// inCaseOf writes rest in the case of the last letter of typed: in lower
// case after so_re, in upper case after SO_RE; as it is after no letter.
func inCaseOf(typed, rest string) string {
	for i := len(typed) - 1; i >= 0; i-- {
		switch c := typed[i]; {
		case 'a' <= c && c <= 'z':
			return strings.ToLower(rest)
		case 'A' <= c && c <= 'Z':
			return strings.ToUpper(rest)
		}
	}
	return rest
}
