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

func TestOnePlural(t *testing.T) {
	tests := []struct {
		text, want string
	}{
		{"The kernel sent one datagram of 1 bytes to 127.0.0.1:9.", "1 bytes"},
		{"The 1 connections still waiting were reset.", "1 connections"},
		{"in 1 send calls of at most 64 KiB", "1 send calls"},
		{"1 byte, and 2 bytes", ""},
		{"recv returned 1 byte; 11 bytes stay, and 21 times", ""},
		{"after 1 seconds", "1 seconds"},
	}
	for _, tt := range tests {
		if got := OnePlural(tt.text); got != tt.want {
			t.Errorf("OnePlural(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
