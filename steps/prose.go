package steps

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"text/template"
)

// Each step's prose lives in a text file beside its Go file: bind.txt next
// to bind.go. A file is a list of sections; a line `[name]` starts one, and
// lines starting with # are comments. The sections are:
//
//	[about]   what the call does, for help
//	[says]    the plain sentences after a successful call
//	[python]  the same call in Python
//	[next]    a command to try next
//	[ERRNO]   what that errno means for this step, e.g. [EADDRINUSE]
//	[ERRNO fix]  what to do about it, for this step, instead of errno.txt's
//	             fix, where that one does not fit (sendto's EACCES)
//
// Sections other than [about] are Go templates
// (https://pkg.go.dev/text/template) over the data the step passes; each
// file's header lists the fields it can use. Line breaks inside a paragraph
// are spaces; a blank line starts a new paragraph. Other packages keep
// their narration in the same format, with sections of their own, through
// LoadProse.
//
//go:embed socket.txt bind.txt listen.txt accept.txt connect.txt send.txt recv.txt close.txt waiting.txt shutdown.txt sendto.txt recvfrom.txt option.txt bulk.txt datagram.txt ipv6only.txt linklocal.txt lodown.txt
var proseFiles embed.FS

// proseFuncs are the functions a prose template may call.
var proseFuncs = template.FuncMap{
	"mul2": func(n int) int { return 2 * n },
}

// A Prose is one parsed prose file: named sections of text, each a template.
type Prose struct {
	file     string
	sections map[string]*section
}

// A section is one template, and its compiled forms (compiled.go).
type section struct {
	*template.Template
	compiled compiledCache
}

var sectionLine = regexp.MustCompile(`^\[([A-Za-z0-9_ -]+)\]\s*$`)

// parseProse reads one prose file. Errors name the file and line.
func parseProse(file, text string, required ...string) (*Prose, error) {
	p := &Prose{file: file, sections: map[string]*section{}}
	var name string
	var body []string
	var start int
	flush := func() error {
		if name == "" {
			return nil
		}
		if _, dup := p.sections[name]; dup {
			return fmt.Errorf("%s:%d: section [%s] appears twice", file, start, name)
		}
		t, err := template.New(file + ":" + name).Option("missingkey=error").Funcs(proseFuncs).Parse(strings.Join(body, "\n"))
		if err != nil {
			return fmt.Errorf("%s:%d: section [%s]: %v", file, start, name, err)
		}
		p.sections[name] = &section{Template: t}
		return nil
	}
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if m := sectionLine.FindStringSubmatch(line); m != nil {
			if err := flush(); err != nil {
				return nil, err
			}
			name, body, start = m[1], nil, i+1
			continue
		}
		if name == "" && strings.TrimSpace(line) != "" {
			return nil, fmt.Errorf("%s:%d: text before the first [section]", file, i+1)
		}
		body = append(body, line)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	for _, need := range required {
		if p.sections[need] == nil {
			return nil, fmt.Errorf("%s: no [%s] section", file, need)
		}
	}
	return p, nil
}

// stepSections are the sections every step's prose file has.
var stepSections = []string{"about", "says", "python", "next"}

// loadProse parses one of the steps' prose files at start-up.
func loadProse(file string, required ...string) *Prose {
	return LoadProse(proseFiles, file, required...)
}

// LoadProse parses a prose file, in the format described at the top of this
// file, from fsys at start-up. A broken file stops the program at once, and
// the tests, which start it, fail with the file and line; so the packages
// that keep their narration this way call it when they are initialised.
func LoadProse(fsys fs.FS, file string, required ...string) *Prose {
	text, err := fs.ReadFile(fsys, file)
	if err != nil {
		panic(err)
	}
	p, err := parseProse(file, string(text), required...)
	if err != nil {
		panic(err)
	}
	return p
}

// Render fills a section in with data. Paragraphs are folded to single
// lines and separated by "\n". A template that fails says so in the text,
// where a test sees it, rather than hiding the failure.
func (p *Prose) Render(name string, data any) string {
	s := p.sections[name]
	if s == nil {
		return ""
	}
	if run, v := s.compiled.lookup(s.Template, data); run != nil {
		var b strings.Builder
		run(&b, v)
		return foldParagraphs(b.String())
	}
	return p.execute(name, data)
}

// execute renders a section through text/template.
func (p *Prose) execute(name string, data any) string {
	var b bytes.Buffer
	if err := p.sections[name].Execute(&b, data); err != nil {
		return fmt.Sprintf("[narration error in %s [%s]: %v]", p.file, name, err)
	}
	return foldParagraphs(b.String())
}

// foldParagraphs joins the lines of each paragraph with single spaces, and
// the paragraphs, which blank lines separate, with "\n".
func foldParagraphs(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	gap := "" // what goes before the next word: nothing, " " or "\n"
	for line := range strings.Lines(s) {
		if strings.TrimSpace(line) == "" {
			if b.Len() > 0 {
				gap = "\n"
			}
			continue
		}
		for word := range strings.FieldsSeq(line) {
			b.WriteString(gap)
			b.WriteString(word)
			gap = " "
		}
	}
	return b.String()
}

// About is the [about] section, which takes no data.
func (p *Prose) About() string { return p.Render("about", nil) }

// refused builds the report of a call the kernel refused: the call with
// its errno, what the errno means, what it means for this step (the
// section named after the errno, if the file has one), and what Python
// would raise. A step's "ERRNO meaning" and "ERRNO fix" sections, where
// they say something, stand in for errno.txt's.
func (p *Prose) refused(call string, err error, data any) *Report {
	help, ok := ExplainErrno(err)
	if !ok {
		help = ErrnoHelp{Name: "error", Meaning: err.Error()}
	}
	if meaning := p.Render(help.Name+" meaning", data); meaning != "" {
		help.Meaning = meaning
	}
	if fix := p.Render(help.Name+" fix", data); fix != "" {
		help.Fix = fix
	}
	r := &Report{
		Call:    fmt.Sprintf("%s = -1 %s (errno %d)", call, help.Name, help.Number),
		Failure: &Failure{ErrnoHelp: help, ForStep: p.Render(help.Name, data)},
	}
	p.code(r, data)
	return r
}

// code fills in the same call in Python, and the means to write it in C
// and Go where the prose file has them (Report.Code).
func (p *Prose) code(r *Report, data any) { p.codeOf(r, data, "") }

// codeOf is code from the sections whose names begin with prefix, such as
// option.txt's [read python] and [read c] for reading an option.
func (p *Prose) codeOf(r *Report, data any, prefix string) {
	r.Python = p.Render(prefix+"python", data)
	r.code = func(lang string) string { return p.Render(prefix+lang, data) }
}
