package steps

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// run runs one step on the lab and fails the test on a usage error.
func run(t *testing.T, l *Lab, st *Step, args ...string) *Report {
	t.Helper()
	rep, err := st.Run(context.Background(), l, args)
	if err != nil {
		t.Fatalf("%s %s: %v", st.Name, strings.Join(args, " "), err)
	}
	return rep
}

// A client whose connect was refused connects once a server listens, as
// after a refused blocking connect in C or Python.
func TestConnectAgainAfterRefused(t *testing.T) {
	l := NewLab()
	defer l.CloseAll()
	run(t, l, SocketStep, "as", "server")
	run(t, l, BindStep, "server", "127.0.0.1", "0")
	server, _ := l.Find("server")
	port := Read(server).Local.Port()
	run(t, l, SocketStep, "as", "client")
	// Nothing listens yet: the bound socket refuses.
	if rep := run(t, l, ConnectStep, "client", "127.0.0.1", strconv.Itoa(int(port))); rep.Failure == nil || rep.Failure.Name != "ECONNREFUSED" {
		t.Fatalf("connect before listen: got %q, want ECONNREFUSED", rep.Call)
	}
	run(t, l, ListenStep, "server")
	if rep := run(t, l, ConnectStep, "client", "127.0.0.1", strconv.Itoa(int(port))); rep.Failure != nil {
		t.Fatalf("connect after listen: got %q, want success", rep.Call)
	}
	client, _ := l.Find("client")
	if got := Read(client).State; got != Established {
		t.Errorf("client state: got %s, want ESTABLISHED", got)
	}
}
