package prosetest

import "testing"

func TestFlaw(t *testing.T) {
	tests := []struct {
		text, want string
	}{
		{"TCP carries them to . 3 bytes are not acknowledged.", `a hole where a value is missing: "to ."`},
		{"the peer at  closed its side", `a hole where a value is missing: "  c"`},
		{"sent from , answer it", `a hole where a value is missing: " ,"`},
		{"the state is now ( ) here", `a hole where a value is missing: " ( )"`},
		{"it waits here . Then", `a hole where a value is missing: "e . "`},
		{"The kernel sent one datagram of 1 bytes to 127.0.0.1:9.", `a count of one in the plural: "1 bytes"`},
		{"The 1 connections still waiting were reset.", `a count of one in the plural: "1 connections"`},
		{"in 1 send calls of at most 64 KiB", `a count of one in the plural: "1 send calls"`},
		{"after 1 seconds", `a count of one in the plural: "1 seconds"`},
		{"1 byte, and 2 bytes", ""},
		{"recv returned 1 byte; 11 bytes stay, and 21 times", ""},
		{"The server has not called listen() yet.", ""},
		{"TCP carries them to 127.0.0.1:8081. They wait.", ""},
		{"recv returned 0 bytes (the peer closed).", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Flaw(tt.text); got != tt.want {
			t.Errorf("Flaw(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
