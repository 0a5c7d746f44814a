package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var (
	// sampleCell is the first line of a cell in a sample of the README:
	// `[5] › connect client 127.0.0.1 8081`.
	sampleCell = regexp.MustCompile(`^\[(\d+)\] › (.*)$`)
	// What changes from run to run: a time, and a port the kernel chose.
	sampleTime      = regexp.MustCompile(`\b\d+(\.\d+)? ms\b`)
	sampleEphemeral = regexp.MustCompile(`\b\d{5}\b`)
)

// A cell is one cell of a sample session: its number, the command
// typed, and what it printed.
type cell struct {
	n       int
	command string
	lines   []string
}

// cells splits a transcript into its cells. Lines before the first cell
// are dropped, and so is what the session prints when it ends.
func cells(lines []string) []cell {
	var all []cell
	for _, line := range lines {
		if m := sampleCell.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			all = append(all, cell{n: n, command: m[2]})
			continue
		}
		if strings.HasPrefix(line, "  leaving: ") {
			break
		}
		if len(all) > 0 {
			all[len(all)-1].lines = append(all[len(all)-1].lines, line)
		}
	}
	return all
}

// TestReadmeSampleSession types the commands of the README's sample
// session (its fenced blocks of cells, one session from [1] on) into the
// real sockstep, and compares what each cell printed with the sample
// word for word, where `…` stands for any words: the README's sample is
// what a learner is promised to see. Times and the ports the kernel
// chose are masked; the test listens on a free port where the README
// says 8081.
func TestReadmeSampleSession(t *testing.T) {
	text, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var sample []string
	inBlock := false
	for _, line := range strings.Split(string(text), "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock = !inBlock
		case inBlock:
			sample = append(sample, line)
		}
	}
	want := cells(sample)
	if len(want) < 5 {
		t.Fatalf("found %d cells in the README's samples, want a session of at least 5", len(want))
	}
	port := strconv.Itoa(freeTestPort(t))
	var commands []string
	for i, c := range want {
		if c.n != i+1 {
			t.Fatalf("the README's sample shows cell [%d] after %d cells: show every cell of the session, eliding its output with …", c.n, i)
		}
		commands = append(commands, strings.ReplaceAll(c.command, "8081", port))
	}
	p := start(t, nil, sockstep, "--no-color", "-c", strings.Join(commands, "; "))
	p.wait()
	got := cells(strings.Split(p.output(), "\n"))
	if len(got) != len(want) {
		t.Fatalf("sockstep ran %d cells of the README's %d:\n%s", len(got), len(want), p.output())
	}
	mask := func(lines []string, port string) []string {
		text := strings.Join(lines, "\n")
		if port != "" {
			text = regexp.MustCompile(`\b`+port+`\b`).ReplaceAllString(text, "8081")
		}
		text = sampleTime.ReplaceAllString(text, "T ms")
		return strings.Fields(sampleEphemeral.ReplaceAllString(text, "EPH"))
	}
	for i := range want {
		w, g := mask(want[i].lines, ""), mask(got[i].lines, port)
		if !matchWords(w, g) {
			t.Errorf("README's cell [%d] %s shows\n%s\nbut sockstep printed\n%s", want[i].n, want[i].command,
				strings.Join(want[i].lines, "\n"), strings.Join(got[i].lines, "\n"))
		}
	}
}

// matchWords says whether got is want, where a word `…` of want stands
// for any words of got, none included.
func matchWords(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if want[0] == "…" {
		for i := 0; i <= len(got); i++ {
			if matchWords(want[1:], got[i:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && got[0] == want[0] && matchWords(want[1:], got[1:])
}

func TestMatchWords(t *testing.T) {
	tests := []struct {
		want, got string
		ok        bool
	}{
		{"a b c", "a b c", true},
		{"a … c", "a b b c", true},
		{"a … c", "a c", true},
		{"a …", "a b c", true},
		{"a … c", "a b d", false},
		{"a b", "a b c", false},
		{"a b c", "a b", false},
	}
	for _, tt := range tests {
		if got := matchWords(strings.Fields(tt.want), strings.Fields(tt.got)); got != tt.ok {
			t.Errorf("matchWords(%q, %q) = %v, want %v", tt.want, tt.got, got, tt.ok)
		}
	}
}

// TestReadmeFailedCommands runs a script in which commands fail, and
// checks that the transcript ends as the README says it does: with the
// line it quotes, "✗ N of M commands failed:", and then each command that
// failed, with its cell number.
func TestReadmeFailedCommands(t *testing.T) {
	text, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	summary := regexp.MustCompile(`(?m)^ +✗ \d+ of \d+ commands failed:\n +\[\d+\] \S`)
	if !summary.Match(text) {
		t.Fatalf("the README quotes no list of failed commands that matches %s", summary)
	}
	port := strconv.Itoa(freeTestPort(t))
	script := []string{"socket as s", "connect s 127.0.0.1 " + port, "listen s", "accept s --timeout 0.1s"}
	p := start(t, nil, sockstep, "--no-color", "--narrate", "off", "-c", strings.Join(script, "; "))
	status, out := p.wait()
	if status != 1 {
		t.Errorf("exit status: got %d, want 1", status)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := []string{"  ✗ 2 of 4 commands failed:", "    [2] " + script[1], "    [4] " + script[3]}
	if len(lines) < len(want) || !slices.Equal(lines[len(lines)-len(want):], want) {
		t.Errorf("the transcript ends\n%s\nwant it to end\n%s", out, strings.Join(want, "\n"))
	}
}

// TestReadmeProgress follows what the README tells a teacher about
// progress: a lesson played from a pipe is kept in
// $XDG_CONFIG_HOME/sockstep/progress.json, and deleting that file, as the
// README's rm does, starts progress afresh.
func TestReadmeProgress(t *testing.T) {
	text, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rm ~/.config/sockstep/progress.json", "XDG_CONFIG_HOME=$(mktemp -d) sockstep lesson 1"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the README does not tell a teacher %q", want)
		}
	}
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	t.Setenv("NO_COLOR", "1")
	lessons := func() string {
		var out bytes.Buffer
		if status := run([]string{"lessons"}, strings.NewReader(""), &out, &out); status != 0 {
			t.Fatalf("sockstep lessons: exit status %d:\n%s", status, out.String())
		}
		return out.String()
	}
	port := strconv.Itoa(freeTestPort(t))
	answers := "socket as s\nbind s \"\" " + port + "\nlisten s\nshow s\nsocket as l\nbind l 127.0.0.1 0\n"
	var out bytes.Buffer
	if status := run([]string{"lesson", "1"}, strings.NewReader(answers), &out, &out); status != 0 {
		t.Fatalf("lesson 1 from a pipe: exit status %d:\n%s", status, out.String())
	}
	file := filepath.Join(config, "sockstep", "progress.json")
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("lesson 1 played from a pipe kept no progress: %v", err)
	}
	if got := lessons(); !strings.Contains(got, "✔ 1 ") {
		t.Errorf("after lesson 1, sockstep lessons shows no ✔ for it:\n%s", got)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if got := lessons(); strings.Contains(got, "✔") {
		t.Errorf("after the progress file was deleted, sockstep lessons still shows a lesson done:\n%s", got)
	}
}

// TestReadmeWrongCommandLine gives sockstep the wrong command lines the
// README names, each of which ends it with status 2 before any socket is
// made.
func TestReadmeWrongCommandLine(t *testing.T) {
	text, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(text)), " "), "The exit status is 2, and nothing is run, when the command line is wrong") {
		t.Fatal("the README does not say what exit status 2 means")
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	tests := []struct {
		name string
		args []string
	}{
		{"an unknown option", []string{"--colour", "run", "lab.txt"}},
		{"an unknown command", []string{"runn", "lab.txt"}},
		{"a FILE that cannot be opened", []string{"run", filepath.Join(t.TempDir(), "lab.txt")}},
		{"no lesson N", []string{"lesson", "99"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if status := run(tt.args, strings.NewReader("socket as s\n"), &out, &out); status != 2 {
				t.Errorf("sockstep %s: exit status %d, want 2:\n%s", strings.Join(tt.args, " "), status, out.String())
			}
			if strings.Contains(out.String(), "socket(") {
				t.Errorf("sockstep %s ran a command:\n%s", strings.Join(tt.args, " "), out.String())
			}
		})
	}
}
