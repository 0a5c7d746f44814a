package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"sockstep/auto"
	"sockstep/steps"
)

// columnsWidth is the narrowest terminal on which auto demo shows the
// server and the client side by side; a narrower one gets one column,
// each line labelled.
const columnsWidth = 100

// maxColumnWidth is the widest each of the demo's two columns grows on a
// terminal wider than columnsWidth; a wider terminal leaves the rest of
// its width empty (two columns and the separator take 163). It is the
// width output is wrapped at when it goes to no terminal: a report's
// field names take ten of it, so prose runs to about 70 characters, a
// measure the eye follows back to the next line's start, and the
// tutorial's lines of Python that cannot be broken (connection,
// client_address = server_socket.accept()) fit whole in a column.
const maxColumnWidth = 80

// runAuto is the `auto` command: it parses the play and its flags, then
// plays it.
func runAuto(s *Session, ctx context.Context, args []string) error {
	plan, err := auto.Parse(args)
	if errors.Is(err, auto.ErrHelp) {
		return runHelp(s, ctx, []string{"auto"})
	}
	if err != nil {
		return err
	}
	err = s.Play(ctx, plan)
	if _, ok := errors.AsType[*auto.HostError](err); ok {
		s.problem(err.Error(), nil)
		return ErrFailed
	}
	return err
}

// completeAuto offers the plays, then the flags of the chosen one that
// are not given yet; after a flag that takes a value, nothing, since the
// value is the learner's to type.
func completeAuto(_ *Session, before []string) []string {
	if len(before) == 0 {
		return auto.Plays
	}
	if last := before[len(before)-1]; len(before) > 1 && strings.HasPrefix(last, "--") && !slices.Contains(auto.Switches, last) {
		return nil
	}
	var offer []string
	for _, flag := range auto.Flags[before[0]] {
		if !slices.Contains(before[1:], flag) {
			offer = append(offer, flag)
		}
	}
	return offer
}

// Play runs one of auto's flows in this session and ends with its summary.
// Each call is shown as the command that makes it and its report, as if
// typed, or with --quiet only the tutorial's own lines (and any call that
// failed). A stop (Ctrl-C, or q at a --step pause) closes what the flow
// opened and is not a failure; ErrFailed says a call failed or could not
// be made. First it finds the address of a --host that is a name: one
// with none is an *auto.HostError, returned before any socket is made and
// not said, for the caller to say where its problems go.
func (s *Session) Play(ctx context.Context, plan *auto.Plan) error {
	if err := plan.FindHost(ctx); err != nil {
		return err
	}
	plan.Timeout = s.lab.Timeout
	stage := newAutoStage(s, plan)
	sum, err := plan.Run(ctx, stage)
	stage.close()
	var usage *steps.UsageError
	if errors.As(err, &usage) {
		s.problem(usage.Problem, s.lookup("auto"))
	}
	paint := s.render.st.notice
	// Narration ends on a blank line; quiet, only a stop by Ctrl-C needs
	// one, so that the summary does not run on from the ^C the terminal
	// echoed.
	if plan.Quiet {
		paint = plain
	}
	if !plan.Quiet || ctx.Err() != nil {
		s.Printf("\n")
	}
	var b strings.Builder
	paintWrapped(&b, sum.String(), s.render.width, "", "", paint)
	s.Printf("%s", b.String())
	if err != nil {
		return ErrFailed
	}
	return nil
}

// autoStage shows a flow in the session's output: alone, as the REPL shows
// a typed command; for the demo, each line labelled with its side, or the
// two sides in columns on a wide terminal.
//
// Narrating, the flow's goroutine only hands each thing to show over; the
// stage's own goroutine renders it and writes it, in order, so that
// narrating a call costs the flow little more than the call, and the
// rendering runs beside the flow, mostly while it waits. The stage writes
// whenever it has shown everything handed over, so what is shown is on the
// screen while anything waits; the flow waits for the stage before it asks
// the learner, and at the end. Quiet, there is so little to show that the
// flow renders its lines itself, and writes them when a call is about to
// wait.
type autoStage struct {
	s        *Session
	quiet    bool // only the tutorial's lines, and failed calls
	both     bool // the demo: lines are labelled server or client
	columns  bool // the demo on a wide terminal: server left, client right
	terminal int  // the terminal's width, which the columns share

	shows chan func()   // what is handed over, to be rendered into held; nil when quiet
	ended chan struct{} // closed when the stage's goroutine has ended
	held  bytes.Buffer  // rendered and not yet written; the goroutine's
}

// maxHeld bounds what the stage renders before it writes.
const maxHeld = 32 << 10

func newAutoStage(s *Session, plan *auto.Plan) *autoStage {
	a := &autoStage{s: s, quiet: plan.Quiet, both: plan.Play == "demo", terminal: s.columns}
	a.columns = a.both && a.terminal >= columnsWidth
	if !a.quiet {
		a.shows, a.ended = make(chan func(), 64), make(chan struct{})
		go a.run()
	}
	if a.columns {
		a.hand(a.header)
	}
	return a
}

// run is the stage's goroutine: it renders what is handed over, and writes
// when nothing more waits to be rendered, or when it holds a lot.
func (a *autoStage) run() {
	defer close(a.ended)
	for show := range a.shows {
		show()
		if len(a.shows) == 0 || a.held.Len() > maxHeld {
			a.flush()
		}
	}
	a.flush()
}

// hand gives the stage's goroutine something to render, or when quiet
// renders it at once, to be written before anything waits.
func (a *autoStage) hand(show func()) {
	if a.shows == nil {
		show()
		return
	}
	a.shows <- show
}

// sync waits until everything handed over is written.
func (a *autoStage) sync() {
	if a.shows == nil {
		a.flush()
		return
	}
	written := make(chan struct{})
	a.hand(func() {
		a.flush()
		close(written)
	})
	<-written
}

// close writes everything handed over and ends the stage's goroutine.
func (a *autoStage) close() {
	if a.shows == nil {
		a.flush()
		return
	}
	close(a.shows)
	<-a.ended
}

// flush writes what the stage holds.
func (a *autoStage) flush() {
	if a.held.Len() > 0 {
		a.s.out.write(a.held.Bytes())
		a.held.Reset()
	}
}

func (a *autoStage) Command(side auto.Side, step string, args []string) {
	if a.quiet {
		return
	}
	a.hand(func() {
		prompt := string(side) + " › "
		if a.both {
			prompt = "› " // the side labels every line already
		}
		var b strings.Builder
		// A line too wide goes on under the command, two columns further in.
		indent := utf8.RuneCountInString(prompt) + 2
		room := a.renderer().width - indent
		breakInto(&b, step+" "+JoinWords(args), room+2, room, a.s.render.st.dim(prompt), strings.Repeat(" ", indent), plain, false)
		a.show(side, b.String(), false)
	})
}

func (a *autoStage) Report(side auto.Side, rep *steps.Report) {
	if a.quiet && rep.Failure == nil {
		return
	}
	a.hand(func() {
		r := a.renderer()
		if a.quiet {
			r.level = Off
		}
		var b strings.Builder
		r.report(&b, rep)
		a.show(side, b.String(), false)
	})
}

func (a *autoStage) Print(side auto.Side, line string) {
	if a.quiet {
		a.printQuiet(line)
		return
	}
	a.hand(func() { a.print(side, line) })
}

// printQuiet adds one of the tutorial's lines, as it is, to what a quiet
// stage holds. Quiet is only ever one side (auto server or client), so no
// line needs a label, and a line is written where it is, without being
// copied first.
func (a *autoStage) printQuiet(line string) {
	a.held.WriteString(line)
	a.held.WriteByte('\n')
}

// print renders one of the tutorial's lines, labelled as what the program
// prints.
func (a *autoStage) print(side auto.Side, line string) {
	r := a.renderer()
	var b strings.Builder
	r.field(&b, "prints", r.st.call, line, false)
	a.show(side, b.String(), true)
}

func (a *autoStage) Message(side auto.Side, data []byte) {
	if a.quiet {
		printMessage(data, a.printQuiet)
		return
	}
	a.hand(func() { printMessage(data, func(line string) { a.print(side, line) }) })
}

// printMessage gives printLine the lines of a message as Python's print
// shows them, its first MaxShownBytes bytes.
func printMessage(data []byte, printLine func(string)) {
	shown, omitted := steps.Clip(data, MaxShownBytes)
	for _, l := range steps.PrintableLines(shown) {
		printLine(auto.AsPrinted(l))
	}
	if omitted > 0 {
		printLine(fmt.Sprintf("… %d more bytes not shown", omitted))
	}
}

// Tell shows one of the flow's notes (»), which are part of full
// narration, as a step's sentences are.
func (a *autoStage) Tell(side auto.Side, text string) {
	if a.quiet || text == "" || a.s.render.level != Full {
		return
	}
	a.hand(func() {
		r := a.renderer()
		var b strings.Builder
		for _, para := range strings.Split(text, "\n") {
			paintWrapped(&b, para, r.width-4, "  » ", "    ", r.st.notice)
		}
		a.show(side, b.String(), false)
	})
}

func (a *autoStage) Waiting(side auto.Side, what func() string) {
	if a.quiet {
		a.flush() // the lines held are shown while the call waits
		return
	}
	a.hand(func() {
		r := a.renderer()
		var b strings.Builder
		r.waiting(&b, what())
		a.show(side, b.String(), false)
	})
}

// Pause asks before the next call: Enter runs it, q (or a word in
// stopAnswers) stops, and any other answer asks again.
func (a *autoStage) Pause(ctx context.Context, side auto.Side, next func(room int) string) bool {
	a.sync()
	start := "  "
	if a.both {
		start = "  " + string(side) + " › "
	}
	// The prompt and the space after it fit the terminal's width.
	prompt := start + next(a.s.render.width-visibleWidth(start)-1) + " "
	for {
		line, ok := a.s.ask(ctx, prompt)
		if !ok {
			if ctx.Err() == nil {
				a.s.Printf("  %s\n", a.s.render.st.dim("(no more input: stopping)"))
			}
			return false
		}
		answer := strings.ToLower(strings.TrimSpace(line))
		switch {
		case answer == "":
			return true
		case slices.Contains(stopAnswers, answer):
			return false
		}
		// Anything else is neither Enter nor q: the call waits until
		// the learner says which, rather than being made on a guess.
	}
}

// stopAnswers are the answers at a --step pause that stop the flow: q,
// and the words a learner who wants out may type instead, in any case.
var stopAnswers = []string{"q", "quit", "stop", "exit"}

// renderer is the session's, at the width one side's lines have.
func (a *autoStage) renderer() renderer {
	r := a.s.render
	switch {
	case a.columns:
		r.width = a.columnWidth()
	case a.both:
		r.width -= visibleWidth(a.label(auto.Server))
	}
	return r
}

// columnWidth is the width of each of the demo's two columns: half the
// terminal, less the separator, up to maxColumnWidth.
func (a *autoStage) columnWidth() int { return min(maxColumnWidth, (a.terminal-3)/2) }

// columnsEdge is where the demo's two columns end: both, and the
// separator between them.
func (a *autoStage) columnsEdge() int { return 2*a.columnWidth() + 3 }

// label is what starts each of a side's lines in the demo's one column.
func (a *autoStage) label(side auto.Side) string { return string(side) + " │ " }

// header names the demo's two columns.
func (a *autoStage) header() {
	w := a.columnWidth()
	st := a.s.render.st
	fmt.Fprintf(&a.held, "%s │ %s\n%s┼%s\n", st.call(pad("  server", w)), st.call("client"),
		strings.Repeat("─", w+1), strings.Repeat("─", a.columnsEdge()-w-2))
}

// show adds a block of one side's lines, where that side's lines go, to
// what the stage holds. The lines are rendered at the side's width; one
// that could not be broken (code with no place to break, quoted text) is
// not cut while it fits the terminal: it takes room from the other column,
// which is empty on its row. In the left column it runs on over the right
// one; in the right column it starts further left, so that it ends where
// the columns end (at the terminal's edge, up to a wide one's). A line of
// what a program prints (shown) or of received bytes that is wider than
// both columns, which the terminal would wrap across both or which would
// stand in neither, or wider than the terminal under the labels (a message
// of a thousand bytes with no space), is broken into pieces as wide as its
// column, each after the first opening with continued, so that every byte
// is shown, in order, and the columns stay whole.
func (a *autoStage) show(side auto.Side, block string, shown bool) {
	if !a.both {
		a.held.WriteString(block)
		return
	}
	b := &a.held
	w, edge := a.columnWidth(), a.columnsEdge()
	if !a.columns {
		w, edge = a.s.render.width-visibleWidth(a.label(side)), a.s.render.width
	}
	mark := a.s.render.st.dim(continued)
	for _, long := range strings.Split(strings.TrimSuffix(block, "\n"), "\n") {
		pieces := []string{long}
		if visibleWidth(long) > edge && (shown || receivedData(long)) {
			pieces = breakVisible(long, w, w-visibleWidth(continued))
			for i := 1; i < len(pieces); i++ {
				pieces[i] = mark + pieces[i]
			}
		}
		for _, line := range pieces {
			switch {
			case !a.columns:
				b.WriteString(a.s.render.st.dim(a.label(side)) + line + "\n")
			case side == auto.Server:
				if n := visibleWidth(line); n <= w {
					line += strings.Repeat(" ", w-n) + " │"
				}
				b.WriteString(line + "\n")
			default:
				if n := visibleWidth(line); n > w {
					b.WriteString(strings.Repeat(" ", max(0, edge-n)) + line + "\n")
					continue
				}
				b.WriteString(strings.Repeat(" ", w) + " │ " + line + "\n")
			}
		}
	}
}

// receivedData says whether a line is one of a report's block of received
// bytes, which opens with "│". Other lines of a report are not broken: a
// line of code stays whole, to be pasted as it is.
func receivedData(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(colourCode.ReplaceAllString(line, ""), " "), "│")
}

// continued opens each further piece of a line that show broke, as Vim
// marks a line it wraps.
const continued = "↪ "

// breakVisible breaks a line into pieces of at most first visible
// columns, then rest, wherever that count falls. A colour a piece leaves
// open is closed at its end and opened again at the start of the next,
// so that each piece is painted as it was and no colour runs into the
// other column.
func breakVisible(line string, first, rest int) []string {
	var pieces []string
	var piece strings.Builder
	open := "" // the colour sequence in force, "" for none
	room, n := max(1, first), 0
	for i := 0; i < len(line); {
		if size := colourAt(line[i:]); size > 0 {
			code := line[i : i+size]
			piece.WriteString(code)
			if open == "" { // the style's colours are never nested: a sequence opens one, the next closes it
				open = code
			} else {
				open = ""
			}
			i += size
			continue
		}
		if n == room {
			if open != "" {
				piece.WriteString(colourReset)
			}
			pieces = append(pieces, piece.String())
			piece.Reset()
			piece.WriteString(open)
			room, n = max(1, rest), 0
		}
		_, size := utf8.DecodeRuneInString(line[i:])
		piece.WriteString(line[i : i+size])
		i += size
		n++
	}
	return append(pieces, piece.String())
}

// colourAt is the length of the colour sequence s starts with, 0 if it
// starts with none.
func colourAt(s string) int {
	if s == "" || s[0] != '\x1b' {
		return 0
	}
	if loc := colourCode.FindStringIndex(s); loc != nil && loc[0] == 0 {
		return loc[1]
	}
	return 0
}

// colourReset ends any colour.
const colourReset = "\x1b[0m"

// colourCode matches the colour sequences the session's style writes.
var colourCode = regexp.MustCompile("\x1b\\[[0-9;]*m")

// visibleWidth is how many columns a line of output takes: its characters,
// without the colour sequences.
func visibleWidth(line string) int {
	return utf8.RuneCountInString(colourCode.ReplaceAllString(line, ""))
}

// pad fills a line with spaces to width columns.
func pad(line string, width int) string {
	if n := visibleWidth(line); n < width {
		return line + strings.Repeat(" ", width-n)
	}
	return line
}
