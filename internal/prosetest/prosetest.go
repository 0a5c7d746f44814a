// Package prosetest finds the marks a narration template leaves where a
// field was empty, for the tests of every package that narrates: a field
// that renders as nothing raises no error, and "TCP carries them to ." reads
// as a sentence to everything but a learner.
package prosetest

import "regexp"

// hole matches a space before a full stop that ends a sentence, or before
// a comma; "at ." and "to ."; a double space inside a line; and empty
// parentheses that follow a space (not a call such as listen()).
var hole = regexp.MustCompile(`\S \.(\s|$)| ,|  \S|(^|\s)\(\s*\)|\bat \.|\bto \.`)

// Hole returns the first mark of an empty field in text, or "" if there is
// none.
func Hole(text string) string { return hole.FindString(text) }

// onePlural matches a count of one with a plural noun, which a template
// writes when it prints a number without choosing the noun's form: the
// nouns are those the narration counts.
var onePlural = regexp.MustCompile(`\b1 (\w+ )?(bytes|calls|clients|connections|datagrams|milliseconds|pieces|seconds|sockets|times)\b`)

// OnePlural returns the first "1 bytes" in text, or "" if there is none.
func OnePlural(text string) string { return onePlural.FindString(text) }
