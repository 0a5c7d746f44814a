package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sockstep/auto"
	"sockstep/internal/peer"
	"sockstep/steps"
)

// evalAuto runs one command line in a new session of the given width and
// returns what it printed.
func evalAuto(t *testing.T, width int, line string) string {
	t.Helper()
	var out bytes.Buffer
	s := New(&out, Options{Width: width})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Eval(ctx, line); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out.String())
	}
	return out.String()
}

// TestAutoDemoShowsTheTwoSidesInColumnsOnAWideTerminal: from 100 columns
// the demo is in two columns, and no line is wider than the terminal, not
// even one with no place to break, such as the client's quoted message
// (44 characters with a five-digit port, wider than a column with its
// indent): a line wider than the terminal wraps, and its end lands in the
// other column. Such a line is never cut: the message is whole on it.
func TestAutoDemoShowsTheTwoSidesInColumnsOnAWideTerminal(t *testing.T) {
	for _, width := range []int{100, 110, 120} {
		out := evalAuto(t, width, "auto demo --port 0")
		lines := strings.Split(out, "\n")
		if !strings.HasPrefix(lines[0], "  server ") || !strings.HasSuffix(lines[0], "│ client") {
			t.Errorf("%d columns: the first line is %q, want the columns' names", width, lines[0])
		}
		left := (width - 3) / 2
		for _, want := range []string{"› socket tcp ipv4 as server_socket", "› accept server_socket as connection"} {
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want) && strings.HasSuffix(l, " │") }) {
				t.Errorf("%d columns: no line starts with %q in the left column:\n%s", width, want, out)
			}
		}
		for _, want := range []string{"› socket tcp ipv4 as client_socket", "  prints  Message sent. Socket closed."} {
			if !slices.Contains(lines, strings.Repeat(" ", left)+" │ "+want) {
				t.Errorf("%d columns: no line holds %q in the right column:\n%s", width, want, out)
			}
		}
		port := regexp.MustCompile(`0\.0\.0\.0:([1-9]\d*)`).FindStringSubmatch(out)
		if port == nil {
			t.Fatalf("%d columns: the server says no port:\n%s", width, out)
		}
		message := `"Hello Server, I have connected on port ` + port[1] + `"`
		if n := strings.Count(out, message); n < 3 { // the command, the call, the code
			t.Errorf("%d columns: %s is whole on %d lines, want 3:\n%s", width, message, n, out)
		}
		for _, l := range lines {
			if w := visibleWidth(l); w > width {
				t.Errorf("a line is %d columns wide, more than the terminal's %d: %q", w, width, l)
			}
		}
	}
}

// breakable says whether a line of one side, wider than the terminal,
// had a place to break, found here apart from breakLine: in prose, a
// space after the first character, outside double quotes and brackets;
// in code (after a language's label, or going on from such a line: code
// is set), outside double quotes, a comma and a space within brackets
// (nest is how many are open where the line starts), a semicolon and a
// space, an opening parenthesis or brace that is not "()" or "{}", or a
// comment; in a comment, a space after its first word. It returns too
// how many brackets are open at the line's end. A line of received data
// is never broken, so that what came is shown as it came (its count goes
// on a line of its own where the two do not fit). A line without a place
// to break is shown whole rather than cut mid-word.
func breakable(side string, code bool, nest int) (bool, int) {
	text := strings.TrimSpace(side)
	if label, rest, ok := strings.Cut(text, "  "); ok && !strings.Contains(label, " ") {
		text = strings.TrimSpace(rest) // a labelled line: what the label introduces
	}
	if strings.HasPrefix(text, "│") { // a line of a block of data
		return false, nest
	}
	if mark, words, ok := strings.Cut(text, " "); code && (mark == "#" || mark == "//") && ok {
		return strings.Contains(strings.TrimSpace(words), " "), nest
	}
	found, quoted, depth := false, false, 0
	for i, c := range text {
		rest := text[i:]
		switch {
		case quoted && c == '\\':
		case c == '"':
			quoted = !quoted
		case quoted:
		case !code && c == '[':
			depth++
		case !code && c == ']' && depth > 0:
			depth--
		case i == 0:
		case code && (strings.HasPrefix(rest, " #") || strings.HasPrefix(rest, " //")):
			return true, nest
		case code && (nest > 0 && strings.HasPrefix(rest, ", ") || strings.HasPrefix(rest, "; ")):
			found = true
		case code && (c == '(' && !strings.HasPrefix(rest, "()") || c == '{' && !strings.HasPrefix(rest, "{}")) && len(rest) > 1:
			found = true
		case !code && c == ' ' && depth == 0:
			found = true
		}
		if code && !quoted {
			switch c {
			case '(', '[', '{':
				nest++
			case ')', ']', '}':
				nest--
			}
		}
	}
	return found, nest
}

// TestAutoDemoLabelsEveryLineOnANarrowTerminal: below 100 columns, down
// to 40, every line of the demo is labelled with its side and fits the
// terminal, the labels included, unless it has no place to break; none is
// cut mid-word: the Python lines, pasted as shown, still parse.
func TestAutoDemoLabelsEveryLineOnANarrowTerminal(t *testing.T) {
	for _, width := range []int{99, 80, 60, 40} {
		out := evalAuto(t, width, "auto demo --port 0")
		body, summary, found := strings.Cut(out, "\n\nauto demo done:")
		if !found {
			t.Fatalf("no summary at the end:\n%s", out)
		}
		for _, l := range strings.Split(body, "\n") {
			if !strings.HasPrefix(l, "server │ ") && !strings.HasPrefix(l, "client │ ") {
				t.Errorf("%d columns: the line %q is not labelled with its side", width, l)
			}
		}
		var sides []string // each line without its side's label
		inCode := false    // the line before was code
		nest := 0          // the brackets open at the end of the line before, in code
		for _, l := range strings.Split(out, "\n") {
			_, side, _ := strings.Cut(l, " │ ")
			label := strings.TrimSpace(side[:min(len(side), 2+labelWidth)])
			if slices.Contains(languages, label) {
				inCode, nest = true, 0
			} else {
				inCode = inCode && strings.HasPrefix(side, blankLabel+"  ") && side[len(blankLabel)+2] != ' '
			}
			var ok bool
			if ok, nest = breakable(side, inCode, nest); visibleWidth(l) > width && ok {
				t.Errorf("a line is %d columns wide, more than the terminal's %d: %q", visibleWidth(l), width, l)
			}
			sides = append(sides, side)
		}
		code := codeBlocks(strings.Join(sides, "\n"))["python"]
		if len(code) == 0 {
			t.Fatalf("%d columns: no Python lines in\n%s", width, out)
		}
		pythonParses(t, code)
		if !strings.HasPrefix(summary, " 1 client served") {
			t.Errorf("the summary says %q", summary)
		}
	}
}

func TestAutoStepReadsItsAnswersFromTheScript(t *testing.T) {
	var out bytes.Buffer
	s := New(&out, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Enter twice (socket, bind), q at listen, then the script goes on.
	failed := s.RunScript(ctx, strings.NewReader("auto demo --port 0 --step\n\n\nq\nsockets\n"))
	text := out.String()
	if failed != 0 {
		t.Errorf("%d commands failed:\n%s", failed, text)
	}
	for _, want := range []string{"server │ › bind server_socket", "server › next: listen(", "server │ › close server_socket",
		"auto demo stopped:", "[2] › sockets", "no sockets open"} {
		if !strings.Contains(text, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "› listen server_socket") {
		t.Errorf("listen ran after q:\n%s", text)
	}
}

func TestAutoStepStopsWhenThereIsNoInput(t *testing.T) {
	out := evalAuto(t, 80, "auto server --host 127.0.0.1 --port 0 --step")
	for _, want := range []string{"next: socket(AF_INET, SOCK_STREAM, 0) — Enter runs it, q stops",
		"(no more input: stopping)", "auto server stopped: 0 clients served"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
}

func TestAutoIsCompletedAndHelped(t *testing.T) {
	s := New(&bytes.Buffer{}, Options{})
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"au", []string{"auto"}},
		{"auto ", []string{"client", "demo", "server"}},
		{"auto server --i", []string{"--idle-timeout"}},
		{"auto demo ", []string{"--host", "--port", "--step"}},
	} {
		if got, _ := s.Complete(tc.line); !slices.Equal(got, tc.want) {
			t.Errorf("Complete(%q): got %q, want %q", tc.line, got, tc.want)
		}
	}
	help := evalAuto(t, 80, "help auto")
	for _, want := range []string{"usage   auto server [--host H]", "        auto client [--host H]",
		"        auto demo   [--host H] [--port P] [--step]", "example auto demo"} {
		if !strings.Contains(help, want) {
			t.Errorf("help auto lacks %q:\n%s", want, help)
		}
	}
}

// TestAutoHelpSaysWhenTheDemoIsSideBySide plays the demo at the widths
// around the narrowest that shows it in columns, and wants help auto to
// name that width; and where --port 0 is refused, help must not offer it.
func TestAutoHelpSaysWhenTheDemoIsSideBySide(t *testing.T) {
	inColumns := func(width int) bool {
		first, _, _ := strings.Cut(evalAuto(t, width, "auto demo --port 0"), "\n")
		return strings.HasSuffix(first, "│ client")
	}
	narrowest := 0
	for width := 60; width <= 200; width++ {
		if inColumns(width) {
			narrowest = width
			break
		}
	}
	if narrowest == 0 || inColumns(narrowest-1) {
		t.Fatalf("found no width from which the demo is in columns (%d)", narrowest)
	}
	about := strings.Join(strings.Fields(auto.About), " ")
	if want := fmt.Sprintf("side by side on a terminal %d columns wide or more", narrowest); !strings.Contains(about, want) {
		t.Errorf("help auto does not say %q:\n%s", want, auto.About)
	}
	for _, play := range auto.Plays {
		_, err := auto.Parse([]string{play, "--port", "0"})
		offered := play != "client" && strings.Contains(about, "For auto server and auto demo, --port 0 lets the kernel choose")
		if (err == nil) != offered {
			t.Errorf("auto %s --port 0: Parse says %v; help auto says:\n%s", play, err, auto.About)
		}
	}
}

// TestAutoSaysAHostWithoutAnAddressBeforeAnySocket: in the shell too, a
// --host with no IPv4 address is said before any socket is made, and the
// command fails without a summary of calls never made.
func TestAutoSaysAHostWithoutAnAddressBeforeAnySocket(t *testing.T) {
	const nowhere = "no-such-host.invalid"
	if addrs, err := steps.Resolver.LookupNetIP(context.Background(), "ip4", nowhere); err == nil {
		t.Skipf("%s has an address here (%v)", nowhere, addrs)
	}
	var out bytes.Buffer
	s := New(&out, Options{Width: 80})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Eval(ctx, "auto client --host "+nowhere); !errors.Is(err, ErrFailed) {
		t.Errorf("auto client --host %s returned %v, want ErrFailed", nowhere, err)
	}
	if want := `✗ cannot find an IPv4 address for "` + nowhere + `" (--host)`; !strings.Contains(out.String(), want) {
		t.Errorf("the output lacks %q:\n%s", want, out.String())
	}
	for _, never := range []string{"socket(", "usage", "a call failed"} {
		if strings.Contains(out.String(), never) {
			t.Errorf("the output holds %q:\n%s", never, out.String())
		}
	}
	if n := len(s.lab.Sockets()); n != 0 {
		t.Errorf("the session holds %d sockets", n)
	}
}

// TestPlayFindsTheHost: Play, as sockstep auto calls it, finds --host's
// address before any socket is made, and returns an *auto.HostError that
// it does not say, for its caller to say where its problems go.
func TestPlayFindsTheHost(t *testing.T) {
	const nowhere = "no-such-host.invalid"
	if addrs, err := steps.Resolver.LookupNetIP(context.Background(), "ip4", nowhere); err == nil {
		t.Skipf("%s has an address here (%v)", nowhere, addrs)
	}
	plan, err := auto.Parse([]string{"client", "--host", nowhere})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := New(&out, Options{Width: 80})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Play(ctx, plan); !errors.As(err, new(*auto.HostError)) {
		t.Errorf("Play with --host %s returned %v, want an *auto.HostError", nowhere, err)
	}
	if out.Len() != 0 || len(s.lab.Sockets()) != 0 {
		t.Errorf("Play made %d sockets and said:\n%s", len(s.lab.Sockets()), out.String())
	}
}

// TestAutoHelpFlagShowsHelpAuto: -h or --help after a play is a request
// for auto's help, shown as help auto shows it, not an error.
func TestAutoHelpFlagShowsHelpAuto(t *testing.T) {
	want := evalAuto(t, 80, "help auto")
	for _, line := range []string{"auto client -h", "auto demo --help", "auto server --port 0 -h"} {
		if got := evalAuto(t, 80, line); got != want {
			t.Errorf("%s printed:\n%s\nwant what help auto prints:\n%s", line, got, want)
		}
	}
}

// TestAutoStepPromptFitsTheWidth plays auto client --step with a message
// longer than a call shows (control bytes in it, which show as four
// columns each), and auto demo --step with the tutorial's: each prompt
// before a send, with the space after it, must fit the session's width,
// showing less of the text, marked as strace marks it ("..." after the
// quote), and its length.
func TestAutoStepPromptFitsTheWidth(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	message := strings.Repeat(`\x01`, 10) + strings.Repeat("x", 90) // 100 bytes
	for _, tc := range []struct {
		line  string
		width int
		sent  int // the send's length the prompt shows
	}{
		{fmt.Sprintf(`auto client --host 127.0.0.1 --port %d --message "%s" --step`, port, message), 60, 100},
		{fmt.Sprintf(`auto client --host 127.0.0.1 --port %d --message "%s" --step`, port, message), 80, 100},
		{"auto demo --port 0 --step", 80, len(auto.TutorialMessage(0)) + 4}, // a port of 5 digits
	} {
		var out bytes.Buffer
		s := New(&out, Options{Width: tc.width})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s.RunScript(ctx, strings.NewReader(tc.line+strings.Repeat("\n", 20)))
		cancel()
		sends := 0
		for _, l := range strings.Split(out.String(), "\n") {
			if !strings.Contains(l, "next: send(") {
				continue
			}
			if w := visibleWidth(l) + 1; w > tc.width { // the cursor waits after a space
				t.Errorf("%d columns: the prompt takes %d: %q", tc.width, w, l)
			}
			if strings.Contains(l, fmt.Sprintf(", %d) — Enter", tc.sent)) {
				sends++
				if !regexp.MustCompile(`"\.\.\., `).MatchString(l) {
					t.Errorf("%d columns: %q does not say that it left some of the text out", tc.width, l)
				}
			}
		}
		if sends != 1 {
			t.Errorf("%s at %d columns: %d prompts of a send of %d bytes, want 1:\n%s", tc.line, tc.width, sends, tc.sent, out.String())
		}
	}
}

// TestEveryStepPromptFits plays auto server, client and demo with --step
// at 60 and 80 columns, and narrower still: every prompt, and the space
// the cursor waits after, must fit the session's width, each call that is
// then made must have had its prompt, and the prompt must say how to go
// on, the call whole where it fits and cut with "…" where even it cannot.
func TestEveryStepPromptFits(t *testing.T) {
	listening := peer.Serve(t, func(conn net.Conn) { conn.Write([]byte("hello")) })
	call := regexp.MustCompile(`^\s*(?:(?:server|client) [│›]\s*)*(socket|bind|listen|accept|connect|send|recv|close)\(`)
	for _, width := range []int{36, 60, 80} {
		for _, play := range []string{"server", "client", "demo"} {
			t.Run(fmt.Sprintf("%s at %d", play, width), func(t *testing.T) {
				line := "auto demo --port 0 --step"
				switch play {
				case "server":
					port := freePort(t)
					line = fmt.Sprintf("auto server --host 127.0.0.1 --port %d --count 1 --step", port)
					go func() { // a client, once the server listens
						for range 100 {
							if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
								conn.Write([]byte("hi"))
								conn.SetReadDeadline(time.Now().Add(5 * time.Second))
								conn.Read(make([]byte, 64))
								conn.Close()
								return
							}
							time.Sleep(50 * time.Millisecond)
						}
					}()
				case "client":
					line = fmt.Sprintf("auto client --host 127.0.0.1 --port %d --wait 0 --step", listening)
				}
				var out bytes.Buffer
				s := New(&out, Options{Width: width})
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				s.RunScript(ctx, strings.NewReader(line+strings.Repeat("\n", 40)))
				cancel()
				prompts, calls := []string{}, []string{}
				for _, l := range strings.Split(out.String(), "\n") {
					if strings.Contains(l, "next: ") {
						prompts = append(prompts, l)
						if w := visibleWidth(l) + 1; w > width { // the cursor waits after a space
							t.Errorf("the prompt takes %d columns: %q", w, l)
						}
						if !strings.HasSuffix(l, " — Enter runs it, q stops") && !strings.HasSuffix(l, " (Enter/q)") && !strings.HasSuffix(l, "…") {
							t.Errorf("the prompt %q says neither how to go on nor that it is cut", l)
						}
					} else if m := call.FindStringSubmatch(l); m != nil {
						calls = append(calls, m[1])
					}
				}
				if len(calls) < 4 || len(prompts) != len(calls) {
					t.Fatalf("%d prompts for the calls %q:\n%s", len(prompts), calls, out.String())
				}
				for i, p := range prompts {
					if _, after, _ := strings.Cut(p, "next: "); !strings.HasPrefix(after, calls[i]+"(") {
						t.Errorf("prompt %d, %q, before the call %s", i+1, p, calls[i])
					}
				}
			})
		}
	}
}

// TestAutoNotesAreFullNarration: auto's notes (») show at narrate full
// only, as a step's sentences do, and at every level the tutorial's
// printed lines are all there, with the port the kernel chose.
func TestAutoNotesAreFullNarration(t *testing.T) {
	var printedAtFull []string
	for _, level := range []Narration{Full, Brief, Off} {
		var out bytes.Buffer
		s := New(&out, Options{Width: 80, Narration: level})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.Eval(ctx, "auto demo --port 0")
		cancel()
		s.Close()
		if err != nil {
			t.Fatalf("level %d: %v\n%s", level, err, out.String())
		}
		var notes, printed []string
		for _, l := range strings.Split(out.String(), "\n") {
			_, l, _ = strings.Cut(l, " │ ")
			if strings.HasPrefix(l, "  » ") {
				notes = append(notes, l)
			}
			if p, ok := strings.CutPrefix(l, "  prints  "); ok {
				printed = append(printed, p)
			}
		}
		if want := level == Full; (len(notes) > 0) != want {
			t.Errorf("level %d: notes %q, want them shown: %v", level, notes, want)
		}
		port := regexp.MustCompile(`connect\(\d+, 127\.0\.0\.1:(\d+)\) = 0`).FindStringSubmatch(out.String())
		if port == nil || !slices.Contains(printed, "Listening for incoming connections on port "+port[1]+" . . .") {
			t.Errorf("level %d: the tutorial's lines are %q, want the port connect reached in them", level, printed)
		}
		if level == Full {
			printedAtFull = printed
		} else if len(printed) != len(printedAtFull) {
			t.Errorf("level %d: %d of the tutorial's lines, want the %d shown at full: %q", level, len(printed), len(printedAtFull), printed)
		}
	}
}

// TestAutoDemoBreaksALineWiderThanTheTerminal: a message of 1024 bytes
// with no space, such as a client that connected to the demo's port before
// the demo's own client may send, would be one line wider than the
// terminal, which the terminal wraps across both columns or under the
// labels. The demo breaks it into pieces as wide as its column, each
// further one marked, every line in its place (the left column's ending
// with the separator, or each line labelled), and the pieces, put back
// together, hold every byte in order; with colour, no line leaves a colour
// open: each opens as many as it closes.
func TestAutoDemoBreaksALineWiderThanTheTerminal(t *testing.T) {
	message := strings.Repeat("a", 1000) + strings.Repeat("b", 24)
	for _, tt := range []struct {
		width  int
		colour bool
	}{{120, false}, {120, true}, {80, false}, {80, true}} {
		t.Run(fmt.Sprintf("%d columns, colour %v", tt.width, tt.colour), func(t *testing.T) {
			var out bytes.Buffer
			s := New(&out, Options{Width: tt.width, Colour: tt.colour})
			stage := newAutoStage(s, &auto.Plan{Play: "demo"})
			stage.Message(auto.Server, []byte(message))
			stage.Print(auto.Client, message)
			stage.close()
			left := (tt.width - 3) / 2
			var server, client strings.Builder
			for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
				plainLine := colourCode.ReplaceAllString(line, "")
				if w := visibleWidth(line); w > tt.width {
					t.Errorf("a line is %d columns wide, more than the terminal's %d: %q", w, tt.width, plainLine)
				}
				if codes := colourCode.FindAllString(line, -1); len(codes)%2 != 0 {
					t.Errorf("a line leaves its colour open: %q", line)
				}
				var side *strings.Builder
				switch {
				case tt.width >= columnsWidth && strings.HasPrefix(plainLine, strings.Repeat(" ", left)+" │ "):
					side, plainLine = &client, plainLine[left+len(" │ "):]
				case tt.width >= columnsWidth && strings.HasSuffix(plainLine, " │"):
					side, plainLine = &server, plainLine[:len(plainLine)-len(" │")]
				case tt.width < columnsWidth && strings.HasPrefix(plainLine, "server │ "):
					side, plainLine = &server, strings.TrimPrefix(plainLine, "server │ ")
				case tt.width < columnsWidth && strings.HasPrefix(plainLine, "client │ "):
					side, plainLine = &client, strings.TrimPrefix(plainLine, "client │ ")
				case strings.HasPrefix(plainLine, "  server ") || strings.HasPrefix(plainLine, "───"):
					continue // the columns' names
				default:
					t.Errorf("a line is in neither column: %q", plainLine)
					continue
				}
				side.WriteString(strings.TrimPrefix(strings.TrimSpace(plainLine), continued))
			}
			for name, got := range map[string]string{"server": server.String(), "client": client.String()} {
				if want := "prints" + message; strings.ReplaceAll(got, " ", "") != want {
					t.Errorf("the %s's pieces put together are %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestAutoDemoColumnsUseAWideTerminal: on a terminal wider than the 100
// columns output is wrapped at, the demo's two columns grow with it, up to
// maxColumnWidth each: lines are wider than 100 and none, the header's
// rule with them, is wider than the terminal, and every line of the columns has its separator where the
// header puts it. On a terminal too narrow for the tutorial's longest
// lines of Python, one may run over the separator.
func TestAutoDemoColumnsUseAWideTerminal(t *testing.T) {
	for _, tt := range []struct {
		columns   int
		separator int  // the column, from 0, of the header's ┼
		runsOver  bool // a line may run over the separator
	}{
		{100, 49, true},
		{101, 50, true}, // an odd width: the header's rule ends where the columns do
		{120, 59, true},
		{140, 69, false},
		{200, 81, false},
	} {
		t.Run(fmt.Sprintf("%d columns", tt.columns), func(t *testing.T) {
			var out bytes.Buffer
			s := New(&out, Options{Width: Width(tt.columns), Columns: tt.columns})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Eval(ctx, "auto demo --port 0"); err != nil {
				t.Fatalf("auto demo: %v\n%s", err, out.String())
			}
			s.Close()
			lines := strings.Split(out.String(), "\n")
			header := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "┼") })
			if header < 0 {
				t.Fatalf("no header:\n%s", out.String())
			}
			if got := strings.Index(lines[header], "┼") / len("─"); got != tt.separator {
				t.Errorf("the header's separator is at column %d, want %d: %q", got, tt.separator, lines[header])
			}
			widest := 0
			for _, l := range lines[header:] {
				if l == "" {
					break // the summary follows, under both columns
				}
				row := []rune(l)
				widest = max(widest, len(row))
				if len(row) > tt.columns {
					t.Errorf("a line is %d columns wide, more than the terminal's %d: %q", len(row), tt.columns, l)
				}
				if !tt.runsOver && (len(row) <= tt.separator || !strings.ContainsRune("│┼", row[tt.separator])) {
					t.Errorf("a line has no separator at column %d: %q", tt.separator, l)
				}
			}
			if tt.columns > 100 && widest <= 100 {
				t.Errorf("the widest line is %d columns, on a terminal of %d", widest, tt.columns)
			}
		})
	}
}
