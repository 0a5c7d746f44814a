package steps

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// settledGoroutines waits briefly for goroutines that are ending to end,
// and returns how many are left once their number reaches want.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	return n
}

// leakCycles is how many whole server/client lifetimes TestNoLeaks plays.
const leakCycles = 10000

// TestNoLeaks plays a whole server/client lifetime again and again
// through the engine and checks that it leaves no descriptor and no
// goroutine behind.
func TestNoLeaks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := newLab(t)
	cycle := [][]string{
		{"socket", "as", "server"},
		{"bind", "server", "127.0.0.1", "0"},
		{"listen", "server"},
		{"socket", "as", "client"},
		{"connect", "client", "127.0.0.1", "PORT", "--timeout", "5s"},
		{"accept", "server", "as", "conn", "--timeout", "5s"},
		// A reset instead of FIN: each lifetime would otherwise leave a
		// connection in TIME_WAIT for a minute, 10,000 of them, which
		// slows every other test that reads the kernel's table.
		{"option", "client", "SO_LINGER", "on", "0"},
		{"close", "all"},
	}
	steps := map[string]*Step{}
	for _, st := range append(Steps(), MoreSteps()...) {
		steps[st.Name] = st
	}
	// The first lifetime opens what the process keeps for good, such as
	// the netlink socket sock_diag is asked through; count from after it.
	var fds, goroutines int
	for i := range leakCycles + 1 {
		if i == 1 {
			fds, goroutines = openFDs(t), runtime.NumGoroutine()
		}
		port := ""
		for _, line := range cycle {
			args := append([]string(nil), line[1:]...)
			for j, a := range args {
				if a == "PORT" {
					args[j] = port
				}
			}
			rep, err := steps[line[0]].Run(ctx, l, args)
			if err != nil || rep.Failed() {
				t.Fatalf("cycle %d: %q: %v %+v", i, line, err, rep)
			}
			checkReport(t, line[0], rep)
			if line[0] == "listen" {
				port = portOf(t, l, "server")
			}
		}
	}
	if n := len(l.Sockets()); n != 0 {
		t.Errorf("got %d sockets in the table, want 0", n)
	}
	if got := openFDs(t); got != fds {
		t.Errorf("got %d open fds after %d cycles, want %d", got, leakCycles, fds)
	}
	if got := settledGoroutines(goroutines); got > goroutines {
		t.Errorf("got %d goroutines after %d cycles, want %d", got, leakCycles, goroutines)
	}
}
