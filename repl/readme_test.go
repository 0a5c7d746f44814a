package repl

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
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
