package repl

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// exhaustFDs leaves this process no file descriptor to open: it lowers
// the limit of open files to at most 1024 and fills every number free
// below it. The returned function closes them and puts the limit back.
func exhaustFDs(t testing.TB) (release func()) {
	t.Helper()
	var was unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &was); err != nil {
		t.Fatal(err)
	}
	low := was
	low.Cur = min(was.Cur, 1024)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var held []int
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		held = append(held, fd)
	}
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		for _, fd := range held {
			unix.Close(fd)
		}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &was); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(release)
	return release
}

// TestPortsWithoutDescriptors: with no file descriptor left, ports cannot
// open the kernel's tables; it says so with the errno the kernel gave, and
// what to do, and fails. Once one is free, it reads them again.
func TestPortsWithoutDescriptors(t *testing.T) {
	var out strings.Builder
	s := New(&out, Options{Narration: Full})
	defer s.Close()
	bg := context.Background()
	s.Eval(bg, "socket as s")

	release := exhaustFDs(t)
	_, kernel := os.Open("/proc/net/tcp")
	if !errors.Is(kernel, unix.EMFILE) {
		release()
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
