package steps

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"text/template/parse"
)

// proseData is the data each prose file's templates are given, the
// sections it must have, and any other section its step renders besides
// those named after errnos.
var proseData = map[string]struct {
	data     any
	required []string
	extra    []string
}{
	"socket.txt":    {socketData{}, stepSections, nil},
	"bind.txt":      {bindData{}, stepSections, nil},
	"listen.txt":    {listenData{}, stepSections, nil},
	"accept.txt":    {acceptData{}, stepSections, nil},
	"connect.txt":   {connectData{}, stepSections, []string{"queue full"}},
	"send.txt":      {sendData{}, stepSections, nil},
	"recv.txt":      {recvData{}, stepSections, []string{"all"}},
	"recvfrom.txt":  {recvData{}, stepSections, []string{"all"}},
	"sendto.txt":    {sendtoData{}, stepSections, nil},
	"shutdown.txt":  {shutdownData{}, stepSections, []string{"fin"}},
	"option.txt":    {optionData{}, stepSections, optionSections()},
	"bulk.txt":      {bulkData{}, []string{"says", "python", "next"}, nil},
	"datagram.txt":  {datagramFate{}, []string{"deaf", "dropped", "unreachable", "EMSGSIZE", "bound anyway"}, nil},
	"ipv6only.txt":  {ipv6OnlyData{}, []string{"meaning", "why", "fix"}, nil},
	"linklocal.txt": {linkLocalData{}, []string{"why", "fix"}, nil},
	"lodown.txt":    {loopbackDownData{}, []string{"why", "fix"}, nil},
	"close.txt":     {closeData{}, stepSections, []string{"all"}},
	"waiting.txt":   {waitData{}, []string{"waiting", "stopped", "timed out"}, nil},
}

// readProseFiles returns every .txt file beside the steps' code, read
// from the source directory, so a file missing from go:embed is noticed.
func readProseFiles(t *testing.T) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".txt") {
			continue
		}
		b, err := os.ReadFile(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

// TestProseFiles parses every prose file as sockstep does at start-up and
// checks what a teacher could get wrong without breaking the parse: a
// field name the step does not have, a section named after an errno that
// does not exist or that sockstep calls by another name, a file that is
// not embedded.
func TestProseFiles(t *testing.T) {
	files := readProseFiles(t)
	for name, text := range files {
		t.Run(name, func(t *testing.T) {
			if name == errnoFile {
				if _, err := parseErrnoText(name, text); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, ok := proseData[name]
			if !ok {
				t.Fatalf("%s has no data in this test: add it to proseData", name)
			}
			embedded, err := proseFiles.ReadFile(name)
			if err != nil || string(embedded) != text {
				t.Errorf("%s: got embedded %d bytes (%v), want the file as it is: is it in go:embed?", name, len(embedded), err)
			}
			p, err := parseProse(name, text, want.required...)
			if err != nil {
				t.Fatal(err)
			}
			fields := reflect.TypeOf(want.data)
			for section, tmpl := range p.sections {
				for _, field := range templateFields(tmpl.Tree.Root) {
					if _, ok := fields.FieldByName(field); !ok {
						t.Errorf("%s [%s]: got field .%s, want one of %s's fields", name, section, field, fields.Name())
					}
				}
				for _, data := range []any{want.data, filled(want.data)} {
					checkText(t, name+" ["+section+"]", p.Render(section, data))
				}
				if want.required[0] != "about" || slices.Contains(stepSections, section) || slices.Contains(codeSections, section) || slices.Contains(want.extra, section) {
					continue
				}
				errnoName, _ := strings.CutSuffix(strings.TrimSuffix(section, " meaning"), " fix")
				errno, ok := errnoByName[errnoName]
				if !ok {
					t.Errorf("%s: got section [%s], want an errno's name (and \" fix\" or \" meaning\") or one of %v", name, section, stepSections)
					continue
				}
				if help, _ := ExplainErrno(errno); help.Name != errnoName {
					t.Errorf("%s: got section [%s], want [%s]: sockstep names errno %d so, and would never show it", name, section, help.Name, errno)
				}
			}
			if p.About() == "" && want.required[0] == "about" {
				t.Errorf("%s: got an empty [about]", name)
			}
		})
	}
	for name := range proseData {
		if _, ok := files[name]; !ok {
			t.Errorf("got no file %s, want it beside the code", name)
		}
	}
}

// templateFields lists the fields of dot a template uses (.Name), outside
// range and with, where dot is something else.
func templateFields(n parse.Node) []string {
	var fields []string
	visitTemplate(n, func(n parse.Node) {
		if f, ok := n.(*parse.FieldNode); ok {
			fields = append(fields, f.Ident[0])
		}
	})
	return fields
}

// TestParseProseRejects gives parseProse broken files: each must be
// rejected with the file's name and the line to fix.
func TestParseProseRejects(t *testing.T) {
	tests := []struct {
		name, text string
		required   []string
		want       string
	}{
		{"text before the first section", "stray words\n[about]\nx\n", nil, "bad.txt:1: text before the first [section]"},
		{"text after comments", "# a comment\n# another\nstray\n[about]\nx\n", nil, "bad.txt:3: text before the first [section]"},
		{"a section twice", "[about]\nx\n\n[about]\ny\n", nil, "bad.txt:4: section [about] appears twice"},
		{"an unclosed action", "[about]\nx\n\n[says]\n{{.Name\n", nil, "bad.txt:4: section [says]"},
		{"an unknown function", "# c\n[says]\n{{shout .Name}}\n", nil, "bad.txt:2: section [says]"},
		{"an if without end", "[about]\nx\n[says]\n{{if .Every}}all\n", nil, "bad.txt:3: section [says]"},
		{"a missing section", "[about]\nx\n", []string{"about", "says"}, "bad.txt: no [says] section"},
		{"an empty file", "", []string{"about"}, "bad.txt: no [about] section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseProse("bad.txt", tt.text, tt.required...)
			if err == nil {
				t.Fatalf("got %d sections and no error, want %q", len(p.sections), tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %q, want %q", err, tt.want)
			}
		})
	}
}

// TestProseRender checks how a section becomes text: lines of a paragraph
// joined by spaces, paragraphs by line breaks, and a template that fails
// to run saying so where a test sees it.
func TestProseRender(t *testing.T) {
	text := "# a comment\n[about]\nline one\n  line two\n\n\nparagraph two\n\n[says]\n{{.Label}} is {{.State}}.\n[bad]\n{{.Nothing}}\n"
	p, err := parseProse("ok.txt", text)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ section, want string }{
		{"about", "line one line two\nparagraph two"},
		{"says", "s1 (fd 3) is LISTEN."},
		{"bad", "[narration error in ok.txt [bad]"},
		{"absent", ""},
	}
	for _, tt := range tests {
		got := p.Render(tt.section, waitData{Label: "s1 (fd 3)", State: "LISTEN"})
		if !strings.HasPrefix(got, tt.want) || (tt.want == "" && got != "") {
			t.Errorf("[%s]: got %q, want %q", tt.section, got, tt.want)
		}
	}
}

// codeSections are the call in other languages, which any step's prose
// may have besides its Python.
var codeSections = []string{"c", "go"}

// optionSections are the sections option.txt may have besides the
// step's: one per option, and a Python line of its own for some, and
// those that read one option.
func optionSections() []string {
	names := []string{"read", "read python", "read c", "read go", "read next", "keepalive"}
	for _, o := range options {
		names = append(names, o.Name, "about "+o.Name, "python "+o.Name, "c "+o.Name, "go "+o.Name)
	}
	return names
}
