package repl

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"sockstep/steps"

	"golang.org/x/sys/unix"
)

// TestOptionValuesAtEveryLevel: what `option` reads is the call's result,
// as received data is, not narration: at every level the output holds the
// value the kernel has for the option after the command.
func TestOptionValuesAtEveryLevel(t *testing.T) {
	tests := []struct {
		name   string
		before []string // after socket udp as u
		line   string
		opt    int
		shown  func(v int) string // a pattern for the value's line
	}{
		{"one option", nil, "option u SO_RCVBUF", unix.SO_RCVBUF,
			func(v int) string { return fmt.Sprintf(`SO_RCVBUF +%d bytes`, v) }},
		{"one option after setting it", []string{"option u SO_RCVBUF 4096"}, "option u SO_RCVBUF", unix.SO_RCVBUF,
			func(v int) string { return fmt.Sprintf(`SO_RCVBUF +%d bytes`, v) }},
		{"every option", []string{"option u SO_SNDBUF 6000"}, "option u", unix.SO_SNDBUF,
			func(v int) string { return fmt.Sprintf(`SO_SNDBUF +%d bytes`, v) }},
		{"a flag", []string{"option u SO_REUSEADDR on"}, "option u SO_REUSEADDR", unix.SO_REUSEADDR,
			func(v int) string { return `SO_REUSEADDR +` + map[bool]string{true: "on", false: "off"}[v != 0] }},
	}
	for name, level := range narrationNames {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				out := new(strings.Builder)
				s := New(out, Options{Narration: level})
				t.Cleanup(s.Close)
				mustEval(t, s, append([]string{"socket udp as u"}, tt.before...)...)
				got, err := evalOut(s, out, tt.line)
				if err != nil {
					t.Fatalf("%s: %v\n%s", tt.line, err, got)
				}
				v, err := unix.GetsockoptInt(mustFind(t, s, "u").FD, unix.SOL_SOCKET, tt.opt)
				if err != nil {
					t.Fatal(err)
				}
				if want := tt.shown(v); !regexp.MustCompile(want).MatchString(got) {
					t.Errorf("narrate %s, %s: the kernel has %d, want a line matching %q:\n%s", name, tt.line, v, want, got)
				}
			})
		}
	}
}

// openColour is the colour a line leaves on at its end, or "" when each
// colour it sets is reset before the line ends.
func openColour(line string) string {
	var bold, faint, fg bool
	for _, m := range colourCode.FindAllString(line, -1) {
		for _, code := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(m, "\x1b["), "m"), ";") {
			switch n, _ := strconv.Atoi(code); {
			case n == 0:
				bold, faint, fg = false, false, false
			case n == 1:
				bold = true
			case n == 2:
				faint = true
			case n == 22:
				bold, faint = false, false
			case n >= 30 && n <= 37, n >= 90 && n <= 97:
				fg = true
			case n == 39:
				fg = false
			}
		}
	}
	var open []string
	for name, on := range map[string]bool{"bold": bold, "faint": faint, "a foreground colour": fg} {
		if on {
			open = append(open, name)
		}
	}
	return strings.Join(open, ", ")
}

// TestColourEndsWithEachLine: with colour, each line resets every colour
// it sets, so that none runs into the next line or the prompt, whatever
// the width wraps: typed steps, a failed call, received text, and auto's
// lines and summary.
func TestColourEndsWithEachLine(t *testing.T) {
	for _, width := range []int{40, 60, 80, 120} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			out := new(strings.Builder)
			s := New(out, Options{Colour: true, Width: width})
			t.Cleanup(s.Close)
			port, closed := freePort(t), freePort(t)
			mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
				"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept server as conn",
				`send conn "You are connected\r\nand a second line with \x1b[31m in it"`, "recv client", "close all", "socket as c")
			if err := s.Eval(context.Background(), fmt.Sprintf("connect c 127.0.0.1 %d", closed)); err == nil {
				t.Fatalf("connect to the closed port %d: no error", closed)
			}
			mustEval(t, s, "auto demo --port 0")
			if !strings.Contains(out.String(), "\x1b[") {
				t.Fatalf("no colour at all:\n%s", out)
			}
			for _, line := range strings.Split(out.String(), "\n") {
				if open := openColour(line); open != "" {
					t.Errorf("%s is still on at the end of %q", open, line)
				}
			}
		})
	}
}

// TestASessionFitsTheWidth: in a usual session, each line sockstep writes
// about a step (call, prose, state, code, next) fits the terminal's width
// from 60 columns up, so that the terminal never cuts one mid-word at its
// edge. The echoed command and the notices are not the renderer's.
func TestASessionFitsTheWidth(t *testing.T) {
	for _, width := range []int{60, 80, 120} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			out := new(strings.Builder)
			s := New(out, Options{Width: width})
			t.Cleanup(s.Close)
			port := freePort(t)
			mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
				"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept server as conn")
			// Bytes sent with no step, which no report shows: a notice tells of them.
			if _, err := unix.Write(mustFind(t, s, "conn").FD, []byte("news")); err != nil {
				t.Fatal(err)
			}
			arrived(t, mustFind(t, s, "client"), func(snap steps.Snapshot) bool { return snap.RecvQ > 0 })
			mustEval(t, s, "", "send conn hello", "recv client", "send client hello", "recv conn", "close conn", "recv client", "close client", "close server")
			if !strings.Contains(out.String(), "\n· ") {
				t.Fatalf("the session printed no notice, so none was measured:\n%s", out)
			}
			for _, line := range strings.Split(out.String(), "\n") {
				if n := utf8.RuneCountInString(line); n > width {
					t.Errorf("a line is %d columns wide, more than %d: %q", n, width, line)
				}
			}
		})
	}
}

// TestARefusalFitsTheWidth: the ✗ line of a command sockstep refuses is
// wrapped to the terminal's width like the rest, and says, word for word,
// what it says on one line where there is room.
func TestARefusalFitsTheWidth(t *testing.T) {
	refused := []string{
		"bind nosuchsock 1",
		"bind",
		"there_is_no_such_command_here",
		"narrate loud",
	}
	said := func(width int) []string {
		out := new(strings.Builder)
		s := New(out, Options{Width: width})
		defer s.Close() // before the next width's session, which gets the same fds
		mustEval(t, s, "socket as server", "socket as client", "socket tcp ipv6 as third")
		var says []string
		for _, line := range refused {
			got, err := evalOut(s, out, line)
			if err == nil || problemSaid(got) == "" {
				t.Fatalf("%s: got %q (%v), want it refused", line, got, err)
			}
			for _, l := range strings.Split(got, "\n") {
				if n := utf8.RuneCountInString(l); n > width {
					t.Errorf("%s: a line is %d columns wide, more than %d: %q", line, n, width, l)
				}
			}
			says = append(says, problemSaid(got))
		}
		return says
	}
	whole := said(1000)
	for _, width := range []int{40, 60, 80} {
		if got := said(width); !slices.Equal(got, whole) {
			t.Errorf("%d columns: the refusals say\n%q\nwant\n%q", width, got, whole)
		}
	}
}
