package kerneltest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadNumber(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		text, after string
		want        int
		ok          bool
	}{
		{"131072\n", "", 131072, true},
		{"sockets: used 8\nTCP: inuse 1 orphan 0 tw 1412 alloc 1 mem 186\n", "tw", 1412, true},
		{"TCP: inuse 1 orphan 0 alloc 1\n", "tw", 0, false},
		{"TCP: tw\n", "tw", 0, false},
		{"many\n", "", 0, false},
	}
	for i, tt := range tests {
		file := filepath.Join(dir, "f"+string(rune('a'+i)))
		if err := os.WriteFile(file, []byte(tt.text), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, ok := readNumber(file, tt.after); got != tt.want || ok != tt.ok {
			t.Errorf("readNumber(%q, %q) = %d, %v, want %d, %v", tt.text, tt.after, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := readNumber(filepath.Join(dir, "missing"), ""); ok {
		t.Error("a missing file gave a number")
	}
}
