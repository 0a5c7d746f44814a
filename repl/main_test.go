package repl

import (
	"testing"

	"sockstep/internal/kerneltest"
)

// TestMain stops at once, saying why, when the kernel cannot show a
// connection in TIME_WAIT (its table is full), rather than let the tests
// that watch one fail one by one.
func TestMain(m *testing.M) { kerneltest.Main(m) }
