package repl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/scanner"
	"go/token"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"sockstep/auto"
	"sockstep/steps"
)

// FuzzWrapInto holds wrapInto, which writes lines straight into the
// output, to wrap, which returns them.
func FuzzWrapInto(f *testing.F) {
	f.Add("The kernel took the first finished connection off server_socket (fd 5)'s accept queue", 30)
	f.Add("  two  spaces\tand a tab  ", 20)
	f.Add("a-very-long-word-that-does-not-fit-on-any-line-at-all and more", 20)
	f.Fuzz(func(t *testing.T, text string, width int) {
		var b strings.Builder
		wrapInto(&b, text, width, "> ", ". ")
		var want strings.Builder
		for i, line := range wrap(text, width) {
			if i == 0 {
				want.WriteString("> ")
			} else {
				want.WriteString(". ")
			}
			want.WriteString(line + "\n")
		}
		if b.String() != want.String() {
			t.Errorf("wrapInto(%q, %d) wrote %q, want %q", text, width, b.String(), want.String())
		}
	})
}

// TestCallLineRoundsAsTheProse: the time a call line shows beside the
// call is rounded as the narration rounds it (to the nearest hundredth of
// a millisecond), so that the two never disagree by a hundredth.
func TestCallLineRoundsAsTheProse(t *testing.T) {
	r := renderer{st: newStyle(false), width: 80}
	for _, tt := range []struct {
		took time.Duration
		want string
	}{
		{75900 * time.Nanosecond, "handshake 0.08 ms"}, // 75 whole microseconds would round down
		{1234567 * time.Nanosecond, "handshake 1.23 ms"},
		{19 * time.Microsecond, "handshake 0.02 ms"},
	} {
		var b strings.Builder
		r.callLine(&b, &steps.Report{Call: "connect(5, 127.0.0.1:8081) = 0", Took: tt.took, TookAs: "handshake"})
		if !strings.HasSuffix(strings.TrimSpace(b.String()), tt.want) {
			t.Errorf("took %v: got %q, want it to end %q", tt.took, b.String(), tt.want)
		}
	}
}

// codeBlocks collects the code of a session's output by language: each
// line after a language's label, with the lines it was broken into at
// the width joined again by newlines.
func codeBlocks(out string) map[string][]string {
	blocks := map[string][]string{}
	lang := ""
	for _, l := range strings.Split(out, "\n") {
		switch label := strings.TrimSpace(l[:min(len(l), 2+labelWidth)]); {
		case slices.Contains(languages, label):
			lang = label
			blocks[lang] = append(blocks[lang], l[2+labelWidth:])
		case lang != "" && strings.HasPrefix(l, blankLabel+"  ") && l[len(blankLabel)+2] != ' ':
			blocks[lang][len(blocks[lang])-1] += "\n" + l[len(blankLabel)+2:]
		default:
			lang = ""
		}
	}
	return blocks
}

// pythonParses fails the test for each piece of Python code that python3
// cannot compile, or that, broken into lines, means to python3 something
// else than its lines joined into one, all of them compiled by one
// python3. Without python3 it says that they were not checked.
func pythonParses(t *testing.T, code []string) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 is not on PATH, so the Python lines were not parsed")
		return
	}
	program, _ := json.Marshal(code)
	cmd := exec.Command(python, "-c", `import ast, json, sys
for i, code in enumerate(json.load(sys.stdin)):
    try:
        compile(code, 'shown', 'exec')
        if ast.dump(ast.parse(code)) != ast.dump(ast.parse(code.replace("\n", " "))):
            print(i, "its lines mean something else than the line they were broken from")
    except SyntaxError as e:
        print(i, e)`)
	cmd.Stdin = bytes.NewReader(program)
	said, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(said)), "\n") {
		if i, why, ok := strings.Cut(line, " "); ok {
			n, _ := strconv.Atoi(i)
			t.Errorf("python3, given\n%s\nsays: %s", code[n], why)
		}
	}
}

// TestBrokenCodeStillRuns: at every width, a call's code, broken to fit,
// still parses when its lines are pasted together as they are shown, and
// means what the one line it was broken from means: Python by python3, Go
// by go/parser and go/scanner; and a C or Go comment ends its line, so
// that no code is pasted into one. Each line of code fits the width
// unless it has no place to break, a long comment included. One with no
// place where Python, C and Go alike keep its meaning stays whole, by
// rule: Python's "conn, client_address = server.accept()", which only a
// backslash could break (C and Go could break after "="), is one line.
func TestBrokenCodeStillRuns(t *testing.T) {
	for _, width := range []int{40, 60, 80, 100} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			out := new(strings.Builder)
			s := New(out, Options{Width: width})
			t.Cleanup(s.Close)
			port := freePort(t)
			mustEval(t, s, "code all", "socket as server", fmt.Sprintf("bind server \"\" %d", port), "listen server",
				"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept server as conn",
				"send conn hello", "recv client", `send conn "Hello Server, I have connected on port 8081"`, "recv client", "option conn O_NONBLOCK", "send client --bytes 3000", "close all",
				"socket udp as u", "bind u 127.0.0.1 0", "sendto u 127.0.0.1 9 hi", "close u")
			blocks := codeBlocks(out.String())
			broken := 0
			for _, lang := range languages {
				if len(blocks[lang]) == 0 {
					t.Fatalf("no %s lines in\n%s", lang, out)
				}
				for _, code := range blocks[lang] {
					lines := strings.Split(code, "\n")
					broken += len(lines) - 1
					for i, l := range lines[:len(lines)-1] {
						if lang != "python" && strings.Contains(l, "//") && !strings.HasPrefix(lines[i+1], "//") {
							t.Errorf("%s: code goes on after the comment in\n%s", lang, code)
						}
					}
					if lang == "go" {
						if _, err := parser.ParseFile(token.NewFileSet(), "shown.go", "package p\nfunc f() {\n"+code+"\n}\n", 0); err != nil {
							t.Errorf("Go cannot parse\n%s\n%v", code, err)
						}
						if got, want := goTokens(code), goTokens(strings.ReplaceAll(code, "\n", " ")); !slices.Equal(got, want) {
							t.Errorf("Go reads\n%s\nas %q, and the line it was broken from as %q", code, got, want)
						}
					}
				}
			}
			pythonParses(t, blocks["python"])
			if !slices.Contains(blocks["python"], "conn, client_address = server.accept()") {
				t.Errorf("accept's Python line is not whole in\n%s", out)
			}
			inCode, nest := false, 0 // the line before was code; the brackets open at its end
			for _, l := range strings.Split(out.String(), "\n") {
				label := strings.TrimSpace(l[:min(len(l), 2+labelWidth)])
				if slices.Contains(languages, label) {
					inCode, nest = true, 0
				} else {
					inCode = inCode && strings.HasPrefix(l, blankLabel+"  ") && l[len(blankLabel)+2] != ' '
				}
				var ok bool
				if ok, nest = breakable(l, inCode, nest); inCode && ok && utf8.RuneCountInString(l) > width {
					t.Errorf("a line of code is %d columns wide, more than %d: %q", utf8.RuneCountInString(l), width, l)
				}
			}
			if width < 80 && broken == 0 {
				t.Fatalf("no code line was broken at %d columns, so none was checked:\n%s", width, out)
			}
		})
	}
}

// goTokens is what go/scanner reads in Go code, comments left out: a
// line break that ends a statement reads as a semicolon.
func goTokens(code string) []string {
	var sc scanner.Scanner
	file := token.NewFileSet().AddFile("shown.go", -1, len(code))
	sc.Init(file, []byte(code), nil, 0)
	var tokens []string
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			return tokens
		}
		tokens = append(tokens, tok.String()+lit)
	}
}

// TestProseFitsANarrowWidth: at every width below 40 columns, down to the
// narrowest sockstep lays out for, a step's sentences, an error's
// paragraphs, a waiting line and auto's notes are wrapped to the width:
// none is wider unless it is one word longer than its room.
func TestProseFitsANarrowWidth(t *testing.T) {
	out := new(strings.Builder)
	s := New(out, Options{Width: 80})
	t.Cleanup(s.Close)
	port, closed := freePort(t), freePort(t)
	mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "socket as c")
	made := s.report
	if err := s.Eval(context.Background(), fmt.Sprintf("connect c 127.0.0.1 %d", closed)); err == nil {
		t.Fatalf("connect to the closed port %d: no error", closed)
	}
	refused := s.report
	if made == nil || made.Says == "" || refused == nil || refused.Failure == nil || refused.Failure.Fix == "" {
		t.Fatalf("no prose to wrap: %+v, %+v", made, refused)
	}
	label := regexp.MustCompile(`^(?:server │ )? *(?:(?:error|fix) +|» )?`)
	for width := Width(0); width < 40; width++ {
		r := s.render
		r.width = width
		var b strings.Builder
		r.prose(&b, made.Says)
		r.para(&b, "error", refused.Failure.Meaning)
		r.para(&b, "fix", refused.Failure.Fix)
		r.waiting(&b, "waiting for a connection to server (fd 3); Ctrl-C stops waiting")
		demo := &autoStage{s: New(io.Discard, Options{Width: width}), both: true} // the demo in one column
		demo.Tell(auto.Server, refused.Failure.Fix)
		for _, l := range strings.Split(strings.TrimSuffix(b.String()+demo.held.String(), "\n"), "\n") {
			if n := utf8.RuneCountInString(l); n > width && strings.Contains(l[len(label.FindString(l)):], " ") {
				t.Errorf("%d columns: a line is %d wide: %q", width, n, l)
			}
		}
	}
}
