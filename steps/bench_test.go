package steps

import (
	"context"
	"testing"
)

// BenchmarkRead measures one kernel snapshot of a socket, as `sockets`
// and the background watcher take for every live socket.
func BenchmarkRead(b *testing.B) {
	l := newLab(b)
	pair(b, l, families[0])
	for _, name := range []string{"server", "conn"} {
		s := sock(b, l, name)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if snap := Read(s); !snap.FromKernel {
					b.Fatal("got no state from the kernel")
				}
			}
		})
	}
}

// BenchmarkStep measures steps through the engine alone, without the
// shell's parsing and rendering: each op is the listed steps together.
func BenchmarkStep(b *testing.B) {
	ctx := context.Background()
	do := func(b *testing.B, l *Lab, st *Step, args ...string) {
		rep, err := st.Run(ctx, l, args)
		if err != nil || rep.Failed() {
			b.Fatalf("%s %q: %v %+v", st.Name, args, err, rep)
		}
	}
	b.Run("socket+close", func(b *testing.B) {
		l := newLab(b)
		for b.Loop() {
			do(b, l, SocketStep, "as", "s")
			do(b, l, CloseStep, "s")
		}
	})
	b.Run("send+recv", func(b *testing.B) {
		l := newLab(b)
		pair(b, l, families[0])
		for b.Loop() {
			do(b, l, SendStep, "client", "Hello Server")
			do(b, l, RecvStep, "conn")
		}
	})
	b.Run("connect+accept+close", func(b *testing.B) {
		l := newLab(b)
		port := listener(b, l, families[0], "server")
		for b.Loop() {
			do(b, l, SocketStep, "as", "client")
			do(b, l, ConnectStep, "client", "127.0.0.1", port)
			do(b, l, AcceptStep, "server", "as", "conn")
			do(b, l, CloseStep, "client")
			do(b, l, CloseStep, "conn")
		}
	})
}
