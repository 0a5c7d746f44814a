package repl

import (
	"bytes"
	"context"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	codeSpan = regexp.MustCompile("`([^`]+)`")
	flagWord = regexp.MustCompile(`--[a-z][a-z-]*`)
)

// TestReadmeFlags: the README's command reference gives each command the
// flags its usage in the shell has, no more and no fewer: the table's
// first column, and the lines of auto's flags.
func TestReadmeFlags(t *testing.T) {
	text, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string][]string{}
	note := func(form string) {
		name, _, _ := strings.Cut(strings.TrimSpace(form), " ")
		documented[name] = append(documented[name], flagWord.FindAllString(form, -1)...)
	}
	auto := ""
	for _, line := range strings.Split(string(text), "\n") {
		switch {
		case strings.HasPrefix(line, "| `"):
			first, _, _ := strings.Cut(line[2:], " | ")
			for _, m := range codeSpan.FindAllStringSubmatch(first, -1) {
				note(m[1])
			}
		case strings.HasPrefix(line, "    auto "):
			auto = line
			note(line)
		case auto != "" && strings.HasPrefix(line, "                ["):
			note("auto " + line) // a continued line of auto's flags
		}
	}
	for _, c := range commands {
		got, ok := documented[c.name]
		if !ok {
			continue
		}
		want := flagWord.FindAllString(c.usage, -1)
		slices.Sort(got)
		slices.Sort(want)
		if got, want := slices.Compact(got), slices.Compact(want); !slices.Equal(got, want) {
			t.Errorf("README gives %s the flags %q; its usage has %q", c.name, got, want)
		}
	}
	if len(documented["send"]) == 0 || len(documented["auto"]) == 0 {
		t.Errorf("found no flags of send or auto in README.md: %q", documented)
	}
}

// readmeSends is an example in the README of how words are read: a send
// command and what it sends.
var readmeSends = regexp.MustCompile("`(send c [^`]*)` sends (?:`([^`]*)`|(nothing))")

// TestReadmeSaysHowWordsAreRead types each `send c …` example of the
// README on a UDP socket connected to the test's own, and checks that the
// datagram the kernel delivers holds what the README says it sends.
func TestReadmeSaysHowWordsAreRead(t *testing.T) {
	text, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := readmeSends.FindAllStringSubmatch(collapseSpaces(string(text)), -1)
	if len(examples) < 5 {
		t.Fatalf("README.md gives %d examples of what a send command sends, want at least 5", len(examples))
	}
	peer, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	var out bytes.Buffer
	s := New(&out, Options{})
	defer s.Close()
	ctx := context.Background()
	for _, line := range []string{"socket udp as c", "connect c " + strings.Replace(peer.LocalAddr().String(), ":", " ", 1)} {
		if err := s.Eval(ctx, line); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out.String())
		}
	}
	buf := make([]byte, 1024)
	for _, ex := range examples {
		command, want := ex[1], ex[2]
		if err := s.Eval(ctx, command); err != nil {
			t.Errorf("%s: %v\n%s", command, err, out.String())
			continue
		}
		peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := peer.ReadFrom(buf)
		if err != nil {
			t.Fatalf("%s: nothing arrived: %v", command, err)
		}
		if got := string(buf[:n]); got != want {
			t.Errorf("README says `%s` sends %q; the peer got %q", command, want, got)
		}
	}
}

// collapseSpaces turns a line break and the indent after it into one
// space, so that an example the README wraps is read whole; runs of
// spaces within a line stay.
func collapseSpaces(s string) string {
	return regexp.MustCompile(`\n\s*`).ReplaceAllString(s, " ")
}
