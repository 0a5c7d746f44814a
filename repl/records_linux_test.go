package repl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestRecordsBreakAlike: where `sockets` or `ports` is too wide for a
// table and writes each socket as a record, every record that holds the
// same values breaks its lines in the same places, whatever each value's
// length, so that they read alike, one under the other.
func TestRecordsBreakAlike(t *testing.T) {
	for _, width := range []int{40, 50, 60} {
		for _, family := range []string{"ipv4", "ipv6"} {
			t.Run(fmt.Sprint(width, "/", family), func(t *testing.T) {
				s, out, port, _ := tableSession(t, width, family)
				socks, _ := evalOut(s, out, "sockets")
				ports, _ := evalOut(s, out, fmt.Sprint("ports ", port))
				for _, tc := range []struct {
					out          string
					heads, named []string
					start        *regexp.Regexp
				}{
					{socks, []string{"SOCKET", "PROTO", "STATE"}, []string{"LOCAL", "REMOTE", "RECV-Q", "SEND-Q", "READY"}, regexp.MustCompile(`^  \S+ \(fd \d+\)`)},
					{ports, []string{"PROTO", "STATE", "THIS SESSION"}, []string{"LOCAL", "REMOTE", "RECV-Q", "SEND-Q"}, regexp.MustCompile(`^  (tcp|udp) `)},
				} {
					layouts := recordLayouts(tc.out, tc.heads, tc.named, tc.start)
					if len(layouts) < 2 {
						t.Fatalf("fewer than two records in\n%s", tc.out)
					}
					seen := map[string]string{} // a record's values: the lines they were on
					for _, l := range layouts {
						values := strings.Join(strings.Fields(strings.ReplaceAll(l, "|", " ")), " ")
						if first, ok := seen[values]; ok && first != l {
							t.Errorf("two records with the values %s break as %q and as %q:\n%s", values, first, l, tc.out)
						}
						seen[values] = l
					}
				}
			})
		}
	}
}

// recordLayouts gives, for each record of a table that `sockets` or
// `ports` wrote as records, which values each of its lines holds: those
// of named headings by their heading, the others by the next of unnamed,
// lines apart by "|". start tells a record's first line.
func recordLayouts(out string, unnamed, named []string, start *regexp.Regexp) []string {
	lines := strings.Split(out, "\n")
	var layouts []string
	for i := 0; i < len(lines); i++ {
		if !start.MatchString(lines[i]) {
			continue
		}
		var layout []string
		next := unnamed
		for first := true; first || i < len(lines) && strings.HasPrefix(lines[i], "    "); i++ {
			first = false
			var on []string
			for _, item := range regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(lines[i]), -1) {
				head := slices.IndexFunc(named, func(h string) bool { return strings.HasPrefix(item, h+" ") })
				switch {
				case head >= 0:
					on = append(on, named[head])
				case len(next) > 0:
					on, next = append(on, next[0]), next[1:]
				}
			}
			layout = append(layout, strings.Join(on, " "))
		}
		i--
		layouts = append(layouts, strings.Join(layout, " | "))
	}
	return layouts
}
