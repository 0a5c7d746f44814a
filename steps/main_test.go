package steps

import (
	"fmt"
	"os"
	"testing"

	"sockstep/internal/kerneltest"
)

// TestMain stops at once, saying why, when the kernel cannot show a
// connection in TIME_WAIT, rather than let the tests that watch one fail
// one by one.
func TestMain(m *testing.M) {
	if err := kerneltest.TimeWaitRoom(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
