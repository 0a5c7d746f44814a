package repl

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// recorder is an extension with one one-word and one two-word command,
// which remembers what it was told.
type recorder struct {
	seen []Evaluation
	ran  []string
}

func (r *recorder) Commands() (string, []Command) {
	return "Recording", []Command{
		{Name: "mark", Usage: "mark [WORD]", Summary: "remember a word",
			Complete: func([]string) []string { return []string{"here", "there"} },
			Run: func(_ context.Context, args []string) error {
				r.ran = append(r.ran, "mark "+strings.Join(args, " "))
				return nil
			}},
		{Name: "quit marking", Usage: "quit marking", Summary: "stop marking",
			Run: func(context.Context, []string) error {
				r.ran = append(r.ran, "quit marking")
				return nil
			}},
	}
}

func (r *recorder) Evaluated(_ context.Context, e Evaluation) { r.seen = append(r.seen, e) }

func TestExtensionIsToldWhatEachLineDid(t *testing.T) {
	var out bytes.Buffer
	s := New(&out, Options{})
	defer s.Close()
	r := &recorder{}
	s.Extend(r)
	ctx := context.Background()
	lines := []string{"socket as server", "bind server 127.0.0.1 0", "connect server 127.0.0.1", "sockets", "", "mark here", "quit marking", "bnid server"}
	for _, line := range lines {
		s.Eval(ctx, line)
	}
	if err := s.Eval(ctx, "quit"); !errors.Is(err, ErrQuit) {
		t.Fatalf("quit: got %v, want ErrQuit", err)
	}
	want := []struct {
		command string
		failed  bool
		report  bool
	}{
		{"socket", false, true},
		{"bind", false, true},
		{"connect", true, false}, // a usage error: no call was made
		{"sockets", false, false},
		{"mark", false, false},
		{"quit marking", false, false},
		{"", true, false},
	}
	if len(r.seen) != len(want) {
		t.Fatalf("got %d evaluations, want %d (blank lines and quit are not reported)", len(r.seen), len(want))
	}
	for i, w := range want {
		got := r.seen[i]
		if got.Command != w.command || (got.Err != nil) != w.failed || (got.Report != nil) != w.report {
			t.Errorf("line %q: got command %q, failed %v, report %v; want %q, %v, %v",
				got.Line, got.Command, got.Err != nil, got.Report != nil, w.command, w.failed, w.report)
		}
	}
	if got, want := r.ran, []string{"mark here", "quit marking"}; !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
}

func TestExtensionCommandsInHelpAndCompletion(t *testing.T) {
	var out bytes.Buffer
	s := New(&out, Options{})
	s.Extend(&recorder{})
	if !s.Knows("quit marking") || !s.Knows("mark") || s.Knows("marking") {
		t.Errorf("Knows: got mark %v, quit marking %v, marking %v; want true, true, false",
			s.Knows("mark"), s.Knows("quit marking"), s.Knows("marking"))
	}
	s.Eval(context.Background(), "help")
	help := out.String()
	recording, shell := strings.Index(help, "Recording"), strings.Index(help, groupShell)
	if recording < 0 || shell < recording || !strings.Contains(help, "quit marking") {
		t.Errorf("help lists the extension's group at %d and the shell's at %d, want it before; got\n%s", recording, shell, help)
	}
	cases := []struct{ line, want string }{
		{"ma", "mark"},
		{"quit ", "marking"},
		{"mark t", "there"},
		{"help quit ", "marking"},
	}
	for _, c := range cases {
		got, _ := s.Complete(c.line)
		if !slices.Contains(got, c.want) {
			t.Errorf("Complete(%q): got %q, want it to offer %q", c.line, got, c.want)
		}
	}
	if got, _ := s.Complete(""); slices.Contains(got, "quit marking") || !slices.Contains(got, "quit") {
		t.Errorf("Complete(\"\") offers first words only: got %q", got)
	}
}
