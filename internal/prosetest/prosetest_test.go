package prosetest

import "testing"

func TestHole(t *testing.T) {
	tests := []struct {
		text, want string
	}{
		{"TCP carries them to . 3 bytes are not acknowledged.", "to ."},
		{"the peer at  closed its side", "  c"},
		{"sent from , answer it", " ,"},
		{"the state is now ( ) here", " ( )"},
		{"it waits here . Then", "e . "},
		{"The server has not called listen() yet.", ""},
		{"TCP carries them to 127.0.0.1:8081. They wait.", ""},
		{"recv returned 0 bytes (the peer closed).", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Hole(tt.text); got != tt.want {
			t.Errorf("Hole(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
