package repl

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"sockstep/internal/golden"
	"sockstep/steps"
)

// TestDiagramGolden plays each testdata/diagram/*.cmds on live loopback
// sockets and draws the session's history at 80 columns, without colour,
// against the .golden file beside it. {{PORT}} and {{PORT2}} are ports
// that were free a moment before. Run `go test ./repl -run Golden -update`
// to rewrite the golden files, and review the diff.
func TestDiagramGolden(t *testing.T) {
	scripts, err := filepath.Glob("testdata/diagram/*.cmds")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no diagram scripts found: %v", err)
	}
	for _, script := range scripts {
		name := strings.TrimSuffix(filepath.Base(script), ".cmds")
		t.Run(name, func(t *testing.T) {
			history, ports := playHistory(t, script)
			got := drawDiagram(canonical(history, ports...), 0, defaultLast, 80, newStyle(false))
			checkPicture(t, got, 80)
			compareGolden(t, strings.TrimSuffix(script, ".cmds")+".golden", got)
			coloured := drawDiagram(canonical(history, ports...), 0, defaultLast, 80, newStyle(true))
			checkColourOnlyDecorates(t, coloured, got)
		})
	}
}

// playHistory runs a script of commands on a session and returns its
// history, with the ports it put in for {{PORT}} and {{PORT2}}.
func playHistory(t *testing.T, script string) ([]steps.Event, []int) {
	t.Helper()
	text, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	port, port2 := freePort(t), freePort(t)
	for port2 == port {
		port2 = freePort(t)
	}
	lines := strings.NewReplacer("{{PORT}}", strconv.Itoa(port), "{{PORT2}}", strconv.Itoa(port2)).Replace(string(text))
	s := New(io.Discard, Options{Width: 80})
	defer s.Close()
	for _, line := range strings.Split(lines, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			s.Eval(context.Background(), line) // a refused call is part of the picture
		}
	}
	return s.lab.History(), []int{port, port2}
}

var (
	firstFD  = regexp.MustCompile(`^(\w+)\((\d+)`)
	resultFD = regexp.MustCompile(`^((?:socket|accept)\(.*?\) = )(\d+)`)
	portRef  = regexp.MustCompile(`(\d\.\d+|\]):(\d+)`)
)

// canonical makes a live history the same on every run, before it is laid
// out (so the golden file does not depend on how many digits a number
// had): fds are renumbered 3, 4, … in order of appearance, the test's
// ports become 8081 and 8082, and other ports 50001, 50002, ….
func canonical(history []steps.Event, ports ...int) []steps.Event {
	fds := map[string]string{}
	fd := func(n string) string {
		if _, ok := fds[n]; !ok {
			fds[n] = strconv.Itoa(3 + len(fds))
		}
		return fds[n]
	}
	known := map[string]string{}
	var bare []string
	for i, p := range ports {
		known[strconv.Itoa(p)] = strconv.Itoa(8081 + i)
		bare = append(bare, strconv.Itoa(p), strconv.Itoa(8081+i))
	}
	others := map[string]string{}
	port := func(p string) string {
		if k, ok := known[p]; ok {
			return k
		}
		if _, ok := others[p]; !ok {
			others[p] = strconv.Itoa(50001 + len(others))
		}
		return others[p]
	}
	address := func(text string) string {
		return portRef.ReplaceAllStringFunc(text, func(m string) string {
			i := strings.LastIndexByte(m, ':')
			return m[:i+1] + port(m[i+1:])
		})
	}
	out := make([]steps.Event, len(history))
	for i, e := range history {
		call := resultFD.ReplaceAllStringFunc(e.Call, func(m string) string {
			sub := resultFD.FindStringSubmatch(m)
			return sub[1] + fd(sub[2])
		})
		call = firstFD.ReplaceAllStringFunc(call, func(m string) string {
			sub := firstFD.FindStringSubmatch(m)
			return sub[1] + "(" + fd(sub[2])
		})
		call = strings.NewReplacer(bare...).Replace(address(call)) // the port inside a message, too
		e.Call = call
		e.Packets = nil
		for _, p := range history[i].Packets {
			e.Packets = append(e.Packets, steps.Packet{From: address(p.From), To: address(p.To), What: p.What})
		}
		out[i] = e
	}
	return out
}

// compareGolden compares got with a golden file, or rewrites the file
// with -update.
func compareGolden(t *testing.T, file, got string) {
	t.Helper()
	golden.Compare(t, file, got, *update)
}

// checkPicture fails the test if a line of out is wider than width
// columns, counting a rune as one (box drawing is one column), or holds a
// control character.
func checkPicture(t *testing.T, out string, width int) {
	t.Helper()
	for i, line := range strings.Split(out, "\n") {
		if n := len([]rune(line)); n > width {
			t.Errorf("line %d is %d columns wide, more than %d: %q", i+1, n, width, line)
		}
		if strings.IndexFunc(line, unicode.IsControl) >= 0 {
			t.Errorf("line %d holds a control character: %q", i+1, line)
		}
	}
}

var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// checkColourOnlyDecorates fails the test unless coloured is plain with
// SGR sequences added, and has some.
func checkColourOnlyDecorates(t *testing.T, coloured, plain string) {
	t.Helper()
	if !strings.Contains(coloured, "\x1b[") {
		t.Errorf("the coloured output has no colour:\n%s", coloured)
	}
	if got := sgr.ReplaceAllString(coloured, ""); got != plain {
		t.Errorf("with its colour taken out, the coloured output differs from the plain one:\n%s", golden.Diff(plain, got))
	}
}

// TestDiagramRefusedConnect checks that a connect nobody answers is drawn
// as a failed call, a SYN to the port and a RST back.
func TestDiagramRefusedConnect(t *testing.T) {
	var out strings.Builder
	s := New(&out, Options{Width: 80})
	defer s.Close()
	port := strconv.Itoa(freePort(t))
	for _, line := range []string{"socket as client", "connect client 127.0.0.1 " + port} {
		s.Eval(context.Background(), line)
	}
	out.Reset()
	if err := s.Eval(context.Background(), "diagram"); err != nil {
		t.Fatalf("diagram: %v\n%s", err, out.String())
	}
	lines := strings.Split(out.String(), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`✗ connect\(\d+, 127\.0\.0\.1:` + port + `\) = -1 ECONNREFUSED`),
		regexp.MustCompile(`│─+SYN─+▶│`),
		regexp.MustCompile(`│◀─+RST─+│`),
	}
	next := 0
	for _, line := range lines {
		if next < len(want) && want[next].MatchString(line) {
			next++
		}
	}
	if next < len(want) {
		t.Errorf("no line matches %q after the ones before it:\n%s", want[next], out.String())
	}
	_, rows, _ := strings.Cut(out.String(), "\n\n")
	if names, _, _ := strings.Cut(rows, "\n"); !strings.Contains(names, "127.0.0.1:"+port) {
		t.Errorf("got names %q, want the refusing address among them", names)
	}
}

func TestDiagramCommand(t *testing.T) {
	tests := []struct {
		line string
		want string // a line the output has
	}{
		{"diagram", "  the session's 3 calls, oldest first"},
		{"diagram --last 2", "  the last 2 of the session's 3 calls, oldest first (`diagram --last 3` draws"},
		{"diagram --last=1", "  the last 1 of the session's 3 calls, oldest first (`diagram --last 3` draws"},
		{"diagram --last 0", `  ✗ --last takes a number of calls, 1 or more, not "0"`},
		{"diagram --last", "  ✗ diagram takes only --last N, the number of latest calls to draw"},
		{"diagram server", "  ✗ diagram takes only --last N, the number of latest calls to draw"},
	}
	var out strings.Builder
	s := New(&out, Options{Width: 80})
	defer s.Close()
	for _, line := range []string{"socket as server", "bind server 127.0.0.1 0", "listen server"} {
		if err := s.Eval(context.Background(), line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			out.Reset()
			s.Eval(context.Background(), tt.line)
			if !strings.Contains("\n"+out.String(), "\n"+tt.want+"\n") {
				t.Errorf("got %q, want a line %q", out.String(), tt.want)
			}
		})
	}
}

func TestDiagramEmpty(t *testing.T) {
	got := drawDiagram(nil, 0, defaultLast, 80, newStyle(false))
	want := "  no calls yet: the diagram starts with the first one (try `socket as server`)\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// A call that names no socket has no lane to go on.
	got = drawDiagram([]steps.Event{{Call: "socket() = -1 EMFILE", Failed: true}}, 0, defaultLast, 80, newStyle(false))
	if strings.Contains(got, "EMFILE") {
		t.Errorf("got %q, want the call without a socket left out", got)
	}
}

// call is an event for the tests below, made by socket on a socket.
func call(socket, text string, packets ...steps.Packet) steps.Event {
	return steps.Event{Socket: socket, Call: text, Packets: packets}
}

// TestDiagramLanes checks which sockets get a lane: in order of first
// appearance, with an outside address among them, and when there are more
// than fit, those used most recently.
func TestDiagramLanes(t *testing.T) {
	many := []steps.Event{call("a", "socket() = 3")}
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		many = append(many, call(n, "socket() = 4"))
	}
	many = append(many, call("a", "close(3) = 0"))
	tests := []struct {
		name      string
		events    []steps.Event
		width     int
		wantLanes []string
		wantOut   []string
	}{
		{
			name: "first appearance",
			events: []steps.Event{
				call("x", "socket() = 3"),
				call("x", "connect(3, 127.0.0.1:1) = -1 ECONNREFUSED (errno 111)",
					steps.Packet{From: "x", To: "127.0.0.1:1", What: "SYN"}, steps.Packet{From: "127.0.0.1:1", To: "x", What: "RST"}),
				call("y", "socket() = 4"),
			},
			width:     80,
			wantLanes: []string{"x", "127.0.0.1:1", "y"},
		},
		{"most recent fit", many, 80, []string{"a", "d", "e", "f", "g", "h"}, []string{"b", "c"}},
		{"narrower", many, 40, []string{"a", "g", "h"}, []string{"b", "c", "d", "e", "f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &diagram{width: tt.width, x: map[string]int{}, closed: map[string]bool{}}
			out := d.chooseLanes(tt.events)
			if !reflect.DeepEqual(d.lanes, tt.wantLanes) || !reflect.DeepEqual(out, tt.wantOut) {
				t.Errorf("got lanes %q, left out %q; want %q, %q", d.lanes, out, tt.wantLanes, tt.wantOut)
			}
			last := d.x[d.lanes[len(d.lanes)-1]]
			if last+d.spacing/2 > tt.width-1 {
				t.Errorf("the last lane is at column %d, too far right for its name in %d columns", last, tt.width)
			}
			got := drawDiagram(tt.events, 0, defaultLast, tt.width, newStyle(false))
			checkPicture(t, got, tt.width)
			for _, name := range tt.wantOut {
				if !strings.Contains(got, name+",") && !strings.Contains(got, name+":") {
					t.Errorf("the diagram does not say that %s was left out:\n%s", name, got)
				}
			}
		})
	}
}

// TestDiagramRows checks the rows of small histories drawn at 60 columns:
// the marks, the arrows and their labels, dotted lanes after close, and
// the window of --last.
func TestDiagramRows(t *testing.T) {
	syn := steps.Packet{From: "c", To: "s", What: "SYN"}
	tests := []struct {
		name   string
		events []steps.Event
		last   int
		want   []string // the rows under the names
	}{
		{
			name:   "a call on each side and a SYN between",
			events: []steps.Event{call("s", "listen(3, 1) = 0"), call("c", "connect(4, x) = 0", syn)},
			last:   defaultLast,
			want: []string{
				"         │               │",
				"         ● listen(3, 1) = 0", // covers the lane it reaches
				"         │               ● connect(4, x) = 0",
				"         │◀─────SYN──────│",
			},
		},
		{
			name: "a label too long goes beside its arrow",
			events: []steps.Event{call("c", "sendto(4) = 17",
				steps.Packet{From: "c", To: "s", What: "datagram 17 bytes"})},
			last: defaultLast,
			want: []string{
				"         │               │",
				"         ● sendto(4) = 17",
				"         │──────────────▶│ datagram 17 bytes",
			},
		},
		{
			name: "a failed call, a closed lane, a RST",
			events: []steps.Event{
				{Socket: "c", Call: "send(4) = -1 EPIPE", Failed: true},
				call("c", "close(4) = 0", steps.Packet{From: "c", To: "s", What: "RST"}),
				call("s", "recv(3) = 0"),
			},
			last: defaultLast,
			want: []string{
				"         │               │",
				"         ✗ send(4) = -1 EPIPE",
				"         ● close(4) = 0  │",
				"         ┊─────RST──────▶│",
				"         ┊               ● recv(3) = 0",
			},
		},
		{
			name: "a packet a socket sends itself",
			events: []steps.Event{
				call("s", "socket() = 3"),
				call("c", "connect(4, x) = 0", steps.Packet{From: "c", To: "c", What: "SYN"}),
			},
			last: defaultLast,
			want: []string{
				"         │               │",
				"         ● socket() = 3  │",
				"         │               ● connect(4, x) = 0",
				"         │               ↺ SYN to itself",
			},
		},
		{
			name: "a lane closed before the window stays dotted",
			events: []steps.Event{
				call("c", "close(4) = 0", steps.Packet{From: "c", To: "s", What: "FIN"}),
				call("s", "close(3) = 0", steps.Packet{From: "s", To: "c", What: "FIN"}),
			},
			last: 1,
			want: []string{
				"         │               ┊",
				"         ● close(3) = 0  ┊",
				"         ┊─────FIN──────▶┊",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := drawDiagram(tt.events, 0, tt.last, 60, newStyle(false))
			_, rows, _ := strings.Cut(got, "\n\n")
			lines := strings.Split(rows, "\n")[1:] // under the names
			if len(lines) < len(tt.want) || !reflect.DeepEqual(lines[:len(tt.want)], tt.want) {
				t.Errorf("got rows\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestShorten(t *testing.T) {
	tests := []struct {
		text  string
		width int
		want  string
	}{
		{"listen(3, 128) = 0", 18, "listen(3, 128) = 0"},
		{`send(5, "You are connected", 17) = 17`, 30, `send(5, "You are c…", 17) = 17`},
		{"connect(8, 127.0.0.1:8081) = -1 ECONNREFUSED (errno 111)", 50, "connect(8, 127.0.0…) = -1 ECONNREFUSED (errno 111)"},
		{"connect(8, 127.0.0.1:8081) = -1 ECONNREFUSED (errno 111)", 33, "connect(8, 12…) = -1 ECONNREFUSED"},
		{"accept(3) = 5  peer 127.0.0.1:51732", 20, "accept(3) = 5  peer…"},
		{`send(5, "ab", 2) = 2`, 12, `send(5…) = 2`},
		{"getsockopt(3, …) for each option", 10, "getsockop…"},
		{"anything", 0, ""},
	}
	for _, tt := range tests {
		got := shorten(tt.text, tt.width)
		if got != tt.want {
			t.Errorf("shorten(%q, %d): got %q, want %q", tt.text, tt.width, got, tt.want)
		}
		if n := len([]rune(got)); n > tt.width {
			t.Errorf("shorten(%q, %d) is %d runes long", tt.text, tt.width, n)
		}
	}
}

func TestOneColumn(t *testing.T) {
	tests := []struct{ text, want string }{
		{`send(3, "héllo", 6) = 6`, `send(3, "héllo", 6) = 6`},
		{"a … b — c → d", "a … b — c → d"},
		{"日本", `\u65e5\u672c`},
		{"e\u0301", `e\u0301`},           // a combining accent takes no column
		{"\u05e9\u05dc", `\u05e9\u05dc`}, // Hebrew runs right to left
		{"☕", `\u2615`},                  // an emoji, two columns wide
	}
	for _, tt := range tests {
		if got := oneColumn(tt.text); got != tt.want {
			t.Errorf("oneColumn(%q): got %q, want %q", tt.text, got, tt.want)
		}
	}
}

// TestDiagramWideText checks that a call with text that may be drawn two
// columns wide is escaped, and every line stays within the width.
func TestDiagramWideText(t *testing.T) {
	events := []steps.Event{call("s", `send(3, "日本語のテキスト日本語のテキスト", 48) = 48`)}
	got := drawDiagram(events, 0, defaultLast, 80, newStyle(false))
	checkPicture(t, got, 80)
	if !strings.Contains(got, `\u65e5`) {
		t.Errorf("got %q, want the wide runes escaped", got)
	}
}

func TestDiagramComplete(t *testing.T) {
	s := New(io.Discard, Options{})
	defer s.Close()
	tests := []struct {
		line string
		want []string
	}{
		{"diag", []string{"diagram"}},
		{"diagram ", []string{"--last"}},
		{"help dia", []string{"diagram"}},
	}
	for _, tt := range tests {
		if got, _ := s.Complete(tt.line); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Complete(%q): got %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestDiagramCountsTheCallsItForgot: a long session keeps only its latest
// calls for the diagram, whose heading counts every call the session made
// and says how many it can still draw, however many were typed.
func TestDiagramCountsTheCallsItForgot(t *testing.T) {
	var out strings.Builder
	s := New(&out, Options{Narration: Off})
	defer s.Close()
	port := freePort(t)
	bg := context.Background()
	lines := []string{"socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
		"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept server as conn"}
	for range 300 {
		lines = append(lines, "send client hi", "recv conn")
	}
	mustEval(t, s, lines...)
	kept := len(s.Lab().History())
	if kept >= len(lines) {
		t.Fatalf("the lab kept all %d calls; the test needs more than it keeps", kept)
	}
	tests := []struct{ line, want string }{
		{"diagram", fmt.Sprintf("the last %d of the session's %d calls, oldest first; sockstep keeps the last %d (`diagram --last %d` draws those)", defaultLast, len(lines), kept, kept)},
		{fmt.Sprintf("diagram --last %d", len(lines)), fmt.Sprintf("the last %d of the session's %d calls, oldest first: sockstep keeps no more", kept, len(lines))},
	}
	for _, tt := range tests {
		out.Reset()
		s.Eval(bg, tt.line)
		if got := strings.Join(strings.Fields(out.String()), " "); !strings.Contains(got, tt.want) {
			t.Errorf("%s: got\n%s\nwant the heading %q", tt.line, out.String(), tt.want)
		}
	}
}
