package steps

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
)

// Narrating a server's clients renders a dozen sections for every client,
// and text/template, which finds each field by name and prints each value
// through fmt at every execution, took nearly half the time of the
// goroutine that renders auto server's narration. The prose files use a
// small part of the language: fields, if, else if, else, and the functions
// compileCall knows. A section in that part is compiled, for the type of
// data it is given, into Go closures that reach each field by its index. A
// section that uses anything else, or data of another shape, is executed by
// text/template, as before. Prose.CheckCompiled renders a section both
// ways and says where the two differ; the tests of steps and of auto call
// it for every section of their prose files.

// A compiled section writes its text for one value of the data type it
// was compiled for.
type compiled func(b *strings.Builder, data reflect.Value)

// A compiledCache holds one section's compiled forms, by data type; nil
// means the section cannot be compiled for that type.
type compiledCache struct {
	mu     sync.Mutex
	byType map[reflect.Type]compiled
}

// errNotCompiled says a template uses what the compiler leaves to
// text/template.
var errNotCompiled = errors.New("not in the compiled subset")

// lookup returns the section compiled for data's type, compiling it the
// first time that type is seen; nil when it cannot be.
func (c *compiledCache) lookup(t *template.Template, data any) (compiled, reflect.Value) {
	v := reflect.ValueOf(data)
	if v.Kind() != reflect.Struct {
		return nil, v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	run, seen := c.byType[v.Type()]
	if !seen {
		run, _ = compileList(t.Tree.Root, v.Type())
		if c.byType == nil {
			c.byType = map[reflect.Type]compiled{}
		}
		c.byType[v.Type()] = run
	}
	return run, v
}

// compileList compiles a list of nodes into one closure.
func compileList(list *parse.ListNode, typ reflect.Type) (compiled, error) {
	if list == nil {
		return func(*strings.Builder, reflect.Value) {}, nil
	}
	parts := make([]compiled, 0, len(list.Nodes))
	for _, node := range list.Nodes {
		part, err := compileNode(node, typ)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	return func(b *strings.Builder, data reflect.Value) {
		for _, part := range parts {
			part(b, data)
		}
	}, nil
}

func compileNode(node parse.Node, typ reflect.Type) (compiled, error) {
	switch n := node.(type) {
	case *parse.TextNode:
		text := string(n.Text)
		return func(b *strings.Builder, _ reflect.Value) { b.WriteString(text) }, nil
	case *parse.ActionNode:
		if len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) != 1 || len(n.Pipe.Cmds[0].Args) != 1 {
			return nil, errNotCompiled
		}
		field, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
		if !ok {
			return nil, errNotCompiled
		}
		return compilePrint(field, typ)
	case *parse.IfNode:
		cond, err := compilePipe(n.Pipe, typ)
		if err != nil {
			return nil, err
		}
		then, err := compileList(n.List, typ)
		if err != nil {
			return nil, err
		}
		otherwise, err := compileList(n.ElseList, typ)
		if err != nil {
			return nil, err
		}
		return func(b *strings.Builder, data reflect.Value) {
			if cond.eval(data).truth() {
				then(b, data)
			} else {
				otherwise(b, data)
			}
		}, nil
	}
	return nil, errNotCompiled
}

// fieldIndex is the index of a field named as text/template names it
// (.Name), for reflect.Value.FieldByIndex: a field of the struct itself,
// or one promoted from a struct embedded in it (not through a pointer,
// which may be nil).
func fieldIndex(field *parse.FieldNode, typ reflect.Type) ([]int, reflect.Type, error) {
	if len(field.Ident) != 1 {
		return nil, nil, errNotCompiled
	}
	f, ok := typ.FieldByName(field.Ident[0])
	if !ok || !f.IsExported() {
		return nil, nil, errNotCompiled
	}
	for n := 1; n < len(f.Index); n++ {
		if typ.FieldByIndex(f.Index[:n]).Type.Kind() != reflect.Struct {
			return nil, nil, errNotCompiled
		}
	}
	return f.Index, f.Type, nil
}

var stringerType = reflect.TypeFor[fmt.Stringer]()

// compilePrint writes a field as text/template prints it: through its
// String method if it has one, else as fmt prints a string, an integer or
// a bool.
func compilePrint(field *parse.FieldNode, typ reflect.Type) (compiled, error) {
	i, ft, err := fieldIndex(field, typ)
	if err != nil {
		return nil, err
	}
	switch {
	case ft.Implements(stringerType):
		return func(b *strings.Builder, data reflect.Value) {
			b.WriteString(data.FieldByIndex(i).Interface().(fmt.Stringer).String())
		}, nil
	case reflect.PointerTo(ft).Implements(stringerType):
		return nil, errNotCompiled
	}
	switch ft.Kind() {
	case reflect.String:
		return func(b *strings.Builder, data reflect.Value) { b.WriteString(data.FieldByIndex(i).String()) }, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(b *strings.Builder, data reflect.Value) {
			b.WriteString(strconv.FormatInt(data.FieldByIndex(i).Int(), 10))
		}, nil
	case reflect.Bool:
		return func(b *strings.Builder, data reflect.Value) {
			b.WriteString(strconv.FormatBool(data.FieldByIndex(i).Bool()))
		}, nil
	}
	return nil, errNotCompiled
}

// A value is what a condition's argument evaluates to.
type value struct {
	kind reflect.Kind // reflect.String, reflect.Int or reflect.Bool
	s    string
	i    int64
	b    bool
}

// truth is text/template's: false is false, 0, and "".
func (v value) truth() bool {
	switch v.kind {
	case reflect.String:
		return v.s != ""
	case reflect.Int:
		return v.i != 0
	}
	return v.b
}

type evaluated func(data reflect.Value) value

// An arg is a condition's argument, compiled, and the kind of its value:
// reflect.String, reflect.Bool, reflect.Int for an int (which mul2 takes)
// and reflect.Int64 for other signed integers (which compare as ints).
type arg struct {
	eval evaluated
	kind reflect.Kind
}

// compilePipe compiles the pipeline of an if, or an argument in
// parentheses: a field, a constant, or one of the functions compileCall
// knows over such arguments.
func compilePipe(pipe *parse.PipeNode, typ reflect.Type) (arg, error) {
	if len(pipe.Decl) > 0 || len(pipe.Cmds) != 1 {
		return arg{}, errNotCompiled
	}
	cmd := pipe.Cmds[0]
	if len(cmd.Args) == 1 {
		return compileArg(cmd.Args[0], typ)
	}
	fn, ok := cmd.Args[0].(*parse.IdentifierNode)
	if !ok {
		return arg{}, errNotCompiled
	}
	args := make([]arg, 0, len(cmd.Args)-1)
	for _, a := range cmd.Args[1:] {
		c, err := compileArg(a, typ)
		if err != nil {
			return arg{}, err
		}
		args = append(args, c)
	}
	return compileCall(fn.Ident, args)
}

func compileArg(node parse.Node, typ reflect.Type) (arg, error) {
	switch a := node.(type) {
	case *parse.FieldNode:
		i, ft, err := fieldIndex(a, typ)
		if err != nil {
			return arg{}, err
		}
		switch k := ft.Kind(); k {
		case reflect.String:
			return arg{func(data reflect.Value) value { return value{kind: reflect.String, s: data.FieldByIndex(i).String()} }, k}, nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if k != reflect.Int {
				k = reflect.Int64
			}
			return arg{func(data reflect.Value) value { return value{kind: reflect.Int, i: data.FieldByIndex(i).Int()} }, k}, nil
		case reflect.Bool:
			return arg{func(data reflect.Value) value { return value{kind: reflect.Bool, b: data.FieldByIndex(i).Bool()} }, k}, nil
		}
	case *parse.BoolNode:
		v := value{kind: reflect.Bool, b: a.True}
		return arg{func(reflect.Value) value { return v }, reflect.Bool}, nil
	case *parse.StringNode:
		v := value{kind: reflect.String, s: a.Text}
		return arg{func(reflect.Value) value { return v }, reflect.String}, nil
	case *parse.NumberNode:
		if a.IsInt {
			v := value{kind: reflect.Int, i: a.Int64}
			return arg{func(reflect.Value) value { return v }, reflect.Int}, nil
		}
	case *parse.PipeNode:
		return compilePipe(a, typ)
	}
	return arg{}, errNotCompiled
}

// compileCall compiles one of the functions a condition may call, for
// arguments of the kinds text/template's function of that name takes
// without complaint; anything else is left to text/template, which says
// what is wrong.
func compileCall(name string, args []arg) (arg, error) {
	switch {
	case name == "not" && len(args) == 1:
		a := args[0].eval
		return arg{func(data reflect.Value) value { return value{kind: reflect.Bool, b: !a(data).truth()} }, reflect.Bool}, nil
	case name == "and" && len(args) >= 2:
		return arg{func(data reflect.Value) value {
			for _, a := range args {
				if !a.eval(data).truth() {
					return value{kind: reflect.Bool}
				}
			}
			return value{kind: reflect.Bool, b: true}
		}, reflect.Bool}, nil
	case name == "mul2" && len(args) == 1 && args[0].kind == reflect.Int:
		a := args[0].eval
		return arg{func(data reflect.Value) value { return value{kind: reflect.Int, i: 2 * a(data).i} }, reflect.Int}, nil
	case len(args) != 2 || !comparableKinds(args[0].kind, args[1].kind):
		return arg{}, errNotCompiled
	}
	x, y := args[0].eval, args[1].eval
	var holds func(c int) bool
	switch name {
	case "eq":
		holds = func(c int) bool { return c == 0 }
	case "ne":
		holds = func(c int) bool { return c != 0 }
	case "lt":
		holds = func(c int) bool { return c < 0 }
	case "gt":
		holds = func(c int) bool { return c > 0 }
	default:
		return arg{}, errNotCompiled
	}
	if args[0].kind == reflect.Bool && name != "eq" && name != "ne" {
		return arg{}, errNotCompiled // text/template does not order bools
	}
	return arg{func(data reflect.Value) value {
		return value{kind: reflect.Bool, b: holds(compare(x(data), y(data)))}
	}, reflect.Bool}, nil
}

// comparableKinds says whether text/template compares values of two kinds:
// strings with strings, bools with bools, signed integers with each other.
func comparableKinds(x, y reflect.Kind) bool {
	integer := func(k reflect.Kind) bool { return k == reflect.Int || k == reflect.Int64 }
	return x == y || integer(x) && integer(y)
}

// compare orders two values of one kind.
func compare(x, y value) int {
	switch x.kind {
	case reflect.String:
		return strings.Compare(x.s, y.s)
	case reflect.Int:
		switch {
		case x.i < y.i:
			return -1
		case x.i > y.i:
			return 1
		}
		return 0
	}
	switch {
	case x.b == y.b:
		return 0
	case !x.b:
		return -1
	}
	return 1
}
