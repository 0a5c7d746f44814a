package repl

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"

	"sockstep/steps"
)

// statesFile is TCP's state machine as a picture, with what each state
// means: prose a teacher edits without reading Go.
//
//go:embed states.txt
var statesFile string

// pictureWidth bounds the picture's lines: drawn two columns in, they fit
// in 80.
const pictureWidth = 78

// The TCP states, in the order of a connection's life, as TCPState
// names them.
var tcpStates = []steps.TCPState{
	steps.Closed, steps.Listen, steps.SynSent, steps.SynRecv, steps.Established,
	steps.FinWait1, steps.FinWait2, steps.Closing, steps.TimeWait, steps.CloseWait, steps.LastAck,
}

// stateMachine is states.txt, parsed.
type stateMachine struct {
	picture []string
	width   int               // the picture's widest line, in columns
	arrows  []string          // the picture's arrows, "FROM → TO: cause"
	notes   []string          // paragraphs
	meaning map[string]string // state name → what it means
}

var machine = loadStateMachine()

// loadStateMachine parses states.txt at start-up; a broken file stops the
// program at once, and the tests, which start it, fail with its line.
func loadStateMachine() *stateMachine {
	m, err := parseStateMachine("states.txt", statesFile)
	if err != nil {
		panic(err)
	}
	return m
}

var sectionHead = regexp.MustCompile(`^\[([A-Za-z0-9_]+)\]\s*$`)

var arrow = regexp.MustCompile(`^(\S+) → (\S+): \S`)

// parseStateMachine reads the file's sections: [picture], kept as it is;
// [notes], paragraphs; and one section per state. It checks that every
// state stands in the picture with room to be marked, and that the
// picture fits pictureWidth.
func parseStateMachine(file, text string) (*stateMachine, error) {
	sections := map[string][]string{}
	starts := map[string]int{}
	name := ""
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if m := sectionHead.FindStringSubmatch(line); m != nil {
			name = m[1]
			if _, dup := sections[name]; dup {
				return nil, fmt.Errorf("%s:%d: section [%s] appears twice", file, i+1, name)
			}
			sections[name], starts[name] = []string{}, i+1
			continue
		}
		if name == "" {
			if strings.TrimSpace(line) != "" {
				return nil, fmt.Errorf("%s:%d: text before the first [section]", file, i+1)
			}
			continue
		}
		sections[name] = append(sections[name], strings.TrimRight(line, " \t\r"))
	}
	m := &stateMachine{meaning: map[string]string{}}
	picture, ok := sections["picture"]
	if !ok {
		return nil, fmt.Errorf("%s: no [picture] section", file)
	}
	for len(picture) > 0 && picture[len(picture)-1] == "" {
		picture = picture[:len(picture)-1]
	}
	for i, line := range picture {
		n := len([]rune(line))
		if n > pictureWidth {
			return nil, fmt.Errorf("%s:%d: the picture's line is %d columns wide, more than %d", file, starts["picture"]+1+i, n, pictureWidth)
		}
		m.width = max(m.width, n)
	}
	m.picture = picture
	all := strings.Join(picture, "\n")
	known := map[string]bool{}
	for _, st := range tcpStates {
		known[st.String()] = true
	}
	ends := map[string]bool{}
	for i, line := range sections["arrows"] {
		if line == "" {
			continue
		}
		a := arrow.FindStringSubmatch(line)
		if a == nil || !known[a[1]] || !known[a[2]] {
			return nil, fmt.Errorf("%s:%d: an arrow is \"FROM → TO: cause\", between two TCP states, not %q", file, starts["arrows"]+1+i, line)
		}
		ends[a[1]], ends[a[2]] = true, true
		m.arrows = append(m.arrows, line)
	}
	for _, st := range tcpStates {
		state := st.String()
		if !strings.Contains(all, "  "+state+"  ") {
			return nil, fmt.Errorf("%s: the picture has no %q with two spaces on each side to mark", file, state)
		}
		if !ends[state] {
			return nil, fmt.Errorf("%s: no arrow in [arrows] leads to or from %s", file, state)
		}
		meaning := paragraphs(sections[state])
		if len(meaning) != 1 {
			return nil, fmt.Errorf("%s: [%s] must say in one paragraph what the state means", file, state)
		}
		m.meaning[state] = meaning[0]
	}
	m.notes = paragraphs(sections["notes"])
	return m, nil
}

// paragraphs folds lines into paragraphs, which blank lines separate.
func paragraphs(lines []string) []string {
	var paras []string
	var words []string
	for _, line := range append(lines, "") {
		if strings.TrimSpace(line) == "" {
			if len(words) > 0 {
				paras = append(paras, strings.Join(words, " "))
			}
			words = nil
			continue
		}
		words = append(words, strings.Fields(line)...)
	}
	return paras
}

// draw is the picture with a state marked: "  NAME  " becomes "[*NAME*]",
// as wide, with the name in colour when colour is on. With no state (0),
// nothing is marked.
func (m *stateMachine) draw(state steps.TCPState, st style) []string {
	lines := append([]string(nil), m.picture...)
	if state == 0 {
		return lines
	}
	name := state.String()
	for i, line := range lines {
		lines[i] = strings.ReplaceAll(line, "  "+name+"  ", "[*"+st.call(st.state(name))+"*]")
	}
	return lines
}

// list is the picture's arrows, one a line, wrapped to width, each
// further line of an arrow two columns in, with the state marked
// "[*NAME*]" as draw marks it.
func (m *stateMachine) list(state steps.TCPState, width int, st style) []string {
	var lines []string
	for _, a := range m.arrows {
		mark := ""
		if state != 0 {
			mark = "[*" + state.String() + "*]"
			a = markWord(a, state.String(), mark)
		}
		for i, line := range wrap(a, width-2) {
			if i > 0 {
				line = "  " + line
			}
			if mark != "" {
				line = strings.ReplaceAll(line, mark, "[*"+st.call(st.state(state.String()))+"*]")
			}
			lines = append(lines, line)
		}
	}
	return lines
}

// markWord replaces name with mark where it stands as a word in line: not
// inside a longer name (CLOSED in CLOSE_WAIT is not).
func markWord(line, name, mark string) string {
	words := strings.Split(line, " ")
	for i, w := range words {
		if strings.TrimSuffix(w, ":") == name {
			words[i] = mark + strings.TrimPrefix(w, name)
		}
	}
	return strings.Join(words, " ")
}

// takeStates removes --states from show's arguments, and says whether it
// was there.
func takeStates(args []string) ([]string, bool) {
	rest := make([]string, 0, len(args))
	for _, a := range args {
		if a != "--states" {
			rest = append(rest, a)
		}
	}
	return rest, len(rest) < len(args)
}

// showStates is `show SOCK --states`: the state machine with the state the
// kernel reports for the socket now marked, and what that state means.
func showStates(s *Session, sock *steps.Socket) {
	snap := steps.Read(sock)
	r := &s.render
	if sock.Kind == steps.Datagram {
		var b strings.Builder
		r.prose(&b, fmt.Sprintf("%s is a UDP socket. UDP has no connections, so it has no state machine: "+
			"a UDP socket is only unbound, bound, or connected to a default peer. %s is %s now.",
			sock.Label(), sock.Name, snap.StateWord(sock.Kind)))
		s.out.print(b.String())
		return
	}
	state := snap.State
	if !snap.FromKernel {
		state = 0
	}
	s.out.print(statesText(sock.Label(), state, r))
}

// statesText draws the state machine for the socket labelled so, with its
// state marked; state 0 is a state this system cannot tell.
func statesText(label string, state steps.TCPState, r *renderer) string {
	var b strings.Builder
	head := wrap(label+": its place in TCP's state machine, read from the kernel now", r.width-2)
	head[0] = strings.Replace(head[0], label, r.st.call(label), 1)
	for _, line := range head {
		b.WriteString("  " + line + "\n")
	}
	b.WriteString("\n")
	var lines []string
	if r.width-2 < machine.width {
		r.prose(&b, fmt.Sprintf("The picture needs a terminal %d columns wide; this one has %d, so here are its arrows, one a line:", machine.width+2, r.width))
		b.WriteString("\n")
		lines = machine.list(state, r.width-2, r.st)
	} else {
		lines = machine.draw(state, r.st)
	}
	for _, line := range lines {
		b.WriteString("  " + line + "\n")
	}
	here, meaning := "not known: this system cannot tell sockstep a socket's TCP state", ""
	if state != 0 {
		here, meaning = state.String(), machine.meaning[state.String()]
	}
	b.WriteString("\n  " + r.st.state("you are here: "+here) + "\n")
	r.prose(&b, meaning)
	b.WriteString("\n")
	for _, note := range machine.notes {
		for _, line := range wrap(note, r.width-2) {
			b.WriteString("  " + r.st.dim(line) + "\n")
		}
	}
	return b.String()
}
