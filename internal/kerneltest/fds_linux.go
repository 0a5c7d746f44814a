//go:build linux

package kerneltest

import (
	"testing"

	"golang.org/x/sys/unix"
)

// ExhaustFDs leaves this process no file descriptor to open, as a program
// that holds as many as it may: it lowers the limit of open files to at
// most 1024 (the usual default) and fills every number free below it. The
// returned function, also run at the test's cleanup, closes them and puts
// the limit back.
func ExhaustFDs(t testing.TB) (release func()) {
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
			if err != unix.EMFILE {
				t.Fatalf("filling the descriptors: %v", err)
			}
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
