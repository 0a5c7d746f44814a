package golden

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	tests := []struct{ want, got, diff string }{
		{"a\nb\nc", "a\nB\nc", "line 2:\n  want \"b\"\n  got  \"B\"\n"},
		{"a", "a\nextra", "line 2:\n  want \"\"\n  got  \"extra\"\n"},
		{"same", "same", ""},
	}
	for _, tt := range tests {
		if got := Diff(tt.want, tt.got); got != tt.diff {
			t.Errorf("Diff(%q, %q) = %q, want %q", tt.want, tt.got, got, tt.diff)
		}
	}
	twelve := strings.Repeat("x\n", 11) + "x"
	if n := strings.Count(Diff(twelve, strings.ToUpper(twelve)), "line "); n != 10 {
		t.Errorf("twelve lines differ: got %d shown, want the first 10", n)
	}
}
