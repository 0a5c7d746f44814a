package repl

import "github.com/fatih/color"

// style colours the parts of the output. With colour off every function
// returns its text unchanged, so transcripts and pipes get plain text.
type style struct {
	call, label, state, python, next, fail, notice, dim, data func(text string) string
}

func newStyle(on bool) style {
	paint := func(attrs ...color.Attribute) func(string) string {
		if !on {
			return plain
		}
		c := color.New(attrs...)
		c.EnableColor()
		return func(text string) string { return c.Sprint(text) }
	}
	return style{
		call:   paint(color.Bold),
		label:  paint(color.Faint),
		state:  paint(color.FgCyan),
		python: paint(color.FgYellow),
		next:   paint(color.FgGreen),
		fail:   paint(color.FgRed, color.Bold),
		notice: paint(color.FgMagenta),
		dim:    paint(color.Faint),
		data:   paint(color.FgBlue),
	}
}

// plain is a style without colour: it returns its text unchanged.
func plain(text string) string { return text }
