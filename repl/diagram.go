package repl

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"sockstep/steps"
)

// The diagram's geometry. Lanes are at least minSpacing columns apart, so
// that ─SYN-ACK─▶ fits between two neighbours, and at most maxSpacing, so
// that a few sockets leave room on the right for the calls' text.
const (
	minSpacing      = 12
	maxSpacing      = 16
	minDiagramWidth = 40
	maxDiagramWidth = 120
	// defaultLast is how many of the latest calls `diagram` draws when not
	// told with --last: a screenful or two, not the whole history.
	defaultLast = 100
	// roomEnough is the room on the right of a lane where a call's text
	// stays, shortened if need be, rather than go to the left.
	roomEnough = 26
	// bottomNamesAfter is how many rows a diagram may have before the
	// names are repeated under it, the top having scrolled away.
	bottomNamesAfter = 30
)

// runDiagram draws the session's calls so far as a sequence diagram.
func runDiagram(s *Session, _ context.Context, args []string) error {
	last, err := parseLast(args)
	if err != nil {
		return err
	}
	width := min(max(s.render.width, minDiagramWidth), maxDiagramWidth)
	s.out.print(drawDiagram(s.lab.History(), s.lab.Forgotten(), last, width, s.render.st))
	return nil
}

// parseLast reads `--last N` (or --last=N), the only option of diagram.
func parseLast(args []string) (int, error) {
	if len(args) == 0 {
		return defaultLast, nil
	}
	value, ok := strings.CutPrefix(args[0], "--last=")
	switch {
	case ok && len(args) == 1:
	case args[0] == "--last" && len(args) == 2:
		value = args[1]
	default:
		return 0, &steps.UsageError{Problem: "diagram takes only --last N, the number of latest calls to draw"}
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 {
		return 0, &steps.UsageError{Problem: fmt.Sprintf("--last takes a number of calls, 1 or more, not %s", steps.QuoteShort(value))}
	}
	return n, nil
}

// A paint is what a cell of the diagram is, for colour. Colour only
// decorates: without it every cell is the same rune.
type paint uint8

const (
	plainPaint paint = iota
	lanePaint
	namePaint
	markPaint
	arrowPaint
	failPaint
)

type cell struct {
	r rune
	p paint
}

// A row is one line of the diagram, a cell per column.
type row []cell

func newRow(width int) row {
	r := make(row, width)
	for i := range r {
		r[i] = cell{' ', plainPaint}
	}
	return r
}

// put writes text from column x on, as far as the row goes.
func (r row) put(x int, text string, p paint) {
	for _, c := range text {
		if x >= 0 && x < len(r) {
			r[x] = cell{c, p}
		}
		x++
	}
}

// render joins the cells, colouring each run of one paint, without the
// trailing blanks.
func (r row) render(st style) string {
	end := len(r)
	for end > 0 && r[end-1].r == ' ' {
		end--
	}
	colour := map[paint]func(string) string{
		lanePaint: st.dim, namePaint: st.call, markPaint: st.call,
		arrowPaint: st.state, failPaint: st.fail,
	}
	var b strings.Builder
	for i := 0; i < end; {
		j := i
		var run strings.Builder
		for ; j < end && r[j].p == r[i].p; j++ {
			run.WriteRune(r[j].r)
		}
		if f, ok := colour[r[i].p]; ok && strings.TrimSpace(run.String()) != "" {
			b.WriteString(f(run.String()))
		} else {
			b.WriteString(run.String())
		}
		i = j
	}
	return b.String()
}

// A diagram is the geometry and the rows of one drawing: a lane per
// socket, and a row per call and per packet.
type diagram struct {
	width   int
	lanes   []string       // names, left to right
	x       map[string]int // each lane's column
	closed  map[string]bool
	spacing int
	rows    []row
}

// drawDiagram draws the latest `last` events of a history as a sequence
// diagram at most width columns wide. forgotten is how many calls the
// session made before the history's first.
func drawDiagram(history []steps.Event, forgotten, last, width int, st style) string {
	if len(history) == 0 {
		return "  no calls yet: the diagram starts with the first one (try `socket as server`)\n"
	}
	skipped := max(len(history)-last, 0)
	events := history[skipped:]
	d := &diagram{width: width, x: map[string]int{}, closed: map[string]bool{}}
	for _, e := range history[:skipped] {
		d.follow(e)
	}
	leftOut := d.chooseLanes(events)

	var b strings.Builder
	what := fmt.Sprintf("the session's %d calls, oldest first", len(events))
	if len(events) == 1 {
		what = "the session's one call"
	}
	switch {
	case forgotten > 0 && skipped > 0:
		what = fmt.Sprintf("the last %d of the session's %d calls, oldest first; sockstep keeps the last %d (`diagram --last %d` draws those)",
			len(events), forgotten+len(history), len(history), len(history))
	case forgotten > 0:
		what = fmt.Sprintf("the last %d of the session's %d calls, oldest first: sockstep keeps no more",
			len(events), forgotten+len(history))
	case skipped > 0:
		what = fmt.Sprintf("the last %d of the session's %d calls, oldest first (`diagram --last %d` draws them all)",
			len(events), len(history), len(history))
	}
	for _, line := range wrap(what, width-2) {
		b.WriteString("  " + line + "\n")
	}
	for _, line := range legend(width - 2) {
		b.WriteString("  " + st.dim(line) + "\n")
	}
	if len(leftOut) > 0 {
		note := fmt.Sprintf("Not drawn, for want of room in %d columns: %s, nor their calls and packets. "+
			"`diagram --last N` draws fewer calls, and so fewer sockets.", width, strings.Join(leftOut, ", "))
		for _, line := range wrap(note, width-2) {
			b.WriteString("  " + st.dim(line) + "\n")
		}
	}
	b.WriteString("\n")
	names := d.names()
	b.WriteString(names.render(st) + "\n")
	d.rows = append(d.rows, d.lanesRow())
	for _, e := range events {
		d.event(e)
	}
	for _, r := range d.rows {
		b.WriteString(r.render(st) + "\n")
	}
	if len(d.rows) > bottomNamesAfter {
		b.WriteString(names.render(st) + "\n")
	}
	footnote := "The packets are those TCP and UDP send for each call of this session, and the ICMP errors that " +
		"came back to a connected socket, not captured from the wire. Not drawn: the ACKs of data and of FINs, " +
		"segments sent again, bytes TCP held back and sent later, an ICMP error that came back to an unconnected socket (which never " +
		"hears of it), and what a program outside the session sends of its own accord."
	if d.outside() {
		footnote += " A lane named by an address is an end outside this session."
	}
	for _, line := range wrap(footnote, width-2) {
		b.WriteString("  " + st.dim(line) + "\n")
	}
	return b.String()
}

// legend says what the signs mean, in lines of at most width runes.
func legend(width int) []string {
	var lines []string
	line := ""
	for _, item := range []string{"● a call", "✗ a failed call", "──▶ a packet it sent", "┊ closed"} {
		switch {
		case line == "":
			line = item
		case len([]rune(line+"   "+item)) <= width:
			line += "   " + item
		default:
			lines = append(lines, line)
			line = item
		}
	}
	return append(lines, line)
}

// follow keeps track of which sockets are closed: a lane is drawn dotted
// after its close, and solid again if its name is given to a new socket.
func (d *diagram) follow(e steps.Event) {
	if e.Failed {
		return
	}
	switch call, _, _ := strings.Cut(e.Call, "("); call {
	case "close":
		d.closed[e.Socket] = true
	case "socket":
		d.closed[e.Socket] = false
	}
}

// chooseLanes gives a lane to each socket and outside address of the
// events, in the order they first appear. When there are more than fit, it
// keeps those used most recently and returns the names of the others.
func (d *diagram) chooseLanes(events []steps.Event) (leftOut []string) {
	var order []string
	lastUse := map[string]int{}
	use := func(name string, i int) {
		if name == "" {
			return
		}
		if _, seen := lastUse[name]; !seen {
			order = append(order, name)
		}
		lastUse[name] = i
	}
	for i, e := range events {
		use(e.Socket, i)
		for _, p := range e.Packets {
			use(p.From, i)
			use(p.To, i)
		}
	}
	fit := d.fits()
	keep := map[string]bool{}
	if len(order) > fit {
		// The most recently used first; the names of one event tie, and
		// keep their order.
		byUse := append([]string(nil), order...)
		slices.SortStableFunc(byUse, func(a, b string) int { return cmp.Compare(lastUse[b], lastUse[a]) })
		for _, n := range byUse[:fit] {
			keep[n] = true
		}
	}
	for _, n := range order {
		if len(order) <= fit || keep[n] {
			d.lanes = append(d.lanes, n)
		} else {
			leftOut = append(leftOut, n)
		}
	}
	// A lane's name takes up to spacing-1 columns centred on it, so n
	// lanes from the indent take n*spacing columns.
	d.spacing = min(maxSpacing, (d.width-2)/max(1, len(d.lanes)))
	first := 2 + (d.spacing-1)/2
	for i, n := range d.lanes {
		d.x[n] = first + i*d.spacing
	}
	return leftOut
}

// fits is how many lanes fit in the width at the smallest spacing.
func (d *diagram) fits() int {
	return max(1, (d.width-2)/minSpacing)
}

// outside says whether some lane is an address rather than a socket's
// name: names start with a letter, addresses with a digit or [.
func (d *diagram) outside() bool {
	for _, n := range d.lanes {
		if isAddress(n) {
			return true
		}
	}
	return false
}

func isAddress(name string) bool {
	return name != "" && (name[0] == '[' || name[0] >= '0' && name[0] <= '9')
}

// names is the row of lane names, each centred over its lane and cut to
// the room between lanes: an address keeps its end, where the port is.
func (d *diagram) names() row {
	r := newRow(d.width)
	for _, n := range d.lanes {
		room := d.spacing - 1
		name := []rune(oneColumn(n))
		if len(name) > room {
			if isAddress(n) {
				name = append([]rune("…"), name[len(name)-room+1:]...)
			} else {
				name = append(name[:room-1], '…')
			}
		}
		r.put(d.x[n]-(len(name)-1)/2, string(name), namePaint)
	}
	return r
}

// lanesRow is a row of bare lanes: solid for a live socket, dotted for a
// closed one.
func (d *diagram) lanesRow() row {
	r := newRow(d.width)
	for _, n := range d.lanes {
		glyph := "│"
		if d.closed[n] {
			glyph = "┊"
		}
		r.put(d.x[n], glyph, lanePaint)
	}
	return r
}

// event draws a call and the packets it sent. A call of a socket that was
// left out is not drawn, nor a packet with an end left out.
func (d *diagram) event(e steps.Event) {
	if x, ok := d.x[e.Socket]; ok {
		r := d.lanesRow()
		mark, p := "●", markPaint
		if e.Failed {
			mark, p = "✗", failPaint
		}
		r.put(x, mark, p)
		textPaint := plainPaint
		if e.Failed {
			textPaint = failPaint
		}
		d.beside(r, x, x, oneColumn(e.Call), textPaint)
		d.rows = append(d.rows, r)
	}
	d.follow(e)
	for _, p := range e.Packets {
		from, okFrom := d.x[p.From]
		to, okTo := d.x[p.To]
		switch {
		case !okFrom || !okTo:
		case from == to: // a socket connected to itself
			r := d.lanesRow()
			r.put(from, "↺", arrowPaint)
			d.beside(r, from, from, oneColumn(p.What)+" to itself", arrowPaint)
			d.rows = append(d.rows, r)
		default:
			d.rows = append(d.rows, d.arrow(from, to, oneColumn(p.What)))
		}
	}
}

// arrow is a row with an arrow from one lane to another, labelled in its
// middle, or beside it when the label does not fit between the lanes.
func (d *diagram) arrow(from, to int, label string) row {
	r := d.lanesRow()
	p := arrowPaint
	if label == "RST" || strings.HasPrefix(label, "ICMP") {
		p = failPaint
	}
	lo, hi := min(from, to), max(from, to)
	inner := hi - lo - 1 // columns between the two lanes
	line := []rune(strings.Repeat("─", inner))
	n := len([]rune(label))
	inside := n+3 <= inner // a dash each side, and the head
	start := (inner - 1 - n) / 2
	if to > from {
		line[inner-1] = '▶'
	} else {
		line[0] = '◀'
		start++
	}
	if inside {
		copy(line[start:], []rune(label))
	}
	r.put(lo+1, string(line), p)
	if !inside {
		d.beside(r, lo, hi, label, p)
	}
	return r
}

// beside writes text next to the columns lo to hi of a row, covering the
// lanes it crosses. It writes on the right, where a reader looks first,
// unless the text would lose much there and fits whole on the left; text
// too long for either side is shortened on the side with more room.
func (d *diagram) beside(r row, lo, hi int, text string, p paint) {
	right := d.width - (hi + 2) // from hi+2 to the end of the row
	left := lo - 1 - 2          // from the indent to lo-2
	n := len([]rune(text))
	onLeft := func(text string) {
		n := len([]rune(text))
		r.put(lo-2-n, " "+text, p) // a blank keeps it off a lane
	}
	switch {
	case n <= right || right >= roomEnough:
		r.put(hi+2, shorten(text, right)+" ", p)
	case n <= left:
		onLeft(text)
	case right >= left:
		r.put(hi+2, shorten(text, right)+" ", p)
	default:
		onLeft(shorten(text, left))
	}
}

// shorten cuts a call's text to width runes with "…", keeping what
// matters most: it shortens a quoted text first, keeping the call's name and
// result whole; failing that, it keeps the start and the result, with its
// errno number if there is room, "connect(8, 12…) = -1 ECONNREFUSED";
// failing that, the start.
func shorten(text string, width int) string {
	runes := []rune(text)
	if len(runes) <= width {
		return text
	}
	if width < 1 {
		return ""
	}
	over := len(runes) - width
	open, end := strings.IndexByte(text, '"'), strings.LastIndexByte(text, '"')
	if open >= 0 && end > open {
		quoted := []rune(text[open+1 : end])
		if keep := len(quoted) - over - 1; keep >= 3 {
			return text[:open+1] + string(quoted[:keep]) + "…" + text[end:]
		}
	}
	if at := strings.LastIndex(text, ") = "); at > 0 {
		name := strings.IndexByte(text, '(') + 1 // the head keeps at least "connect("
		for _, result := range []string{text[at:], errnoNumber.ReplaceAllString(text[at:], "")} {
			if head := width - 1 - len([]rune(result)); head >= name {
				return string(runes[:head]) + "…" + result
			}
		}
	}
	return string(runes[:width-1]) + "…"
}

// errnoNumber is the end of a failed call's result, " (errno 111)".
var errnoNumber = regexp.MustCompile(` \(errno \d+\)$`)

// oneColumn makes text safe to lay out one rune per column: a rune that
// may take two columns (CJK, emoji) or none (a combining mark) is written
// as an escape, \u65e5, as steps.Printable writes what is not printable.
func oneColumn(text string) string {
	var b strings.Builder
	for _, r := range text {
		if narrow(r) {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// narrow says whether a rune surely takes one column: printable, and in
// the scripts and symbols that no terminal draws wide or combines.
func narrow(r rune) bool {
	switch {
	case !unicode.IsPrint(r) || unicode.In(r, unicode.Mn, unicode.Me):
		return false
	case r < 0x0590, // Latin, Greek, Cyrillic, Armenian (Hebrew on is right to left)
		r >= 0x1E00 && r <= 0x1FFF, // Latin and Greek with accents
		r >= 0x2000 && r <= 0x22FF, // punctuation, arrows, mathematical signs
		r >= 0x2500 && r <= 0x25FC: // box drawing, blocks, shapes (the next two are emoji)
		return true
	}
	return false
}
