package steps

import "testing"

// TestCompiledSectionsRenderAsTextTemplate renders every section of every
// prose file with hundreds of values of its data, compiled and through
// text/template, and wants the same text each time. It also wants every
// [says] and [python] section, and the waiting line, compiled: those are
// rendered for every call a narrated server makes.
func TestCompiledSectionsRenderAsTextTemplate(t *testing.T) {
	for name, text := range readProseFiles(t) {
		want, ok := proseData[name]
		if !ok {
			continue // errno.txt is not a template file
		}
		p, err := parseProse(name, text, want.required...)
		if err != nil {
			t.Fatal(err)
		}
		for section := range p.sections {
			if section == "about" {
				continue // rendered for help with no data, by text/template
			}
			compiled, err := p.CheckCompiled(section, want.data, 300)
			if err != nil {
				t.Error(err)
			}
			hot := section == "says" || section == "python" || section == "waiting"
			if !compiled && hot {
				t.Errorf("%s [%s] is not compiled: it uses what compiled.go leaves to text/template, and every call would render it the slow way", name, section)
			}
		}
	}
}

// TestCompiledLeavesTheRestToTextTemplate gives the compiler templates
// outside what it compiles, or data it cannot reach, and wants each left
// to text/template, which renders it or says what is wrong; and templates
// inside it, rendered as text/template renders them.
func TestCompiledLeavesTheRestToTextTemplate(t *testing.T) {
	type inner struct{ A string }
	type promoted struct{ P int }
	type byPointer struct{ Q string }
	type data struct {
		S     string
		N     int
		N64   int64
		B     bool
		D     ms
		U     uint
		Inner inner
		List  []string
		promoted
		*byPointer
	}
	value := data{S: "s", N: 2, N64: 3, B: true, D: ms(1500000), U: 7, Inner: inner{"a"}, List: []string{"x"}, promoted: promoted{4}, byPointer: &byPointer{"q"}}
	tests := []struct {
		template string
		compiled bool
	}{
		{"{{.S}} {{.N}} {{.N64}} {{.B}} {{.D}}", true},
		{"{{if .S}}s{{else if .N}}n{{else}}none{{end}}", true},
		{"{{if and .B (not .S) (lt .N (mul2 .N))}}yes{{end}}", true},
		{"{{if eq .N 2}}two{{end}}{{if ne .S \"t\"}}not t{{end}}{{if gt .N64 .N}}more{{end}}", true},
		{"{{- if eq .B true}} trimmed {{- end}}", true},
		{"{{.P}}{{if eq .P 4}} four{{end}}", true}, // a field of an embedded struct
		{"{{.Q}}", false},                      // through an embedded pointer, which may be nil
		{"{{.U}}", false},                      // unsigned: left to fmt
		{"{{.Inner.A}}", false},                // a chain of fields
		{"{{.Inner}}", false},                  // a struct printed by fmt
		{"{{range .List}}{{.}}{{end}}", false}, // range
		{"{{if eq .N \"2\"}}x{{end}}", false},  // kinds text/template refuses to compare
		{"{{if lt .B .B}}x{{end}}", false},     // bools are not ordered
		{"{{if mul2 .N64}}x{{end}}", false},    // mul2 takes an int
		{"{{.Missing}}", false},                // text/template says the field is missing
		{"{{$x := .S}}{{$x}}", false},          // variables
		{"{{printf \"%d\" .N}}", false},        // other functions
	}
	for _, tt := range tests {
		p, err := parseProse("t.txt", "[says]\n"+tt.template+"\n", "says")
		if err != nil {
			t.Fatalf("%s: %v", tt.template, err)
		}
		s := p.sections["says"]
		run, _ := s.compiled.lookup(s.Template, value)
		if got := run != nil; got != tt.compiled {
			t.Errorf("%s: compiled %v, want %v", tt.template, got, tt.compiled)
		}
		if got, want := p.Render("says", value), p.execute("says", value); got != want {
			t.Errorf("%s: rendered %q, want text/template's %q", tt.template, got, want)
		}
		if run, _ := s.compiled.lookup(s.Template, &value); run != nil {
			t.Errorf("%s: compiled for a pointer, which only text/template follows", tt.template)
		}
	}
}
