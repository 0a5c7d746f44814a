package lessons

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeNamesEveryCheck: the table of checks in README.md, which
// teachers write lessons from, gives forms that parse, and names every
// check with each word it takes.
func TestReadmeNamesEveryCheck(t *testing.T) {
	text, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	placeholder := strings.NewReplacer("ERRNO", "ECONNREFUSED", "COMMAND", "sockets", "NAME", "SO_REUSEADDR", "N", "1")
	span := regexp.MustCompile("`([^`]+)`")
	var forms []string
	for _, line := range strings.Split(string(text), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first, _, _ := strings.Cut(line[1:], " | ")
		for _, m := range span.FindAllStringSubmatch(first, -1) {
			form := placeholder.Replace(m[1])
			if _, err := parseCheck(form); err != nil {
				t.Errorf("README.md gives the check `%s`, which does not parse: %v", m[1], err)
			}
			forms = append(forms, strings.Join(strings.Fields(form), " "))
		}
	}
	for _, d := range checks {
		words := append(slices.Clone(d.words), d.sides...)
		if len(words) == 0 {
			words = []string{""}
		}
		for _, w := range words {
			documented := slices.ContainsFunc(forms, func(form string) bool {
				fields := strings.Fields(form)
				return fields[0] == d.name && (w == "" || slices.Contains(fields[1:], w))
			})
			if !documented {
				t.Errorf("README.md's table of checks does not give `%s %s`", d.name, w)
			}
		}
	}
}
