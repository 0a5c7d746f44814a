// Package prosetest finds the marks a narration template leaves where it
// went wrong, for the tests of every package that narrates: a field that
// renders as nothing raises no error, and "TCP carries them to ." reads as
// a sentence to everything but a learner; nor does a number printed
// without choosing its noun's form ("1 bytes").
package prosetest

import "regexp"

// hole matches a space before a full stop that ends a sentence, or before
// a comma; "at ." and "to ."; a double space inside a line; and empty
// parentheses that follow a space (not a call such as listen()).
var hole = regexp.MustCompile(`\S \.(\s|$)| ,|  \S|(^|\s)\(\s*\)|\bat \.|\bto \.`)

// onePlural matches a count of one with a plural noun, one word between
// at most: the nouns are those the narration counts.
var onePlural = regexp.MustCompile(`\b1 (\w+ )?(bytes|calls|clients|connections|datagrams|milliseconds|pieces|seconds|sockets|times)\b`)

// Flaw says what is wrong with text, quoting the mark it found: a hole
// where a value is missing, or a count of one in the plural. It returns ""
// for text with neither.
func Flaw(text string) string {
	if m := hole.FindString(text); m != "" {
		return "a hole where a value is missing: " + quote(m)
	}
	if m := onePlural.FindString(text); m != "" {
		return "a count of one in the plural: " + quote(m)
	}
	return ""
}

func quote(s string) string { return `"` + s + `"` }
