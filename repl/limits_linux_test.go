package repl

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"sockstep/internal/kerneltest"
)

// TestPortsWithoutDescriptors: with no file descriptor left, ports cannot
// open the kernel's tables; it says so with the errno the kernel gave, and
// what to do, and fails. Once one is free, it reads them again.
func TestPortsWithoutDescriptors(t *testing.T) {
	s, out := fullSession(t)
	bg := context.Background()
	mustEval(t, s, "socket as s")

	release := kerneltest.ExhaustFDs(t)
	_, kernel := os.Open("/proc/net/tcp")
	if !errors.Is(kernel, unix.EMFILE) {
		t.Fatalf("opening /proc/net/tcp with the descriptors filled: got %v, want EMFILE", kernel)
	}
	out.Reset()
	err := s.Eval(bg, "ports")
	release()
	got := out.String()
	for _, want := range []string{"✗ sockstep could not read the kernel's tables (EMFILE)", kernel.Error(), "descriptor", "`sockets` lists"} {
		if !strings.Contains(strings.Join(strings.Fields(got), " "), want) {
			t.Errorf("ports without descriptors: got\n%s\nwant %q", got, want)
		}
	}
	if !errors.Is(err, ErrFailed) {
		t.Errorf("ports without descriptors returned %v, want ErrFailed", err)
	}
	out.Reset()
	if err := s.Eval(bg, "ports"); err != nil || !strings.Contains(out.String(), "PROTO") {
		t.Errorf("ports with descriptors free again: %v\n%s", err, out.String())
	}
}
