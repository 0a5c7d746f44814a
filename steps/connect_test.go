package steps

import "testing"

// A client whose connect was refused connects once a server listens, as
// after a refused blocking connect in C or Python.
func TestConnectAgainAfterRefused(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "as", "server")
	run(t, l, "bind", "server", "127.0.0.1", "0")
	port := portOf(t, l, "server")
	run(t, l, "socket", "as", "client")
	// Nothing listens yet: the bound socket refuses.
	if rep, _ := try(t, l, "connect", "client", "127.0.0.1", port); rep == nil || rep.Failure == nil || rep.Failure.Name != "ECONNREFUSED" {
		t.Fatalf("connect before listen: got %+v, want ECONNREFUSED", rep)
	}
	run(t, l, "listen", "server")
	run(t, l, "connect", "client", "127.0.0.1", port)
	client, _ := l.Find("client")
	if got := Read(client).State; got != Established {
		t.Errorf("client state: got %s, want ESTABLISHED", got)
	}
}
