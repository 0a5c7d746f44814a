package lessons

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A lesson that finds its port taken, and no two free ports side by side
// after it, says which ports it looked at; every pair of them is taken,
// as binds there show.
func TestLessonWithNoFreePairSaysWhereItLooked(t *testing.T) {
	l := newLab(t, "")
	// Every other port, from the lesson's own on, leaves no pair free.
	for p := l.port; p <= l.port+portTries+2; p += 2 {
		fd := mustSocket(t)
		if unix.Bind(fd, &unix.SockaddrInet4{Port: int(p)}) == nil {
			unix.Listen(fd, 1)
		}
	}
	l.enter("lesson 1")
	if l.tutor.play.port != l.port {
		t.Fatalf("the lesson moved to port %d, though no pair was free:\n%s", l.tutor.play.port, l.out)
	}
	want := fmt.Sprintf("Port %d is taken: a socket listens there. No two ports side by side are free from %d to %d either, so this lesson keeps port %d,", l.port, l.port+1, l.port+portTries, l.port)
	if !strings.Contains(strings.Join(strings.Fields(l.out.String()), " "), want) {
		t.Fatalf("the lesson does not say %q:\n%s", want, l.out)
	}
	for p := l.port + 1; p < l.port+portTries; p++ {
		if canBind(p) && canBind(p+1) {
			t.Errorf("ports %d and %d are both free, yet the lesson says no pair up to %d is", p, p+1, l.port+portTries)
		}
	}
}
