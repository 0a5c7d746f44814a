package steps

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"text/template/parse"
)

// CheckCompiled renders a section of p both ways, compiled and through
// text/template, with n values of sample's type, and returns an error
// naming the first value on which the two differ. The values are sample
// itself, one with every field set, and then fields drawn at random from
// values that include the section's own constants, so that every branch
// is taken. compiled says whether the section is compiled for that type
// at all; a section that is not is rendered by text/template alone.
//
// It is for tests: the steps' own, and those of any package that keeps
// its narration in a prose file of its own (LoadProse).
func (p *Prose) CheckCompiled(section string, sample any, n int) (compiled bool, err error) {
	s, ok := p.sections[section]
	if !ok {
		return false, fmt.Errorf("%s has no [%s] section", p.file, section)
	}
	run, _ := s.compiled.lookup(s.Template, sample)
	compiled = run != nil
	values := []any{sample}
	if reflect.ValueOf(sample).Kind() == reflect.Struct {
		rng := rand.New(rand.NewPCG(1, uint64(len(section))))
		strs, ints := constantsIn(s.Tree.Root)
		values = variants(sample, strs, ints, n, rng)
	}
	for _, data := range values {
		if got, want := p.Render(section, data), p.execute(section, data); got != want {
			return compiled, fmt.Errorf("%s [%s] with %+v:\ncompiled      %q\ntext/template %q", p.file, section, data, got, want)
		}
	}
	return compiled, nil
}

// constantsIn lists the strings and numbers a template compares with, so
// that the values tried take each branch.
func constantsIn(node parse.Node) (strs []string, ints []int64) {
	visitTemplate(node, func(node parse.Node) {
		switch n := node.(type) {
		case *parse.StringNode:
			strs = append(strs, n.Text)
		case *parse.NumberNode:
			if n.IsInt {
				ints = append(ints, n.Int64-1, n.Int64, n.Int64+1)
			}
		}
	})
	return strs, ints
}

// visitTemplate calls visit for every node of a template's tree that lists,
// ifs, actions, pipelines and commands lead to (not into range or with).
func visitTemplate(node parse.Node, visit func(parse.Node)) {
	visit(node)
	switch n := node.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				visitTemplate(c, visit)
			}
		}
	case *parse.ActionNode:
		visitTemplate(n.Pipe, visit)
	case *parse.IfNode:
		visitTemplate(n.Pipe, visit)
		visitTemplate(n.List, visit)
		visitTemplate(n.ElseList, visit)
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				visitTemplate(c, visit)
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			visitTemplate(a, visit)
		}
	}
}

// variants returns n values of data's type: data itself, every field set,
// and then each field drawn at random from values that include the
// template's own constants.
func variants(data any, strs []string, ints []int64, n int, rng *rand.Rand) []any {
	typ := reflect.TypeOf(data)
	strs = append(strs, "", "x", "two  words", "line\nbreak", "TIME_WAIT", "ESTABLISHED")
	ints = append(ints, 0, 1, 2, 3, -1, 1024, 1500000)
	out := []any{data, filled(data)}
	for len(out) < n {
		v := reflect.New(typ).Elem()
		for i := range v.NumField() {
			switch f := v.Field(i); f.Kind() {
			case reflect.String:
				f.SetString(strs[rng.IntN(len(strs))])
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				f.SetInt(ints[rng.IntN(len(ints))])
			case reflect.Bool:
				f.SetBool(rng.IntN(2) == 0)
			}
		}
		out = append(out, v.Interface())
	}
	return out
}

// filled returns a copy of a template's data with every field set, so that
// the branches a zero value skips are rendered too.
func filled(data any) any {
	v := reflect.New(reflect.TypeOf(data)).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Int:
			f.SetInt(2)
		case reflect.Bool:
			f.SetBool(true)
		}
	}
	return v.Interface()
}
