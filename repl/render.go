package repl

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"sockstep/steps"
)

// Narration is how much of each step's report is shown.
type Narration int

// The levels of `narrate`: off keeps the call line (and any data, values
// read and error), brief adds the state change, full is the whole report.
const (
	Full Narration = iota
	Brief
	Off
)

var narrationNames = map[string]Narration{"full": Full, "brief": Brief, "off": Off}

// MaxShownBytes and MaxShownLines bound how much received data is
// printed, so a peer that sends a lot cannot flood the terminal; the rest
// is counted, not shown.
const (
	MaxShownBytes = 4096
	MaxShownLines = 16
)

// labelWidth is the width of the left column: "python  ", "state   ".
const labelWidth = 8

// FitWidth is the narrowest terminal sockstep's lines are laid out for:
// below it, a line of code or state, after its label and the indent of
// its further lines (12 columns), has too little room left.
const FitWidth = 40

// SayTooNarrow says, before anything else, that the terminal is columns
// wide, less than FitWidth: lines wider than it will follow.
func (s *Session) SayTooNarrow(columns int) {
	s.sayDim(fmt.Sprintf("sockstep: this terminal is %d columns wide. Lines labelled state, python or next start %d columns in, "+
		"their further lines %d, so below %d columns some lines will be wider than the terminal, and it breaks them mid-word. "+
		"Widen the window to 80 columns (%d at least).", columns, len(blankLabel), len(blankLabel)+2, FitWidth, FitWidth))
}

// sayDim writes text dimmed, wrapped to the width.
func (s *Session) sayDim(text string) {
	var b strings.Builder
	paintWrapped(&b, text, s.render.width, "", "", s.render.st.dim)
	s.out.print(b.String())
}

// suggests says whether reports and notices may suggest the next call
// (LeaveOutNext).
func (r *renderer) suggests() bool { return r.noNext == nil || !r.noNext() }

// renderer writes reports for one session.
type renderer struct {
	st     style
	width  int
	level  Narration
	hexAll bool
	// langs are the languages each step's call is shown in, in order:
	// python, the tutorial's, unless `code` chose others.
	langs []string
	// noNext, when set and answering true, leaves out the reports' next
	// lines (Session.LeaveOutNext).
	noNext func() bool
}

// languages `code` can show a call in, in the order they are shown.
var languages = []string{"python", "c", "go"}

// code writes the call in each chosen language the report has it in.
// Python, for a refused call, also says what it raises.
func (r *renderer) code(b *strings.Builder, rep *steps.Report, raises string) {
	for _, lang := range r.langs {
		text := rep.Code(lang)
		if text == "" {
			continue
		}
		r.field(b, lang, r.st.python, text, true)
		if lang == "python" && raises != "" {
			r.field(b, "", r.st.python, "raises "+raises, false)
		}
	}
}

// report writes one step's report.
func (r *renderer) report(b *strings.Builder, rep *steps.Report) {
	rep.Narrate()
	r.callLine(b, rep)
	switch {
	case len(rep.Datagrams) > 0:
		r.datagrams(b, rep)
	case len(rep.Data) > 0:
		r.dataBlock(b, rep.Data, max(rep.DataTotal, len(rep.Data)), rep.Hex || r.hexAll, "")
	}
	if f := rep.Failure; f != nil {
		r.failure(b, rep, f)
		return
	}
	if r.level != Off {
		if r.level == Full && rep.Says != "" && !rep.Stopped {
			r.prose(b, rep.Says) // a stopped wait's prose follows its call line
		}
		if len(rep.State) > 0 && !rep.Stopped {
			r.states(b, rep.State)
		}
	}
	for _, l := range rep.Lines { // the values the call read (option's), like data, at every level
		r.field(b, "", plain, l, false)
	}
	if r.level == Full {
		r.code(b, rep, "")
		if rep.Next != "" && r.suggests() {
			r.field(b, "next", r.st.next, rep.Next, false)
		}
	}
}

func (r *renderer) callLine(b *strings.Builder, rep *steps.Report) {
	paint := r.st.call
	if rep.Failed() {
		paint = r.st.fail
	}
	lines := breakLine(rep.Call, r.width-2, r.width-4, false)
	indent := "  "
	for _, line := range lines[:len(lines)-1] {
		b.WriteString(indent + paint(line) + "\n")
		indent = "    "
	}
	last := lines[len(lines)-1]
	line := indent + paint(last)
	if rep.Took > 0 && rep.TookAs != "" {
		took := fmt.Sprintf("%s %.2f ms", rep.TookAs, float64(rep.Took)/float64(time.Millisecond)) // rounded as the prose rounds it
		used := len(indent) + utf8.RuneCountInString(last)
		if used+2+len(took) > r.width { // on a line of its own, at the right
			b.WriteString(line + "\n")
			line, used = "", 0
		}
		line += strings.Repeat(" ", max(2, r.width-used-len(took))) + r.st.dim(took)
	}
	b.WriteString(line + "\n")
	if rep.Stopped && rep.Says != "" && r.level != Off {
		r.prose(b, rep.Says) // what a stopped wait means belongs to its call
	}
}

// dataBlock shows received bytes: one quoted line for short text, a block
// of escaped lines for text with line breaks, or a hex dump. Nothing a peer
// sends reaches the terminal unescaped.
func (r *renderer) dataBlock(b *strings.Builder, data []byte, total int, hex bool, from string) {
	shown, _ := steps.Clip(data, MaxShownBytes)
	head := steps.Counted(total, "byte") + from
	var lines []string
	switch {
	case hex:
		lines = steps.HexDump(shown)
	default:
		lines = steps.PrintableLines(shown)
		// One line that fits goes after its count, in quotes; one that
		// does not goes under it, as a block does.
		if len(lines) == 1 && utf8.RuneCountInString(head+lines[0])+4 <= r.width-2-labelWidth {
			r.labelled(b, "data", fmt.Sprintf("%s  %s", head, r.st.data(`"`+lines[0]+`"`)))
			lines = nil
			head = ""
		}
	}
	if head != "" {
		r.labelled(b, "data", head)
	}
	shownBytes := len(shown)
	if len(lines) > MaxShownLines {
		lines = lines[:MaxShownLines]
		shownBytes = bytesInLines(shown, MaxShownLines, hex)
	}
	// The lines go under the count, or where one of them does not fit
	// there (a hex dump's 74 columns on a terminal of 80), at the margin.
	indent := blankLabel
	for _, l := range lines {
		if len(blankLabel)+1+utf8.RuneCountInString(l) > r.width {
			indent = "  "
		}
	}
	for _, l := range lines {
		b.WriteString(indent + r.st.data("│"+l) + "\n")
	}
	if omitted := total - shownBytes; omitted > 0 {
		r.labelled(b, "", r.st.dim(fmt.Sprintf("… %d more bytes not shown", omitted)))
	}
}

// datagrams shows each datagram recv --all took apart, with its size
// and sender: a datagram socket keeps their boundaries, and run
// together they would look like one.
func (r *renderer) datagrams(b *strings.Builder, rep *steps.Report) {
	for _, d := range rep.Datagrams {
		from := ""
		if d.From.IsValid() {
			from = " from " + d.From.String()
		}
		r.dataBlock(b, d.Data, d.Size, rep.Hex || r.hexAll, from)
	}
	if more := rep.DatagramsRead - len(rep.Datagrams); more > 0 {
		r.labelled(b, "", r.st.dim(fmt.Sprintf("… %s more not shown", steps.Counted(more, "datagram"))))
	}
}

// bytesInLines is how many bytes the first n display lines hold: 16 per
// line of a hex dump, or up to the n-th newline of text.
func bytesInLines(data []byte, n int, hex bool) int {
	if hex {
		return min(len(data), 16*n)
	}
	for i, c := range data {
		if c == '\n' {
			if n--; n == 0 {
				return i + 1
			}
		}
	}
	return len(data)
}

func (r *renderer) failure(b *strings.Builder, rep *steps.Report, f *steps.Failure) {
	r.para(b, "error", f.Meaning)
	if r.level == Off {
		return
	}
	if f.ForStep != "" {
		r.para(b, "", f.ForStep)
	}
	if len(rep.State) > 0 { // the kernel changed the socket all the same (a UDP socket bound on the way)
		r.states(b, rep.State)
	}
	if r.level == Full {
		if f.Cause != "" && f.ForStep == "" {
			r.para(b, "cause", f.Cause)
		}
		if f.Fix != "" {
			r.para(b, "fix", f.Fix)
		}
		r.code(b, rep, f.Python)
	}
}

func (r *renderer) states(b *strings.Builder, changes []steps.Change) {
	for i, c := range changes {
		label := ""
		if i == 0 {
			label = "state"
		}
		text := c.Who + "  "
		if c.Before != "" && c.Before != c.After {
			text += c.Before + " → " + c.After
		} else if c.Before == c.After && c.Before != "" {
			text += c.After + " (unchanged)"
		} else {
			text += c.After
		}
		r.field(b, label, r.st.state, text, false)
	}
}

// usage writes a command's usage, one form a line.
func (r *renderer) usage(b *strings.Builder, usage string) {
	label := "usage"
	for _, line := range strings.Split(usage, "\n") {
		r.field(b, label, r.st.call, line, false)
		label = ""
	}
}

// field writes a labelled line, painted; where it is wider than the width
// it is broken into lines that go on under its text, two columns further
// in. It breaks at a space outside double quotes and brackets, after a
// semicolon where one fits (so close all's calls each keep their result), and code
// only at the space after a comma within brackets or after a semicolon,
// after an opening parenthesis or brace, or before a comment; a comment
// breaks at a space, each of its lines opening with its mark (# or //)
// again. So no word, quoted text or [option] is cut, and the lines still
// work when pasted and mean what the one line means, in Python, C and Go
// alike. A part that has no such place stays whole, wider than the width:
// code such as "a = b.c()", which only C and Go could break after "=".
func (r *renderer) field(b *strings.Builder, label string, paint func(string) string, text string, code bool) {
	room := r.width - 2 - labelWidth
	breakInto(b, text, room, room-2, r.padLabel(label), blankLabel+"  ", paint, code)
}

// breakInto writes text as breakLine breaks it (at most room runes on the
// first line, restRoom on the others), each line painted after first or
// rest.
func breakInto(b *strings.Builder, text string, room, restRoom int, first, rest string, paint func(string) string, code bool) {
	for _, line := range breakLine(text, room, restRoom, code) {
		b.WriteString(first)
		b.WriteString(paint(line))
		b.WriteByte('\n')
		first = rest
	}
}

// breakLine breaks text into lines of at most first runes, then rest,
// where field may break it, keeping the spaces within each line. A line
// that has no place to break within its room breaks at its first. Each
// line is a piece of text, but for a comment's further lines, which open
// with the comment's mark again.
func breakLine(text string, first, rest int, code bool) []string {
	if !longerThan(text, first) { // most lines: nothing to break
		return []string{text}
	}
	var lines []string
	nest := 0 // in code, how many brackets are open where text starts
	for room := first; longerThan(text, room); room = rest {
		if code && startsComment(text) {
			mark := "#"
			if strings.HasPrefix(text, "//") {
				mark = "//"
			}
			cut := breakComment(text, len(mark)+1, room)
			if cut < 0 {
				break
			}
			lines = append(lines, strings.TrimRight(text[:cut], " "))
			text = mark + " " + strings.TrimLeft(text[cut:], " ")
			continue
		}
		cut, cutNest := -1, nest // where the line ends, in bytes, and the brackets open there
		between := -1            // outside code, the last space after a semicolon that fits
		quoted, depth, comment := false, 0, false
		var before rune // the rune before the one at i
		// n counts the runes before i; from 0: a line may open with a quote.
		for i, n := 0, 0; i < len(text) && !comment && (cut < 0 || n <= room); n++ {
			c, size := utf8.DecodeRuneInString(text[i:])
			switch {
			case quoted && c == '\\': // the escaped rune goes with it
				if i+size < len(text) {
					_, next := utf8.DecodeRuneInString(text[i+size:])
					size += next
					n++
				}
			case c == '"':
				quoted = !quoted
			case quoted:
			case c == '[' && !code:
				depth++
			case c == ']' && depth > 0:
				depth--
			case i == 0:
			case code && c == ' ' && startsComment(text[i+1:]):
				cut, cutNest, comment = i, nest, true
			case !code && c == ' ' && depth == 0:
				cut = i
				if before == ';' && n <= room {
					between = i
				}
			// Within brackets a line break is only a space, in Python too;
			// outside them Python's "a, b = f()" ends at a line break.
			case code && c == ' ' && (before == ',' && nest > 0 || before == ';'):
				cut, cutNest = i, nest
			case code && (c == '(' || c == '{') && i+1 < len(text) && text[i+1] != ')' && text[i+1] != '}' && (cut < 0 || n < room):
				cut, cutNest = i+1, nest+1 // the line ends with the parenthesis or brace
			}
			if code && !quoted {
				switch c {
				case '(', '[', '{':
					nest++
				case ')', ']', '}':
					nest--
				}
			}
			before = c
			i += size
		}
		if cut < 0 {
			break
		}
		if between > 0 {
			cut = between // a call and its result stay together: close(3) = 0; close(4) = 0
		}
		lines = append(lines, strings.TrimRight(text[:cut], " "))
		text, nest = strings.TrimLeft(text[cut:], " "), cutNest
	}
	return append(lines, text)
}

// breakComment is where a comment's line ends, in bytes: at its last
// space within room runes after its first word, which starts at byte
// from; else at the first space after that word, or -1 if there is none.
func breakComment(comment string, from, room int) int {
	cut := -1
	n := utf8.RuneCountInString(comment[:from])
	for i, c := range comment[from:] {
		if c == ' ' && i > 0 {
			if cut >= 0 && n > room {
				break
			}
			cut = from + i
		}
		n++
	}
	return cut
}

// longerThan says whether text has more than n runes, counting no
// further than that.
func longerThan(text string, n int) bool {
	if len(text) <= n {
		return false
	}
	for range text {
		if n--; n < 0 {
			return true
		}
	}
	return false
}

// startsComment says whether code starts with a comment: C's and Go's
// "//", or Python's "# ".
func startsComment(code string) bool {
	return strings.HasPrefix(code, "//") || strings.HasPrefix(code, "# ")
}

// blankLabel fills the left column of a line without a label.
var blankLabel = strings.Repeat(" ", 2+labelWidth)

// labelled writes one line with a label in the left column.
func (r *renderer) labelled(b *strings.Builder, label, text string) {
	b.WriteString(r.padLabel(label))
	b.WriteString(text)
	b.WriteByte('\n')
}

// padLabel is the left column of a line: its indent, and the label padded
// to the column's width.
func (r *renderer) padLabel(label string) string {
	if label == "" {
		return blankLabel
	}
	if n := utf8.RuneCountInString(label); n < labelWidth {
		label += blankLabel[:labelWidth-n]
	}
	return "  " + r.st.label(label)
}

// para writes a paragraph wrapped to the width, the label on its first line.
func (r *renderer) para(b *strings.Builder, label, text string) {
	wrapInto(b, text, r.width-2-labelWidth, r.padLabel(label), blankLabel)
}

// waiting writes the line that says what a call waits for, dim, its
// later lines further in.
func (r *renderer) waiting(b *strings.Builder, text string) {
	paintWrapped(b, text, r.width-4, "  ", "    ", r.st.dim)
}

// paintWrapped writes text wrapped to width, the first line after first
// and the others after rest, each line painted whole and on its own, so
// that no colour runs on past the end of a line.
func paintWrapped(b *strings.Builder, text string, width int, first, rest string, paint func(string) string) {
	prefix := first
	for _, line := range wrap(text, width) {
		b.WriteString(paint(prefix+line) + "\n")
		prefix = rest
	}
}

// prose writes sentences at the call's indent, wrapped to the width, one
// paragraph per line of text.
func (r *renderer) prose(b *strings.Builder, text string) {
	for para := range strings.SplitSeq(text, "\n") {
		wrapInto(b, para, r.width-2, "  ", "  ")
	}
}

// wrapInto writes text into b as wrap breaks it, each line after first
// (for the first line) or rest, and ended by a line break. It builds no
// line apart, so that narrating costs little.
func wrapInto(b *strings.Builder, text string, width int, first, rest string) {
	n := 0 // runes on the line so far; 0 before its first word
	for word := range strings.FieldsSeq(text) {
		w := utf8.RuneCountInString(word)
		switch {
		case n == 0:
			b.WriteString(first)
			first = rest
		case n+1+w > width:
			b.WriteByte('\n')
			b.WriteString(rest)
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += w
	}
	if n > 0 {
		b.WriteByte('\n')
	}
}

// wrap breaks text into lines of at most width runes, at spaces; a word
// longer than that has a line of its own.
func wrap(text string, width int) []string {
	var lines []string
	var line strings.Builder
	n := 0
	for _, word := range strings.Fields(text) {
		w := utf8.RuneCountInString(word)
		if n > 0 && n+1+w > width {
			lines = append(lines, line.String())
			line.Reset()
			n = 0
		}
		if n > 0 {
			line.WriteByte(' ')
			n++
		}
		line.WriteString(word)
		n += w
	}
	if n > 0 {
		lines = append(lines, line.String())
	}
	return lines
}

// A column of a table: its heading, and whether a record names it
// before its value; a record gives the others by their place alone.
type column struct {
	head  string
	named bool
}

// table writes rows under the headings of cols, two spaces apart, when
// the widest line fits the width. Else it writes each row as a record of
// its own, which fits where a value does: the columns of lines[0] on the
// row's first line, those of each further part on lines of their own,
// four columns in, every part going on to a further line where the width
// ends. An empty value is left out of a record. Each part's values are
// padded to the widest at their place and every record breaks where the
// widest would, so that the records read as columns, alike.
func (r *renderer) table(b *strings.Builder, cols []column, rows [][]string, lines [][]int) {
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = utf8.RuneCountInString(c.head)
		for _, row := range rows {
			widths[i] = max(widths[i], utf8.RuneCountInString(row[i]))
		}
	}
	total := 2 + 2*(len(cols)-1)
	for _, w := range widths {
		total += w
	}
	if total <= r.width {
		heads := make([]string, len(cols))
		for i, c := range cols {
			heads[i] = c.head
		}
		for _, row := range append([][]string{heads}, rows...) {
			line := " "
			for i, cell := range row {
				line += " " + cell + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+1)
			}
			b.WriteString(strings.TrimRight(line, " ") + "\n")
		}
		return
	}
	items := make([][][]string, len(lines)) // of each part, of each row
	breaks := make([][]bool, len(lines))    // of each part: whether a line starts at each place
	indents := make([]string, len(lines))   // of each part: a record's first part two columns in, the others four
	for i, part := range lines {
		items[i] = make([][]string, len(rows))
		for n, row := range rows {
			for _, c := range part {
				switch {
				case row[c] == "":
				case cols[c].named:
					items[i][n] = append(items[i][n], cols[c].head+" "+row[c])
				default:
					items[i][n] = append(items[i][n], row[c])
				}
			}
		}
		indents[i] = "    "
		if i == 0 {
			indents[i] = "  "
		}
		breaks[i] = alignItems(items[i], len(indents[i]), r.width)
	}
	for n := range rows {
		for i := range lines {
			line := indents[i]
			for k, item := range items[i][n] {
				if k > 0 && breaks[i][k] {
					b.WriteString(strings.TrimRight(line, " ") + "\n")
					line = "    "
				} else if k > 0 {
					line += "  "
				}
				line += item
			}
			if len(items[i][n]) > 0 {
				b.WriteString(strings.TrimRight(line, " ") + "\n")
			}
		}
	}
}

// alignItems pads each item of the records' lines to the widest at its
// place, and says where a line starts: after indent, the places go on a
// line two spaces apart while the widest fit in width, then on a further
// line four columns in.
func alignItems(lines [][]string, indent, width int) []bool {
	var widths []int
	for _, items := range lines {
		for k, item := range items {
			if k == len(widths) {
				widths = append(widths, 0)
			}
			widths[k] = max(widths[k], utf8.RuneCountInString(item))
		}
	}
	breaks := make([]bool, len(widths))
	used := indent
	for k, w := range widths {
		if k > 0 && used+2+w > width {
			breaks[k], used = true, 4
		} else if k > 0 {
			used += 2
		}
		used += w
	}
	for _, items := range lines {
		for k := range items {
			items[k] += strings.Repeat(" ", widths[k]-utf8.RuneCountInString(items[k]))
		}
	}
	return breaks
}
