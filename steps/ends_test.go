package steps

import (
	"context"
	"reflect"
	"testing"
)

// play runs a step on a lab, failing the test if it fails.
func play(t *testing.T, l *Lab, step *Step, args ...string) {
	t.Helper()
	r, err := l.Run(context.Background(), step, args)
	if err != nil || r.Failed() {
		t.Fatalf("%s %q: %v %+v", step.Name, args, err, r)
	}
}

// lastPackets are the packets of the history's latest call.
func lastPackets(l *Lab) []Packet {
	h := l.History()
	return h[len(h)-1].Packets
}

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
			play(t, l, SocketStep, "as", "server")
			play(t, l, BindStep, "server", "127.0.0.1", "0")
			play(t, l, ListenStep, "server")
			play(t, l, SocketStep, "as", "client")
			play(t, l, ConnectStep, "client", "127.0.0.1", portOf(t, l, "server"))
			play(t, l, AcceptStep, "server", "as", "conn")
			play(t, l, CloseStep, tt.first)
			play(t, l, CloseStep, tt.second)
			got, want := lastPackets(l), Packet{From: tt.second, To: tt.first, What: "FIN"}
			if len(got) != 1 || got[0] != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// TestDatagramEndName checks that a datagram sent on a connected UDP
// socket is drawn to the lab's socket bound to that address, which need
// not be connected itself.
func TestDatagramEndName(t *testing.T) {
	l := NewLab()
	defer l.CloseAll()
	play(t, l, SocketStep, "udp", "as", "sink")
	play(t, l, BindStep, "sink", "127.0.0.1", "0")
	play(t, l, SocketStep, "udp", "as", "source")
	play(t, l, ConnectStep, "source", "127.0.0.1", portOf(t, l, "sink"))
	play(t, l, SendStep, "source", "ping")
	got, want := lastPackets(l), Packet{From: "source", To: "sink", What: "datagram 4 bytes"}
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestQueuedEndName checks that what a client sends before its connection
// is accepted is drawn to the listener, in whose accept queue the
// connection waits, as its SYN was.
func TestQueuedEndName(t *testing.T) {
	l := NewLab()
	defer l.CloseAll()
	play(t, l, SocketStep, "as", "server")
	play(t, l, BindStep, "server", "127.0.0.1", "0")
	play(t, l, ListenStep, "server")
	play(t, l, SocketStep, "as", "client")
	play(t, l, ConnectStep, "client", "127.0.0.1", portOf(t, l, "server"))
	tests := []struct {
		step *Step
		args []string
		want Packet
	}{
		{SendStep, []string{"client", "early"}, Packet{From: "client", To: "server", What: "5 bytes"}},
		{CloseStep, []string{"client"}, Packet{From: "client", To: "server", What: "FIN"}},
	}
	for _, tt := range tests {
		play(t, l, tt.step, tt.args...)
		if got := lastPackets(l); len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: got %q, want %q", tt.step.Name, got, tt.want)
		}
	}
}

// TestOneFINAfterShutdown checks that close after shutdown write sends no
// second FIN: the diagram draws the one shutdown sent.
func TestOneFINAfterShutdown(t *testing.T) {
	l := NewLab()
	defer l.CloseAll()
	play(t, l, SocketStep, "as", "server")
	play(t, l, BindStep, "server", "127.0.0.1", "0")
	play(t, l, ListenStep, "server")
	play(t, l, SocketStep, "as", "client")
	play(t, l, ConnectStep, "client", "127.0.0.1", portOf(t, l, "server"))
	play(t, l, AcceptStep, "server", "as", "conn")
	tests := []struct {
		step *Step
		args []string
		want []Packet
	}{
		{ShutdownStep, []string{"client", "write"}, []Packet{{From: "client", To: "conn", What: "FIN"}}},
		{CloseStep, []string{"client"}, nil},
		{CloseStep, []string{"conn"}, []Packet{{From: "conn", To: "client", What: "FIN"}}},
	}
	for _, tt := range tests {
		play(t, l, tt.step, tt.args...)
		if got := lastPackets(l); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %q: got %q, want %q", tt.step.Name, tt.args, got, tt.want)
		}
	}
}
