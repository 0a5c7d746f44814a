package steps

import (
	"context"
	"strconv"
	"testing"
)

// TestClosedEndKeepsItsName checks that after one side of a connection on
// loopback is closed, the FIN the other side sends is drawn to the closed
// socket's name, not to its address.
func TestClosedEndKeepsItsName(t *testing.T) {
	tests := []struct {
		first, second string // closed in this order
	}{
		{"client", "conn"},
		{"conn", "client"},
	}
	for _, tt := range tests {
		t.Run(tt.first+" first", func(t *testing.T) {
			l := NewLab()
			defer l.CloseAll()
			run := func(step *Step, args ...string) {
				t.Helper()
				r, err := l.Run(context.Background(), step, args)
				if err != nil || r.Failed() {
					t.Fatalf("%s %q: %v %+v", step.Name, args, err, r)
				}
			}
			run(SocketStep, "as", "server")
			run(BindStep, "server", "127.0.0.1", "0")
			server, err := l.Find("server")
			if err != nil {
				t.Fatal(err)
			}
			port := strconv.Itoa(int(Read(server).Local.Port()))
			run(ListenStep, "server")
			run(SocketStep, "as", "client")
			run(ConnectStep, "client", "127.0.0.1", port)
			run(AcceptStep, "server", "as", "conn")
			run(CloseStep, tt.first)
			run(CloseStep, tt.second)

			h := l.History()
			last := h[len(h)-1]
			if len(last.Packets) != 1 {
				t.Fatalf("close %s sent %q, want one FIN", tt.second, last.Packets)
			}
			got, want := last.Packets[0], Packet{From: tt.second, To: tt.first, What: "FIN"}
			if got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
