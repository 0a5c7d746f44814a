// Package lessons plays sockstep's notebook lessons: text files of read
// cells and do cells (README.md in this folder describes the format),
// embedded in the program and parsed once at start-up.
//
// A Tutor joins a repl.Session as an extension: it adds the lesson
// commands (lessons, lesson N, next, back, hint, skip, reset, quit lesson)
// to the shell's table, and after every command the learner types it
// checks the live state, read from the kernel, against the step's goal.
// The checks (checks.go) look at sockets, queues, TCP states, the kernel's
// table of connections and the last call's result, never at the typed
// text, so a learner's own names and ports pass. Progress is kept in the
// user's config directory.
package lessons
