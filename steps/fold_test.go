package steps

import (
	"regexp"
	"strings"
	"testing"
)

// blankLineForTest is a line break, a line of nothing but white space (as
// unicode.IsSpace has it), and a line break.
var blankLineForTest = regexp.MustCompile(`\n[\s\v\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]*\n`)

// foldBySplitting is foldParagraphs written the obvious way, slowly: split
// at blank lines, then join each paragraph's words with single spaces.
func foldBySplitting(s string) string {
	var paras []string
	for _, para := range blankLineForTest.Split(strings.TrimSpace(s), -1) {
		if f := strings.Join(strings.Fields(para), " "); f != "" {
			paras = append(paras, f)
		}
	}
	return strings.Join(paras, "\n")
}

func FuzzFoldParagraphs(f *testing.F) {
	f.Add("one\ntwo\n\nthree  four\n \t\n\n five")
	f.Add("\n\n  lead\n\ntrail  \n\n")
	f.Add("a\u00a0b\r\n\r\nc")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := foldParagraphs(s), foldBySplitting(s); got != want {
			t.Errorf("foldParagraphs(%q) = %q, want %q", s, got, want)
		}
	})
}
