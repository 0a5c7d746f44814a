package steps

import "testing"

// suggestions are next lines as steps write them, some naming a loopback
// address and most not.
var suggestions = []struct {
	next     string
	loopback bool
}{
	{"listen t", false},
	{"accept server as conn", false},
	{`send c "Hello Server, I have connected on port 8081"`, false},
	{"connect c 10.127.0.1 8081", false},
	{"show c     (to see whether the handshake is done)", false},
	{"bind u ::1 0", true},
	{"connect c 127.0.0.1 8081", true},
	{"recvfrom u     (… then sendto c ::ffff:127.0.0.1 8081 hello)", true},
}

// TestNamesLoopback: a suggestion names a loopback address only where
// one stands as a word of its own.
func TestNamesLoopback(t *testing.T) {
	for _, s := range suggestions {
		if got := namesLoopback(s.next); got != s.loopback {
			t.Errorf("namesLoopback(%q) = %v, want %v", s.next, got, s.loopback)
		}
	}
}

// BenchmarkNamesLoopback measures the look for a loopback address that
// Prose.next makes in every suggestion; a suggestion that names none, the
// common case, should cost no allocation.
func BenchmarkNamesLoopback(b *testing.B) {
	for _, s := range suggestions {
		b.Run(s.next, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				namesLoopback(s.next)
			}
		})
	}
}
