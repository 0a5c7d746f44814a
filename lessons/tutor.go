package lessons

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"sockstep/repl"
	"sockstep/steps"
)

// TutorialPort is the port lessons start from: the tutorial's 8081.
const TutorialPort = 8081

// Options set up the lessons of a session.
type Options struct {
	// ProgressFile is where progress is kept (ProgressFile()); "" keeps it
	// for this run only.
	ProgressFile string
	// Port is the port the lessons' commands start from: {port} before
	// the learner has a listener, and {second-port} is the next one. A
	// lesson whose start finds either taken starts from the first free
	// pair after them. TutorialPort when 0; tests give a free port.
	Port uint16
}

// A Tutor plays lessons in a shell session: it adds the lesson commands
// to the shell and, after every command the learner types, checks the
// live state against the step the learner is on.
type Tutor struct {
	session  *repl.Session
	lessons  []*Lesson
	progress *progress
	note     string // a problem reading the progress file, told once
	unsaved  bool   // a save of the progress file failed, as told
	port     uint16
	play     *play // the lesson being played, or nil
	// finished holds the lessons played to the end, every step done, by
	// this tutor.
	finished map[string]bool
}

// play is one lesson being played.
type play struct {
	number int // from 1
	lesson *Lesson
	port   uint16 // the port this lesson starts from: the tutor's, or the first free one after
	free   bool   // port and the one after it were free when chosen
	page   int    // the step the learner is on
	hints  int    // hints shown for this step
	// typed are the lines of the step's answer, by index, that the
	// learner has typed in this step and that worked.
	typed   []int
	memory  *memory
	last    repl.Evaluation // the learner's last command, not a lesson one
	skipped bool
	sockets []live // the lesson's sockets as look last read them
}

// Attach adds the lessons to a session: their commands join the shell's
// table, and the session tells the tutor about every command line. It
// fails only when a lesson file does not parse.
func Attach(s *repl.Session, o Options) (*Tutor, error) {
	if catalogueErr != nil {
		return nil, catalogueErr
	}
	if o.Port == 0 {
		o.Port = TutorialPort
	}
	prog, err := loadProgress(o.ProgressFile)
	t := &Tutor{session: s, lessons: catalogue, progress: prog, port: o.Port, finished: map[string]bool{}}
	if err != nil {
		t.note = err.Error()
	}
	s.Extend(t)
	s.Lab().SuggestFrom = t.suggestFrom
	s.LeaveOutNext(func() bool { return t.play != nil }) // the lesson's pages say what comes next
	return t, nil
}

// The command names the tutor adds.
const (
	cmdLessons    = "lessons"
	cmdLesson     = "lesson"
	cmdNext       = "next"
	cmdBack       = "back"
	cmdHint       = "hint"
	cmdSkip       = "skip"
	cmdReset      = "reset"
	cmdQuitLesson = "quit lesson"
)

// Commands are the lesson commands, for the shell's table.
func (t *Tutor) Commands() (string, []repl.Command) {
	return "Lessons", []repl.Command{
		{Name: cmdLessons, Usage: "lessons", Example: "lessons",
			Summary: "the lessons, with ✔ for those you have done",
			About:   "Lists the lessons in order, with ✔ for each one you have played to the end, and how far you got in the others. Your progress is kept in " + shownFile(t.progress.file) + ".",
			Run:     t.runLessons},
		{Name: cmdLesson, Usage: "lesson [N]", Example: "lesson 1",
			Summary: "start lesson N (alone: the next one not done)",
			About: "Starts a lesson from its beginning. Each step says what to do; you type the commands as usual, " +
				"with your own names and ports, and after each command the lesson looks at the sockets, read from the kernel, " +
				"and goes on when the step's goal is reached. A lesson starts from an empty table: sockets left from before are closed first.",
			Complete: func(before []string) []string {
				if len(before) > 0 {
					return nil
				}
				var numbers []string
				for i := range t.lessons {
					numbers = append(numbers, strconv.Itoa(i+1))
				}
				return numbers
			},
			Run: t.runLesson},
		{Name: cmdNext, Usage: "next", Example: "next", Fit: t.inLesson("next"),
			Summary: "go on, once this step's goal is reached",
			About:   "Checks the step's goal now and goes on when it is reached. The lesson also checks after every command you type, so next is for when you have done the step some other way.",
			Run:     t.runNext},
		{Name: cmdBack, Usage: "back", Example: "back", Fit: t.inLesson("back"),
			Summary: "show the step before again",
			About:   "Goes back one step and shows it again. Your sockets stay as they are.",
			Run:     t.runBack},
		{Name: cmdHint, Usage: "hint [answer]", Example: "hint", Fit: t.inLesson("hint"),
			Summary: "a hint for this step; `hint answer`: the whole command",
			About:   "Each hint says a little more. `hint answer` shows the whole command, filled in with your port, whenever you ask: after the hints, or instead of them.",
			Complete: func(before []string) []string {
				if len(before) == 0 {
					return []string{"answer"}
				}
				return nil
			},
			Run: t.runHint},
		{Name: cmdSkip, Usage: "skip", Example: "skip", Fit: t.inLesson("skip"),
			Summary: "move on without doing this step",
			About:   "Moves on to the next step without its goal. A lesson with a skipped step gets no ✔.",
			Run:     t.runSkip},
		{Name: cmdReset, Usage: "reset", Example: "reset", Fit: t.inLesson("reset"),
			Summary: "close this lesson's sockets and start it again",
			About:   "Closes every socket and goes back to the lesson's first step.",
			Run:     t.runReset},
		{Name: cmdQuitLesson, Usage: "quit lesson", Example: "quit lesson", Fit: t.inLesson("quit lesson"),
			Summary: "leave the lesson; its sockets stay open",
			About:   "Leaves the lesson. Its sockets stay open: `sockets` lists them and `close all` closes them.",
			Run:     t.runQuitLesson},
	}
}

func shownFile(file string) string {
	if file == "" {
		return "memory for this run only"
	}
	return steps.Printable([]byte(file))
}

// own says whether a command is one the lesson does not check after: its
// own commands, and help.
func (t *Tutor) own(command string) bool {
	switch command {
	case cmdLessons, cmdLesson, cmdNext, cmdBack, cmdHint, cmdSkip, cmdReset, cmdQuitLesson, "help":
		return true
	}
	return false
}

// Evaluated is the shell telling the tutor what a command line did: the
// lesson remembers what its sockets are now and, after a learner's
// command, checks the step's goal.
func (t *Tutor) Evaluated(_ context.Context, e repl.Evaluation) {
	p := t.play
	if p == nil {
		return
	}
	if t.own(e.Command) { // a lesson's command looks for itself
		return
	}
	before, known := live{}, false
	if e.Command == "listen" && e.Err == nil && e.Report != nil {
		before, known = p.socketNamed(e.Report.Socket)
	}
	w := t.look()
	if known && !before.snap.Bound() {
		p.memory.listenBound[before.sock] = true
	}
	if e.Command == "bind" && e.Err == nil && e.Report != nil {
		p.memory.settleUDP(e.Report.Socket)
	}
	p.last = e
	w.last = e
	p.memory.rememberAuto(e)
	p.memory.rememberSent(w, e)
	t.judge(w, t.answered(e))
}

// answered notes a command that worked and is a line of the step's
// answer, filled in as `hint answer` shows it, not typed before in this
// step; it says whether the command was one.
func (t *Tutor) answered(e repl.Evaluation) bool {
	p := t.play
	typed, err := repl.SplitWords(e.Line)
	if e.Err != nil || err != nil {
		return false
	}
	for i, line := range p.lesson.Pages[p.page].Step.Answer {
		words, err := repl.SplitWords(t.fill(line))
		if err == nil && slices.Equal(words, typed) && !slices.Contains(p.typed, i) {
			p.typed = append(p.typed, i)
			return true
		}
	}
	return false
}

// stillToDo says which commands of the step's answer the learner has
// not typed yet: each with its socket's name where that socket is open,
// else the command alone, since its socket is the learner's to name.
func (t *Tutor) stillToDo() string {
	p := t.play
	var todo []string
	for i, line := range p.lesson.Pages[p.page].Step.Answer {
		if slices.Contains(p.typed, i) {
			continue
		}
		line = t.fill(line)
		command := strings.Fields(line)[0]
		if name, uses := usedSocket(line); uses {
			if _, open := p.socketNamed(name); open {
				command += " " + name
			}
		}
		todo = append(todo, "`"+command+"`")
	}
	switch len(todo) {
	case 0:
		return ""
	case 1:
		return todo[0]
	}
	return strings.Join(todo[:len(todo)-1], ", ") + ", then " + todo[len(todo)-1]
}

// look reads the lesson's sockets (every socket of the session: a lesson
// starts from an empty table) from the kernel and remembers them. What a
// command of the lesson then shows (its ports, keepPort) comes from what
// look read, once for the command.
func (t *Tutor) look() *world {
	p := t.play
	p.sockets = nil
	for _, s := range t.session.Lab().Sockets() {
		p.sockets = append(p.sockets, live{s, steps.Read(s)})
	}
	w := &world{sockets: p.sockets, memory: p.memory, last: p.last, knows: t.session.Knows}
	p.memory.remember(w.sockets)
	return w
}

// reached says whether every check of the step the learner is on passes;
// when one fails in a way its answer cannot mend, stuck is its verdict.
func (t *Tutor) reached(w *world) (ok bool, stuck string) {
	p := t.play
	ok = true
	for _, c := range p.lesson.Pages[p.page].Step.Checks {
		if v := c.def.judge(w, c); !v.ok {
			if v.stuck {
				return false, v.text
			}
			ok = false
		}
	}
	return ok, ""
}

// judge checks the step's goal: when every check passes it says what it
// saw and goes on. Otherwise, after a command of the step's answer
// (onTheWay), it says which of the answer's commands are still to do;
// after any other, what is missing.
func (t *Tutor) judge(w *world, onTheWay bool) {
	p := t.play
	var seen []string
	for _, c := range p.lesson.Pages[p.page].Step.Checks {
		v := c.def.judge(w, c)
		if !v.ok {
			if todo := t.stillToDo(); onTheWay && !v.stuck && todo != "" {
				t.session.Say(repl.Plain, "", "Good: that is one of this step's commands. Still to do: "+todo+".")
				t.keepPort()
				return
			}
			t.session.Say(repl.Bad, "", "Not yet: "+v.text)
			t.keepPort()
			t.session.Say(repl.Faint, "", "`hint` gives a hint; `skip` moves on without this step.")
			return
		}
		seen = append(seen, v.text)
	}
	for _, s := range seen {
		t.session.Say(repl.Good, "", "✔ "+s)
	}
	t.advance()
}

// advance goes to the next step, or ends the lesson after the last.
func (t *Tutor) advance() {
	p := t.play
	p.page++
	p.hints, p.typed = 0, nil
	p.memory.settleUDP("")
	lp := t.progress.of(p.lesson.ID)
	lp.Reached = max(lp.Reached, p.page)
	if p.page < len(p.lesson.Pages) {
		t.save()
		t.showPage(true)
		t.sayReachedAhead()
		return
	}
	if len(p.lesson.Ending) == 0 {
		t.session.Printf("\n")
	}
	for _, prose := range p.lesson.Ending {
		t.showProse(prose)
	}
	if p.skipped {
		t.session.Say(repl.Heading, "", fmt.Sprintf("That is the end of lesson %d, with steps skipped: `lesson %d` plays it again.", p.number, p.number))
	} else {
		lp.Completed = true
		t.finished[p.lesson.ID] = true
		t.session.Say(repl.Good, "", fmt.Sprintf("✔ Lesson %d is done.", p.number))
	}
	if p.number < len(t.lessons) {
		t.session.Say(repl.Plain, "", fmt.Sprintf("Next: `lesson %d`, %s.", p.number+1, t.lessons[p.number].Title))
	} else {
		t.session.Say(repl.Plain, "", "That was the last lesson.")
	}
	t.session.Say(repl.Faint, "", "This lesson's sockets stay open: `sockets` lists them, `close all` closes them.")
	t.play = nil
	t.save()
}

// reachedAlready is said of a step whose goal the learner's sockets reach
// before it is done: a learner who worked ahead.
const reachedAlready = "Your sockets reach this step's goal already: type `next` to go on."

// sayReachedAhead tells a learner who worked ahead (a client connected
// while the step before asked only for its socket) that the step just
// shown is done already, so that they do not repeat a call that would
// now fail. Only the sockets count here, not the command that finished
// the step before.
func (t *Tutor) sayReachedAhead() {
	w := t.look()
	w.last = repl.Evaluation{}
	if ok, _ := t.reached(w); ok {
		t.session.Say(repl.Good, "", reachedAlready)
	}
}

// save writes the progress file, saying once if it cannot.
func (t *Tutor) save() {
	if err := t.progress.save(); err != nil && !t.unsaved {
		t.unsaved = true
		t.session.Say(repl.Faint, "", "(could not save your progress: "+steps.Printable([]byte(err.Error()))+")")
	}
}

func (t *Tutor) tellNote() {
	if t.note != "" {
		t.session.Say(repl.Faint, "", "("+t.note+")")
		t.note = ""
	}
}

// Start starts lesson n (from 1) from its beginning.
func (t *Tutor) Start(n int) error {
	if n < 1 || n > len(t.lessons) {
		return &steps.UsageError{Problem: fmt.Sprintf("there is no lesson %d: the lessons are 1 to %d", n, len(t.lessons))}
	}
	t.tellNote()
	p := &play{number: n, lesson: t.lessons[n-1], memory: newMemory()}
	t.play = p
	t.session.Say(repl.Heading, "", fmt.Sprintf("Lesson %d: %s", n, p.lesson.Title))
	t.session.Say(repl.Faint, "", p.lesson.About)
	if closed := t.closeAll(); closed != "" {
		t.session.Say(repl.Faint, "", "The lesson starts from an empty table, so it closed the sockets left from before: "+closed+".")
	}
	t.choosePort(p)
	t.session.Say(repl.Faint, "", "Type the commands at the prompt as usual, with names and ports of your choice; after each one the lesson looks at your sockets. `hint` helps, `skip` moves on, `quit lesson` leaves.")
	t.progress.of(p.lesson.ID)
	t.save()
	t.showPage(false)
	return nil
}

// Finished says whether lesson n (from 1) was played to its end, every
// step done, since this tutor was attached.
func (t *Tutor) Finished(n int) bool {
	return n >= 1 && n <= len(t.lessons) && t.finished[t.lessons[n-1].ID]
}

// NotDone is what a lesson played from a pipe ends with when lesson n
// (from 1) did not reach its end: where it stopped, the last line a
// teacher's script reads. It is "" when the lesson is done.
func (t *Tutor) NotDone(n int) string {
	switch {
	case t.Finished(n):
		return ""
	case t.play != nil && t.play.number == n:
		return fmt.Sprintf("✗ Lesson %d is not done: it stopped at step %d of %d.", n, t.play.page+1, len(t.play.lesson.Pages))
	}
	return fmt.Sprintf("✗ Lesson %d is not done.", n)
}

// Current is the number of the lesson being played, or 0.
func (t *Tutor) Current() int {
	if t.play == nil {
		return 0
	}
	return t.play.number
}

// showPage shows the reading before the current step, and the step,
// after keepPort when keep is set: not when the lesson's ports were just
// chosen.
func (t *Tutor) showPage(keep bool) {
	p := t.play
	page := p.lesson.Pages[p.page]
	t.session.Printf("\n")
	if keep {
		t.keepPort()
	}
	heading := fmt.Sprintf("── Lesson %d · step %d of %d ", p.number, p.page+1, len(p.lesson.Pages))
	t.session.SayAsIs(repl.Heading, heading+strings.Repeat("─", max(3, 60-len([]rune(heading)))))
	for _, prose := range page.Reading {
		t.showProse(prose)
	}
	step := page.Step
	for i, b := range step.Prose {
		switch {
		case b.Code:
			t.session.SayAsIs(repl.Code, "          "+t.fill(b.Text))
		case i == 0:
			t.session.Say(repl.Heading, "do", t.fill(b.Text))
		default:
			t.session.Say(repl.Heading, " ", t.fill(b.Text))
		}
	}
	if step.Browser != "" {
		url := t.fill(step.Browser)
		t.session.Say(repl.Plain, "outside", "open "+url+" in a web browser on this machine; or, in another terminal: curl -v "+url)
	}
}

// showProse shows a read cell: paragraphs wrapped, code as it is, each
// block after a blank line.
func (t *Tutor) showProse(prose Prose) {
	for i, b := range prose {
		if !b.Code || i == 0 || !prose[i-1].Code {
			t.session.Printf("\n")
		}
		if b.Code {
			t.session.SayAsIs(repl.Code, "    "+t.fill(b.Text))
		} else {
			t.session.Say(repl.Plain, "", t.fill(b.Text))
		}
	}
	t.session.Printf("\n")
}

// fill puts the lesson's ports and the learner's names into a text:
// {port} is the port of the learner's listener now (or the last one it
// had, or the port lessons start from), {second-port} the one after the
// starting port; {udp-port} and {udp:NAME} are the port and the name of
// the lesson's first UDP socket (before there is one, the starting port
// and NAME), {second-udp-port} and {second-udp:NAME} those of its second
// (before, the port after the starting port, and NAME). A UDP socket's
// port counts once settled: bound by bind, or a step done with it there.
func (t *Tutor) fill(text string) string {
	start := t.port
	var udp []udpSocket
	if t.play != nil {
		start = t.play.port
	}
	port := start
	if p := t.play; p != nil {
		if p.memory.lastPort != 0 {
			port = p.memory.lastPort
		}
		for _, s := range p.sockets {
			if s.snap.State == steps.Listen {
				port = s.snap.Local.Port()
				break
			}
		}
		udp = p.memory.udp
	}
	udpPort := func(i int) string {
		if i < len(udp) && udp[i].settled {
			return strconv.Itoa(int(udp[i].port))
		}
		return strconv.Itoa(int(start) + i)
	}
	text = udpName.ReplaceAllStringFunc(text, func(m string) string {
		sub := udpName.FindStringSubmatch(m)
		i := 0
		if sub[1] != "" {
			i = 1
		}
		if i < len(udp) {
			return udp[i].sock.Name
		}
		return sub[2]
	})
	text = strings.ReplaceAll(text, "{udp-port}", udpPort(0))
	text = strings.ReplaceAll(text, "{second-udp-port}", udpPort(1))
	text = strings.ReplaceAll(text, "{port}", strconv.Itoa(int(port)))
	return strings.ReplaceAll(text, "{second-port}", strconv.Itoa(int(start)+1))
}

// udpName is {udp:NAME} or {second-udp:NAME} in a lesson's text.
var udpName = regexp.MustCompile(`\{(second-)?udp:([^{}\s]+)\}`)

// playing returns the lesson being played, or says there is none.
func (t *Tutor) playing() (*play, error) {
	if t.play == nil {
		return nil, &steps.UsageError{Problem: "no lesson is running: `lessons` lists them, and `lesson N` starts one"}
	}
	return t.play, nil
}

// inLesson is the Fit of a command that works only in a lesson: its
// example while one runs, else the start of the lesson `lesson` alone
// would start.
func (t *Tutor) inLesson(example string) func() string {
	return func() string {
		if t.play != nil {
			return example
		}
		return fmt.Sprintf("lesson %d", max(t.nextNotDone(), 1))
	}
}

// nextNotDone is the number of the first lesson not played to its end,
// or 0 when every one is.
func (t *Tutor) nextNotDone() int {
	for i, l := range t.lessons {
		if lp := t.progress.Lessons[l.ID]; lp == nil || !lp.Completed {
			return i + 1
		}
	}
	return 0
}

func noArgs(name string, args []string) error {
	if len(args) > 0 {
		return &steps.UsageError{Problem: name + " takes no arguments"}
	}
	return nil
}

func (t *Tutor) runLessons(_ context.Context, args []string) error {
	if err := noArgs(cmdLessons, args); err != nil {
		return err
	}
	t.tellNote()
	for i, l := range t.lessons {
		lp := t.progress.Lessons[l.ID]
		mark := "  "
		status := ""
		switch {
		case lp != nil && lp.Completed:
			mark = "✔ "
		case t.play != nil && t.play.lesson == l:
			status = fmt.Sprintf(" (playing now: step %d of %d)", t.play.page+1, len(l.Pages))
		case lp != nil && lp.Reached >= len(l.Pages):
			status = " (played to its end, with steps skipped)"
		case lp != nil && lp.Reached > 0:
			status = fmt.Sprintf(" (you got to step %d of %d)", lp.Reached+1, len(l.Pages))
		}
		t.session.Say(repl.Plain, fmt.Sprintf("%s%d", mark, i+1), l.Title+status+" — "+l.About)
	}
	t.session.Say(repl.Faint, "", "`lesson N` starts one; `lesson` alone starts the next one not done.")
	return nil
}

func (t *Tutor) runLesson(_ context.Context, args []string) error {
	switch len(args) {
	case 0:
		if n := t.nextNotDone(); n > 0 {
			return t.Start(n)
		}
		t.session.Say(repl.Good, "", "✔ You have done every lesson. `lesson N` plays one again.")
		return nil
	case 1:
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return &steps.UsageError{Problem: fmt.Sprintf("lesson takes a lesson's number, from 1 to %d, not %s", len(t.lessons), steps.QuoteShort(args[0]))}
		}
		return t.Start(n)
	}
	return &steps.UsageError{Problem: "lesson takes one number"}
}

func (t *Tutor) runNext(_ context.Context, args []string) error {
	if err := noArgs(cmdNext, args); err != nil {
		return err
	}
	if _, err := t.playing(); err != nil {
		return err
	}
	t.judge(t.look(), false)
	return nil
}

func (t *Tutor) runBack(_ context.Context, args []string) error {
	if err := noArgs(cmdBack, args); err != nil {
		return err
	}
	p, err := t.playing()
	if err != nil {
		return err
	}
	if p.page == 0 {
		t.session.Say(repl.Faint, "", "This is the lesson's first step.")
	} else {
		p.page--
	}
	p.hints, p.typed = 0, nil
	t.look()
	t.showPage(true)
	return nil
}

func (t *Tutor) runHint(_ context.Context, args []string) error {
	wantsAnswer := len(args) == 1 && args[0] == "answer"
	if len(args) > 0 && !wantsAnswer {
		return &steps.UsageError{Problem: "hint takes nothing, or `answer` for the whole command"}
	}
	p, err := t.playing()
	if err != nil {
		return err
	}
	w := t.look()
	t.keepPort()
	step := p.lesson.Pages[p.page].Step
	if wantsAnswer {
		// A step whose goal the sockets reach before it is shown (a socket
		// made ahead of its step) needs no command, and the answer, left
		// with none to type, would show nothing.
		// Nor can an answer mend a state it does not start from, such as
		// a connection closed by the wrong end.
		ok, stuck := t.reached(w)
		if ok {
			t.session.Say(repl.Plain, "answer", reachedAlready)
			return nil
		}
		var why string
		var lines []string
		if stuck == "" {
			why, lines, stuck = t.answerNow(w, step)
		}
		if stuck != "" {
			t.session.Say(repl.Plain, "answer", "This step's answer does not start from where your sockets are. "+stuck)
			return nil
		}
		intro := "Type this:"
		if len(lines) > 1 {
			intro = "Type these, one at a time:"
		}
		t.session.Say(repl.Plain, "answer", strings.TrimSpace(why+" "+intro))
		for _, line := range lines {
			t.session.SayAsIs(repl.Code, "          "+line)
		}
		t.session.Say(repl.Faint, "", "Where you chose other names for the sockets, type yours.")
		return nil
	}
	if p.hints >= len(step.Hints) {
		t.session.Say(repl.Faint, "", "No more hints. `hint answer` shows the whole command.")
		return nil
	}
	t.session.Say(repl.Plain, "hint", fmt.Sprintf("%s (%d of %d)", t.fill(step.Hints[p.hints]), p.hints+1, len(step.Hints)))
	p.hints++
	if p.hints == len(step.Hints) {
		t.session.Say(repl.Faint, "", "That was the last hint. `hint answer` shows the whole command.")
	}
	return nil
}

func (t *Tutor) runSkip(_ context.Context, args []string) error {
	if err := noArgs(cmdSkip, args); err != nil {
		return err
	}
	p, err := t.playing()
	if err != nil {
		return err
	}
	step := p.lesson.Pages[p.page].Step
	if first := strings.Fields(step.Answer[0])[0]; !t.session.Knows(first) {
		t.session.Say(repl.Faint, "", fmt.Sprintf("This sockstep has no `%s` command, so this step does not count against you.", first))
	} else {
		p.skipped = true
		t.session.Say(repl.Faint, "", "Skipped.")
	}
	t.look()
	t.advance()
	return nil
}

// choosePort sets the port lesson p starts from: the tutor's, unless it
// or the one after it is taken, as by a connection of the lesson before
// still in TIME_WAIT; then the first pair after them that is free, and
// the lesson says why.
func (t *Tutor) choosePort(p *play) {
	p.port, p.free = t.port, true
	taken := takenPort(t.port)
	if taken == 0 {
		return
	}
	if port, ok := freePair(taken + 1); ok {
		p.port = port
		t.session.Say(repl.Faint, "", fmt.Sprintf("Port %d is taken: %s. This lesson starts from port %d instead of %d.", taken, whyTaken(taken), port, t.port))
		return
	}
	p.free = false
	t.session.Say(repl.Faint, "", fmt.Sprintf("Port %d is taken: %s. No two ports side by side are free from %d to %d either, so this lesson keeps port %d, and a bind to it will fail until it is free.", taken, whyTaken(taken), taken+1, taken+portTries, t.port))
}

// keepPort moves the lesson being played to the next free pair of ports
// when its ports were free when it started but another program (another
// learner's sockstep, on a shared machine) has taken one since, and the
// lesson has not used them yet: no socket of the lesson has either port,
// no UDP socket of the lesson has had a port, and no listener or auto
// server of the lesson has listened anywhere. The lesson says so.
func (t *Tutor) keepPort() {
	p := t.play
	if p == nil || !p.free || p.memory.lastPort != 0 || slices.ContainsFunc(p.memory.udp, func(u udpSocket) bool { return u.port != 0 }) {
		return
	}
	for _, s := range p.sockets {
		if port := s.snap.Local.Port(); port == p.port || port == p.port+1 {
			return
		}
	}
	taken := takenPort(p.port)
	if taken == 0 {
		return
	}
	if port, ok := freePair(taken + 1); ok {
		p.port = port
		t.session.Say(repl.Faint, "", fmt.Sprintf("Since this lesson began, another program has taken port %d: %s. This lesson uses port %d from now on.", taken, whyTaken(taken), port))
	}
}

// suggestFrom is the port the examples of refused commands bind from: that
// of the lesson being played, which its text asks for, or 0 (the
// tutorial's ports) when none is.
func (t *Tutor) suggestFrom() int {
	if t.play == nil {
		return 0
	}
	return int(t.play.port)
}

// freePair is the first port from port on that is free, with the one
// after it, short of portTries ports away; ok is false when there is none.
// Each port is tried once: a pair with a taken port in it is passed.
func freePair(port uint16) (free uint16, ok bool) {
	for p := port; p < port+portTries; {
		taken := takenPort(p)
		if taken == 0 {
			return p, true
		}
		p = taken + 1
	}
	return 0, false
}

// portTries bounds how far from its port a lesson looks for a free pair.
const portTries = 50

// takenPort is the first of port and port+1 that a socket cannot bind
// to now on every interface, TCP or UDP, without SO_REUSEADDR, or 0 when
// both are free.
func takenPort(port uint16) uint16 {
	for _, p := range []uint16{port, port + 1} {
		for _, kind := range []steps.Kind{steps.Stream, steps.Datagram} {
			if steps.PortTaken(steps.IPv4, kind, netip.AddrPortFrom(netip.IPv4Unspecified(), p)) {
				return p
			}
		}
	}
	return 0
}

// whyTaken says what holds a port, as the kernel's table of TCP
// connections shows it.
func whyTaken(port uint16) string {
	conns, _ := steps.Connections()
	for _, c := range conns {
		if c.Local.Port() != port {
			continue
		}
		switch c.State {
		case steps.TimeWait:
			return "a connection that ended there waits in TIME_WAIT, for a minute at most (lesson 6)"
		case steps.Listen:
			return "a socket listens there"
		}
		return fmt.Sprintf("the kernel's table holds a connection there, in %s", c.State)
	}
	return "another socket holds it"
}

// closeAll closes every socket of the session and says which, or "".
func (t *Tutor) closeAll() string {
	lab := t.session.Lab()
	var labels []string
	for _, s := range lab.Sockets() {
		labels = append(labels, s.Label())
	}
	if len(labels) == 0 {
		return ""
	}
	lab.CloseAll()
	return strings.Join(labels, ", ")
}

func (t *Tutor) runReset(_ context.Context, args []string) error {
	if err := noArgs(cmdReset, args); err != nil {
		return err
	}
	p, err := t.playing()
	if err != nil {
		return err
	}
	if closed := t.closeAll(); closed != "" {
		t.session.Say(repl.Faint, "", "Closed this lesson's sockets: "+closed+".")
	}
	t.play = &play{number: p.number, lesson: p.lesson, memory: newMemory()}
	t.session.Say(repl.Heading, "", fmt.Sprintf("Lesson %d starts again: %s", p.number, p.lesson.Title))
	t.choosePort(t.play)
	t.showPage(false)
	return nil
}

func (t *Tutor) runQuitLesson(_ context.Context, args []string) error {
	if err := noArgs(cmdQuitLesson, args); err != nil {
		return err
	}
	p, err := t.playing()
	if err != nil {
		return err
	}
	t.play = nil
	t.session.Say(repl.Plain, "", fmt.Sprintf("You left lesson %d at step %d of %d. Its sockets stay open: `sockets` lists them, `close all` closes them. `lesson %d` starts it again.",
		p.number, p.page+1, len(p.lesson.Pages), p.number))
	return nil
}
