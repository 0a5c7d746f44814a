package steps

import (
	"context"
	"fmt"
)

// An Event is one call of the session as a sequence diagram draws it: the
// socket that made it, the call as the kernel saw it, and the packets it
// caused between sockets. Packets are what TCP and UDP are known to send
// for that call on success; sockstep does not capture the wire.
type Event struct {
	Socket  string // the socket's name
	Call    string
	Failed  bool
	Packets []Packet
}

// A Packet is one arrow of a sequence diagram. From and To are socket
// names, or an address for an end outside this session.
type Packet struct {
	From, To string
	What     string // "SYN", "SYN-ACK", "ACK", "17 bytes", "FIN", "RST", "datagram 4 bytes"
}

// bytesLeft labels the arrow of n bytes of a TCP send that left in segs
// segments, counted by the kernel, those sent again aside: "17 bytes", or
// "100000 bytes in 3 segments" when one arrow stands for several packets.
func bytesLeft(n, segs int) string {
	if segs > 1 {
		return fmt.Sprintf("%s in %d segments", Counted(n, "byte"), segs)
	}
	return Counted(n, "byte")
}

// maxHistory bounds the events a lab keeps for its diagram.
const maxHistory = 500

// History is the session's calls so far, oldest first, the last
// maxHistory of them.
func (l *Lab) History() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.history...)
}

// Forgotten is how many of the session's calls, the oldest, History no
// longer holds.
func (l *Lab) Forgotten() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.forgotten
}

// record adds an event to the history, forgetting the oldest beyond
// maxHistory.
func (l *Lab) record(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.history = append(l.history, e)
	if over := len(l.history) - maxHistory; over > 0 {
		l.history = l.history[over:]
		l.forgotten += over
	}
}

// Run runs a step and keeps the call in the session's history.
func (l *Lab) Run(ctx context.Context, step *Step, args []string) (*Report, error) {
	name := ""
	if len(args) > 0 {
		if s, err := l.Find(args[0]); err == nil {
			name = s.Name // the name, even when the learner gave the fd
		}
	}
	r, err := step.Run(ctx, l, args)
	if err != nil || r == nil {
		return r, err
	}
	if r.Socket == "" {
		r.Socket = name
	}
	// A call stopped before it returned is drawn only if it sent packets,
	// as a connect whose SYNs went unanswered did.
	if r.inHistory || (r.Stopped && len(r.Packets) == 0) {
		return r, nil
	}
	l.record(Event{Socket: r.Socket, Call: r.Call, Failed: r.Failure != nil, Packets: r.Packets})
	return r, nil
}

// endName is how a diagram names the other end of a connection: the
// socket itself when it is connected to its own address, the lab's
// socket there (for TCP, live or closed with its connection still in the
// kernel, or the listener in whose accept queue the connection waits), or
// its address. peer is the lab's socket that peerOf found there, if it
// found one, or for UDP the one the kernel gave the datagram to.
func (l *Lab) endName(s *Socket, snap Snapshot, peer *Socket) string {
	if peer != nil {
		return peer.Name
	}
	if snap.ToItself() {
		return s.Name
	}
	if s.Kind != Stream {
		return ShowAddr(snap.Remote)
	}
	if name, ok := l.endedPeer(snap); ok {
		return name
	}
	// Only a socket that connected can have a listener at its other end,
	// while its connection waits in the queue: the other end of an
	// accepted connection is the socket that connected to it.
	if s.AcceptedFrom == "" {
		if ls, _, ok := l.listenerFor(snap.Remote); ok {
			return ls.Name // not accepted yet: the connection waits in its queue
		}
	}
	return ShowAddr(snap.Remote)
}
