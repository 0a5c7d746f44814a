package lessons

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// A Lesson is one lesson file, parsed: a title, a line about it, and its
// steps, each with the reading that comes before it.
type Lesson struct {
	ID    string // the file's name without .lesson: the key of its progress
	File  string // the file's name, for messages
	Title string
	About string
	Pages []Page
	// Ending is the reading after the last step, shown when the lesson is
	// done.
	Ending []Prose
}

// A Page is what the learner sees at once: the read cells up to a do
// cell, and that do cell.
type Page struct {
	Reading []Prose
	Step    Step
}

// A Step is a do cell: what to do, the checks that say it is done, hints,
// and the commands that do it.
type Step struct {
	Line    int // where the cell starts in its file
	Prose   Prose
	Checks  []Check
	Hints   []string
	Answer  []string // the commands, in order; the last one reaches the goal
	Browser string   // a URL to open outside sockstep, or ""
}

// wantsFailure says whether the step wants a call refused with errno
// (EADDRINUSE, ECONNREFUSED…), or with any errno when errno is "".
func (s Step) wantsFailure(errno string) bool {
	return slices.ContainsFunc(s.Checks, func(c Check) bool { return c.def.name == "failed" && (errno == "" || c.Word == errno) })
}

// Prose is a cell's text: paragraphs and lines of code.
type Prose []Block

// A Block is a paragraph, its lines joined, or one line of code shown as
// it is.
type Block struct {
	Code bool
	Text string
}

// The directives of a do cell.
const (
	checkDirective   = "check:"
	hintDirective    = "hint:"
	answerDirective  = "answer:"
	browserDirective = "browser:"
)

var directives = []string{checkDirective, hintDirective, answerDirective, browserDirective}

// Parse reads one lesson file. Every error names the file and the line:
// "03-accept.lesson:12: …".
func Parse(file, text string) (*Lesson, error) {
	p := &parser{file: file, lesson: &Lesson{ID: strings.TrimSuffix(file, ".lesson"), File: file}}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		p.line = i + 1
		line = strings.TrimRight(line, "\r")
		if !utf8.ValidString(line) {
			return nil, p.errorf("the line is not valid UTF-8")
		}
		if err := p.take(line); err != nil {
			return nil, err
		}
	}
	if err := p.endCell(); err != nil {
		return nil, err
	}
	return p.finish()
}

// parser holds the state of one file being read.
type parser struct {
	file   string
	line   int
	lesson *Lesson

	kind      string // the cell being read: "", "read" or "do"
	cellLine  int
	text      []string // the cell's prose lines
	step      Step
	directive bool     // a directive has been read in this do cell
	reading   []Prose  // read cells waiting for their do cell
	seen      []string // header keys seen
}

func (p *parser) errorf(format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, p.line, fmt.Sprintf(format, a...))
}

// take reads one line.
func (p *parser) take(line string) error {
	if strings.HasPrefix(line, "#") {
		return nil
	}
	if kind, ok := strings.CutPrefix(line, "=="); ok {
		if err := p.endCell(); err != nil {
			return err
		}
		kind = strings.TrimSpace(kind)
		if kind != "read" && kind != "do" {
			return p.errorf("a cell is `== read` or `== do`, not `== %s`", kind)
		}
		p.kind, p.cellLine = kind, p.line
		return nil
	}
	if p.kind == "" {
		return p.header(line)
	}
	if d, value, ok := directive(line); ok {
		if p.kind == "read" {
			return p.errorf("%s belongs in a `== do` cell, not a `== read` cell", d)
		}
		p.directive = true
		return p.stepDirective(d, value)
	}
	if p.directive && strings.TrimSpace(line) != "" {
		return p.errorf("text after the cell's %s lines: put the cell's text first, then check, hint and answer", strings.Join(directives, " "))
	}
	p.text = append(p.text, line)
	return nil
}

// header reads a line before the first cell: title: or about:.
func (p *parser) header(line string) error {
	if strings.TrimSpace(line) == "" {
		return nil
	}
	key, value, ok := strings.Cut(line, ":")
	value = strings.TrimSpace(value)
	if !ok || (key != "title" && key != "about") {
		return p.errorf("before the first cell only `title:` and `about:` lines may come, not %q", line)
	}
	for _, k := range p.seen {
		if k == key {
			return p.errorf("%s: is given twice", key)
		}
	}
	if value == "" {
		return p.errorf("%s: is empty", key)
	}
	p.seen = append(p.seen, key)
	if key == "title" {
		p.lesson.Title = value
	} else {
		p.lesson.About = value
	}
	return nil
}

// directive splits a directive line into its word and value.
func directive(line string) (string, string, bool) {
	for _, d := range directives {
		if value, ok := strings.CutPrefix(line, d); ok {
			return d, strings.TrimSpace(value), true
		}
	}
	return "", "", false
}

func (p *parser) stepDirective(d, value string) error {
	if value == "" {
		return p.errorf("%s is empty", d)
	}
	switch d {
	case checkDirective:
		c, err := parseCheck(value)
		if err != nil {
			return p.errorf("%v", err)
		}
		p.step.Checks = append(p.step.Checks, c)
	case hintDirective:
		p.step.Hints = append(p.step.Hints, value)
	case answerDirective:
		p.step.Answer = append(p.step.Answer, value)
	case browserDirective:
		if p.step.Browser != "" {
			return p.errorf("a cell opens one browser: browser: is given twice")
		}
		if !strings.HasPrefix(value, "http://") {
			return p.errorf("browser: takes a URL starting with http://, not %q", value)
		}
		p.step.Browser = value
	}
	return nil
}

// endCell finishes the cell being read.
func (p *parser) endCell() error {
	prose := parseProse(p.text)
	kind, line := p.kind, p.cellLine
	p.kind, p.text, p.directive = "", nil, false
	switch kind {
	case "read":
		if len(prose) == 0 {
			return fmt.Errorf("%s:%d: the cell has no text", p.file, line)
		}
		p.reading = append(p.reading, prose)
	case "do":
		step := p.step
		p.step = Step{}
		step.Line, step.Prose = line, prose
		var missing []string
		if len(prose) == 0 {
			missing = append(missing, "text saying what to do")
		}
		if len(step.Checks) == 0 {
			missing = append(missing, "a check: line")
		}
		if len(step.Hints) == 0 {
			missing = append(missing, "a hint: line")
		}
		if len(step.Answer) == 0 {
			missing = append(missing, "an answer: line")
		}
		if len(missing) > 0 {
			return fmt.Errorf("%s:%d: the do cell lacks %s", p.file, line, strings.Join(missing, ", "))
		}
		p.lesson.Pages = append(p.lesson.Pages, Page{Reading: p.reading, Step: step})
		p.reading = nil
	}
	return nil
}

func (p *parser) finish() (*Lesson, error) {
	l := p.lesson
	switch {
	case l.Title == "":
		return nil, fmt.Errorf("%s:1: the lesson has no `title:` line", p.file)
	case l.About == "":
		return nil, fmt.Errorf("%s:1: the lesson has no `about:` line", p.file)
	case len(l.Pages) == 0:
		return nil, fmt.Errorf("%s:%d: the lesson has no `== do` cell: a lesson is something to do", p.file, p.line)
	}
	l.Ending = p.reading
	return l, nil
}

// parseProse makes blocks of a cell's lines: lines indented by four
// spaces or a tab are code, shown as they are; other lines are joined into
// paragraphs, which blank lines separate.
func parseProse(lines []string) Prose {
	var prose Prose
	var para []string
	flush := func() {
		if len(para) > 0 {
			prose = append(prose, Block{Text: strings.Join(para, " ")})
			para = nil
		}
	}
	afterCode := func() bool { return len(prose) > 0 && prose[len(prose)-1].Code }
	blankInCode := false // a blank line follows code, and more code may follow
	for _, line := range lines {
		switch {
		case strings.TrimSpace(line) == "":
			flush()
			blankInCode = afterCode()
		case strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t"):
			flush()
			if blankInCode && afterCode() {
				prose = append(prose, Block{Code: true})
			}
			code := strings.TrimPrefix(strings.TrimPrefix(line, "    "), "\t")
			prose = append(prose, Block{Code: true, Text: strings.TrimRight(code, " \t")})
			blankInCode = false
		default:
			blankInCode = false
			para = append(para, strings.TrimSpace(line))
		}
	}
	flush()
	return prose
}
