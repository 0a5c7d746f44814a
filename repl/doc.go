// Package repl is sockstep's shell: it reads command lines, splits them
// into words, dispatches them through one ordered command table (which also
// feeds help and Tab completion), and renders each step's report with
// colour, wrapping and bytes from the network made safe.
//
// A Session is the core: it takes a line and writes its output, with no
// terminal needed, so tests, `sockstep run FILE` and `sockstep -c` drive it
// exactly as the interactive shell does. readline.go is the only file that
// knows about the line editor.
package repl
