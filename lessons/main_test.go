package lessons

import (
	"testing"

	"sockstep/internal/kerneltest"
	"sockstep/steps"
)

// TestMain stops at once, saying why, when the kernel cannot show a
// connection in TIME_WAIT (its table is full), rather than let the tests
// that watch one fail one by one. Host names are looked up in /etc/hosts
// alone: a name not there has no address, and no DNS query leaves.
func TestMain(m *testing.M) {
	steps.Resolver = kerneltest.NoDNS // tests send nothing off this machine
	kerneltest.Main(m)
}
