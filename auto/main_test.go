package auto_test

import (
	"os"
	"testing"

	"sockstep/internal/kerneltest"
	"sockstep/steps"
)

// TestMain has host names looked up in /etc/hosts alone: a name not there
// has no address, and no DNS query leaves this machine.
func TestMain(m *testing.M) {
	steps.Resolver = kerneltest.NoDNS
	os.Exit(m.Run())
}
