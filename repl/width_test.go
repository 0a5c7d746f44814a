package repl

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestHexDumpFitsTheWidth: recv --hex shows the bytes that came, every
// one of them, in lines that fit the terminal wherever a dump's line
// (74 columns) and its mark can: on the usual 80 columns too.
func TestHexDumpFitsTheWidth(t *testing.T) {
	sent := "line one\r\nline two is here and it is long\r\n\x00\xff"
	row := regexp.MustCompile(`│[0-9a-f]{4}  ((?:[0-9a-f]{2} {1,2})+) *\|`)
	for _, width := range []int{77, 80, 84, 100} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			out := new(strings.Builder)
			s := New(out, Options{Width: width})
			t.Cleanup(s.Close)
			port := freePort(t)
			mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
				"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept server as conn",
				"send client "+strconv.Quote(sent))
			got, err := evalOut(s, out, "recv conn --hex")
			if err != nil {
				t.Fatal(err)
			}
			var dumped string
			for _, l := range strings.Split(got, "\n") {
				if n := utf8.RuneCountInString(l); n > width {
					t.Errorf("a line is %d columns wide, more than %d: %q", n, width, l)
				}
				if m := row.FindStringSubmatch(l); m != nil {
					dumped += strings.ReplaceAll(m[1], " ", "")
				}
			}
			if want := hex.EncodeToString([]byte(sent)); dumped != want {
				t.Errorf("the dump holds %s, want %s (what was sent):\n%s", dumped, want, got)
			}
		})
	}
}

// TestCloseAllKeepsEachCallWithItsResult: close all shows one call per
// socket, each with its result; where they need more than one line, the
// lines break between calls, never between a call and its "= 0", and
// each line fits the width.
func TestCloseAllKeepsEachCallWithItsResult(t *testing.T) {
	unit := regexp.MustCompile(`close\((\d+)\) = 0`)
	whole := regexp.MustCompile(`^ {2,4}close\(\d+\) = 0(; close\(\d+\) = 0)*;?$`)
	for _, width := range []int{40, 60, 80, 100} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			out := new(strings.Builder)
			s := New(out, Options{Width: width})
			t.Cleanup(s.Close)
			var fds []string
			for i := range 12 {
				name := fmt.Sprintf("s%d", i)
				mustEval(t, s, "socket as "+name)
				fds = append(fds, strconv.Itoa(mustFind(t, s, name).FD))
			}
			got, err := evalOut(s, out, "close all")
			if err != nil {
				t.Fatal(err)
			}
			var closed []string
			for _, l := range strings.Split(got, "\n") {
				if !strings.Contains(l, "close(") && !strings.HasPrefix(strings.TrimSpace(l), "= ") {
					continue
				}
				if n := utf8.RuneCountInString(l); n > width {
					t.Errorf("a line is %d columns wide, more than %d: %q", n, width, l)
				}
				if !whole.MatchString(l) {
					t.Errorf("a line of the call breaks a call from its result: %q", l)
				}
				for _, m := range unit.FindAllStringSubmatch(l, -1) {
					closed = append(closed, m[1])
				}
			}
			if !slices.Equal(closed, fds) {
				t.Errorf("the calls close %v, want the sockets' fds %v:\n%s", closed, fds, got)
			}
		})
	}
}

// TestLeavingFitsTheWidth: the line a session prints as it closes the
// sockets it still holds is wrapped to the width, as prose is.
func TestLeavingFitsTheWidth(t *testing.T) {
	for _, width := range []int{40, 60, 80} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			out := new(strings.Builder)
			s := New(out, Options{Width: width})
			mustEval(t, s, "socket as a")
			out.Reset()
			s.Close()
			got := out.String()
			if !strings.Contains(strings.Join(strings.Fields(got), " "), "leaving: closing every socket this session still holds") {
				t.Fatalf("got no leaving line:\n%s", got)
			}
			for _, l := range strings.Split(got, "\n") {
				if n := utf8.RuneCountInString(l); n > width {
					t.Errorf("a line is %d columns wide, more than %d: %q", n, width, l)
				}
			}
		})
	}
}
