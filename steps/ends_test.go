package steps

import (
	"reflect"
	"slices"
	"testing"
)

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
			l := newLab(t)
			pair(t, l, families[0])
			run(t, l, "close", tt.first)
			run(t, l, "close", tt.second)
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
	l := newLab(t)
	run(t, l, "socket", "udp", "as", "sink")
	run(t, l, "bind", "sink", "127.0.0.1", "0")
	run(t, l, "socket", "udp", "as", "source")
	run(t, l, "connect", "source", "127.0.0.1", portOf(t, l, "sink"))
	run(t, l, "send", "source", "ping")
	got, want := lastPackets(l), Packet{From: "source", To: "sink", What: "datagram 4 bytes"}
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestQueuedEndName checks that what a client sends before its connection
// is accepted is drawn to the listener, in whose accept queue the
// connection waits, as its SYN was.
func TestQueuedEndName(t *testing.T) {
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	run(t, l, "socket", "tcp", "ipv4", "as", "client")
	run(t, l, "connect", "client", "127.0.0.1", port)
	tests := []struct {
		step *Step
		args []string
		want Packet
	}{
		{SendStep, []string{"client", "early"}, Packet{From: "client", To: "server", What: "5 bytes"}},
		{CloseStep, []string{"client"}, Packet{From: "client", To: "server", What: "FIN"}},
	}
	for _, tt := range tests {
		run(t, l, tt.step.Name, tt.args...)
		if got := lastPackets(l); len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: got %q, want %q", tt.step.Name, got, tt.want)
		}
	}
}

// TestOneFINAfterShutdown checks that close after shutdown write sends no
// second FIN: the diagram draws the one shutdown sent.
func TestOneFINAfterShutdown(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
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
		run(t, l, tt.step.Name, tt.args...)
		if got := lastPackets(l); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %q: got %q, want %q", tt.step.Name, tt.args, got, tt.want)
		}
	}
}

// TestOneByteIsDrawnSingular sends one byte every way the diagram draws
// data, and wants the arrow labelled "1 byte", once the kernel shows the
// one byte waiting at the receiver.
func TestOneByteIsDrawnSingular(t *testing.T) {
	tests := []struct {
		name     string
		udp      bool
		line     []string
		receiver string
		want     Packet
	}{
		{"send", false, []string{"send", "client", "x"}, "conn", Packet{From: "client", To: "conn", What: "1 byte"}},
		{"send --bytes", false, []string{"send", "client", "--bytes", "1"}, "conn", Packet{From: "client", To: "conn", What: "1 byte"}},
		{"sendto on TCP", false, []string{"sendto", "client", "127.0.0.1", "9", "x"}, "conn", Packet{From: "client", To: "conn", What: "1 byte"}},
		{"send on UDP", true, []string{"send", "client", "x"}, "conn", Packet{From: "client", To: "conn", What: "datagram 1 byte"}},
		{"sendto on UDP", true, []string{"sendto", "client", "127.0.0.1", "PORT", "x"}, "conn", Packet{From: "client", To: "conn", What: "datagram 1 byte"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			if tt.udp {
				run(t, l, "socket", "udp", "as", "conn")
				run(t, l, "bind", "conn", "127.0.0.1", "0")
				run(t, l, "socket", "udp", "as", "client")
				run(t, l, "connect", "client", "127.0.0.1", portOf(t, l, "conn"))
			} else {
				pair(t, l, families[0])
			}
			line := slices.Clone(tt.line)
			for i, w := range line {
				if w == "PORT" {
					line[i] = portOf(t, l, tt.receiver)
				}
			}
			run(t, l, line[0], line[1:]...)
			if q := Read(sock(t, l, tt.receiver)).RecvQ; q != 1 {
				t.Fatalf("%s: %s's receive queue holds %d bytes, want the 1 sent", tt.name, tt.receiver, q)
			}
			if got := lastPackets(l); len(got) != 1 || got[0] != tt.want {
				t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}
