package steps

import (
	"context"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

var closeProse = loadProse("close.txt", stepSections...)

// CloseStep gives a socket back to the kernel: close(5) = 0.
var CloseStep = &Step{
	Name:     "close",
	Usage:    "close SOCK | close all",
	Example:  "close conn",
	Summary:  "give a socket back to the kernel",
	About:    closeProse.About(),
	Complete: completeClose,
	Run:      runClose,
}

func completeClose(l *Lab, before []string) []string {
	if len(before) == 0 {
		return append(l.Names(), "all")
	}
	return nil
}

// closeData is what close.txt can use.
type closeData struct {
	Name, Label, Py string
	FD              int
	Local, Remote   string
	Listener        bool
	Taken           bool // a closed listener's address is not free: a new bind would fail
	Port            int  // its port
	Waiting         int  // connections left in a listener's accept queue
	listenerResets
	Unread        int    // bytes in the receive queue that nobody read
	Connected     bool   // it had a TCP connection
	Reset         bool   // and close reset it: for Abort, or for Unread bytes
	Abort         bool   // SO_LINGER on with 0 seconds: close resets the connection
	Linger        int    // SO_LINGER's seconds, when it is on: close waits for the FIN's ACK
	LingerRanOut  bool   // and they passed before it came
	NotSent       int    // bytes send had taken that TCP had not sent when close was called
	Stall         Stall  // why (StallOf)
	KernelState   string // what the kernel keeps of the connection now, or ""
	FinSent       bool   // shutdown had sent this side's FIN before close: close sends none
	FINHeld       bool   // FIN_WAIT1 with the peer's window closed: the kernel holds the FIN back
	FINBetween    bool   // the peer's FIN came after the state before close was read (ESTABLISHED), before close
	OtherEndState string // the kernel's state of the peer's end, when it is on this machine
	TimeWaitEnd   string // a CLOSED socket's former end, which the kernel holds in TIME_WAIT
	SentNothing   bool   // it had sent no data, so the peer's kernel delays its ACK of the FIN only briefly
	PeerLabel     string // the lab's socket at the other end, or ""
	PeerName      string
	PeerState     string
	PeerHadFIN    bool   // after a reset: the peer was CLOSE_WAIT, so its calls see EPIPE, not ECONNRESET
	PeerUnread    int    // after a reset: bytes the peer can still read
	EndedPeer     string // after a reset: the lab's socket at the other end, whose descriptor is closed
	Datagram      bool
	DefaultPeer   bool   // a UDP socket with a default peer (connect)
	FirstUnread   string // a UDP socket's first datagram nobody read, its size in words, or ""
	Count         int    // close all: how many
}

func runClose(_ context.Context, l *Lab, args []string) (*Report, error) {
	if len(args) != 1 {
		return nil, usageErr("close takes one socket, or all")
	}
	if args[0] == "all" {
		return l.CloseAll(), nil
	}
	s, err := l.Find(args[0])
	if err != nil {
		return nil, err
	}
	return l.closeOne(s, "closed by `close "+s.Name+"`"), nil
}

// CloseAll closes every live socket, in the order they were made, and
// reports them together.
func (l *Lab) CloseAll() *Report {
	all := l.Sockets()
	report := &Report{Says: closeProse.Render("all", closeData{Count: len(all)}), inHistory: true}
	var calls []string
	for _, s := range all {
		r := l.closeOne(s, "closed by `close all`")
		l.record(Event{Socket: s.Name, Call: r.Call, Failed: r.Failure != nil, Packets: r.Packets})
		calls = append(calls, r.Call)
		if len(r.State) > 0 {
			report.State = append(report.State, r.State[0]) // its peer is closed in turn
		}
		if r.Failure != nil && report.Failure == nil {
			report.Failure = r.Failure
		}
	}
	report.Call = strings.Join(calls, "; ")
	if len(all) == 0 {
		report.Call = "(no sockets to close)"
	}
	return report
}

func (l *Lab) closeOne(s *Socket, how string) *Report {
	before := l.look(s)
	peer := l.peerOf(s, before)
	end := l.endName(s, before, peer)
	finSent := s.Kind == Stream && before.State.SentFIN()
	data := closeData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, Local: ShowAddr(before.Local),
		Remote: ShowAddr(before.Remote), Listener: before.State == Listen, Waiting: before.AcceptQueue,
		Unread: before.RecvQ, Connected: s.Kind == Stream && before.Connected(), Datagram: s.Kind == Datagram,
		NotSent: before.NotSent, Stall: stallOf(s, before, before.NotSent), FinSent: finSent}
	if data.Datagram {
		data.DefaultPeer = before.Connected()
		if before.DatagramWaiting() {
			data.FirstUnread = DatagramSize(before.RecvQ)
		}
	}
	call := "close(" + strconv.Itoa(s.FD) + ")"
	queued := l.queuedClients(s, before)
	if data.Connected && !l.CallsOnly {
		linger, err := unix.GetsockoptLinger(s.FD, unix.SOL_SOCKET, unix.SO_LINGER)
		data.Abort = err == nil && linger.Onoff != 0 && linger.Linger == 0
		if err == nil && linger.Onoff != 0 {
			data.Linger = int(linger.Linger)
		}
		data.SentNothing = before.sentNothing
	}
	// A reset reaches the other end: what it does there depends on what
	// that end was.
	data.Reset = data.Connected && (data.Unread > 0 || data.Abort)
	var peerBefore Snapshot
	if data.Reset && !l.CallsOnly {
		// shutdown's FIN may not have left: the reset then goes in its stead.
		if data.FinSent && finHeldNow(s, before, before.State) {
			data.FinSent, data.FINHeld = false, true
		}
		if peer != nil {
			peerBefore = l.look(peer)
		} else if name, ok := l.endedPeer(before); ok {
			data.EndedPeer = name
		}
	}

	l.mu.Lock()
	err := closeCall(s.FD)
	l.mu.Unlock()
	// Whatever close returns, the descriptor is gone: Linux releases it
	// even when close reports an error, so it must never be closed again.
	l.remove(s, how)
	if err != nil {
		return closeProse.refused(call, err, data)
	}
	if l.CallsOnly {
		return &Report{Call: call + " = 0"}
	}
	if data.Connected {
		l.rememberEnd(s, before)
	}
	after := "(fd closed)"
	if data.Listener {
		data.Taken, data.Port = PortTaken(s.Family, Stream, before.Local), int(before.Local.Port())
	}
	if data.Connected {
		st, ok := ConnectionState(before.Local, before.Remote)
		// Gone, or waiting for the ACK of its FIN, a connection that
		// close did not reset had the peer's FIN before this side's.
		data.FINBetween = before.State == Established && !data.Reset && (!ok || st == LastAck)
		if ok {
			data.KernelState = st.String()
			data.LingerRanOut = data.Linger > 0 && (st == FinWait1 || st == LastAck)
			after += ", connection " + data.KernelState + " in the kernel"
			if st == FinWait1 && data.NotSent == 0 {
				data.FINHeld = finHeldNow(s, before, st)
				// Whether the FIN has arrived, when the other end is on
				// this machine.
				if other, ok := ConnectionState(before.Remote, before.Local); ok {
					data.OtherEndState = other.String()
				}
			}
		} else {
			after += ", connection gone"
			// Only a connection gone from this side has its other end
			// told of (close.txt), so only then is the other end asked for.
			if st, ok := ConnectionState(before.Remote, before.Local); ok {
				data.OtherEndState = st.String()
			}
		}
	}
	if k := s.lastConn.Load(); k != nil && before.FromKernel && before.State == Closed {
		// A connection that ended while its descriptor was open (this
		// side sent the first FIN with shutdown) may live on in TIME_WAIT,
		// held by the kernel without the socket.
		if st, ok := ConnectionState(k.local, k.remote); ok && st == TimeWait {
			data.TimeWaitEnd = k.local.String()
		}
	}
	report := &Report{
		Call:  call + " = 0",
		State: []Change{{Who: s.Label(), Before: before.Summary(s.Kind), After: after}},
	}
	if peer != nil {
		ps := l.look(peer)
		data.PeerLabel, data.PeerName, data.PeerState = peer.Label(), peer.Name, ps.Summary(peer.Kind)
		data.PeerHadFIN, data.PeerUnread = peerBefore.State == CloseWait, ps.RecvQ
		report.State = append(report.State, otherQueues(peer, ps))
	}
	switch {
	case data.Listener:
		// Its close reset the connections waiting in its queue.
		data.listenerResets = tellResets(report, s.Name, queued, data.Waiting)
	case data.Reset:
		report.Packets = []Packet{{From: s.Name, To: end, What: "RST"}}
	case data.Connected && data.NotSent == 0 && !data.FINHeld && (before.State == Established || before.State == CloseWait):
		// In the other states shutdown has sent this side's FIN already;
		// with bytes not sent yet, the FIN waits behind them, and with the
		// peer's window closed, for room.
		report.Packets = []Packet{{From: s.Name, To: end, What: "FIN"}}
	}
	return l.tell(report, closeProse, data)
}

// FINHeld says whether the kernel holds back this side's FIN, queued by
// close or shutdown (st is FIN_WAIT1, CLOSING or LAST_ACK), for room in
// the peer's receive window: no byte waits to be sent before it (notSent
// is 0), and the kernel runs the persist timer (t) to probe a closed
// window. A FIN takes a sequence number, so it needs room there as a
// byte does.
func FINHeld(st TCPState, notSent int, t Timer) bool {
	return (st == FinWait1 || st == Closing || st == LastAck) && notSent == 0 && t.Kind == PersistTimer
}

// finHeldNow is FINHeld for s in state st, snap being what was read of it
// last: it asks sock_diag for the timer only where st and the bytes not
// sent leave a held FIN possible.
func finHeldNow(s *Socket, snap Snapshot, st TCPState) bool {
	if !FINHeld(st, snap.NotSent, Timer{Kind: PersistTimer}) {
		return false
	}
	t, _ := TimerOf(s, snap, snap.Remote)
	return t.Kind == PersistTimer
}

// queuedClients are the lab's sockets whose connections may wait in the
// accept queue of listener s (snap is its state): those that connected
// to its address and are ESTABLISHED, or FIN_WAIT1/2 after shutdown. A
// listener that stops resets the connections in its queue, and
// tellResets finds which.
func (l *Lab) queuedClients(s *Socket, snap Snapshot) []*Socket {
	if !snap.FromKernel || snap.State != Listen || snap.AcceptQueue == 0 || l.CallsOnly {
		return nil
	}
	var clients []*Socket
	for _, t := range l.Sockets() {
		if t.Kind != Stream || t.AcceptedFrom != "" {
			continue
		}
		if ts := Read(t); (ts.State == Established || ts.State.WriteShut()) && covers(snap.Local, ts.Remote) {
			clients = append(clients, t)
		}
	}
	return clients
}

// listenerResets are the lab's clients whose connections, waiting in a
// listener's accept queue, were reset when it stopped listening (close,
// or shutdown of reading on Linux), as close.txt and shutdown.txt tell
// them.
type listenerResets struct {
	ResetClients string // their labels, "a and b", or ""
	ResetCount   int    // how many
	ResetName    string // the one's name, when there is one
	OtherClients bool   // some of the connections reset are not the lab's
}

// tellResets finds which of queued, the clients that may have waited in
// listener's accept queue of waiting connections, it reset: those the
// kernel has closed since. It draws the RST to each, and adds each one's
// state, as read then, to report.
func tellResets(report *Report, listener string, queued []*Socket, waiting int) listenerResets {
	var reset, labels []string
	for _, c := range queued {
		now := Read(c)
		if now.State != Closed {
			continue
		}
		reset, labels = append(reset, c.Name), append(labels, c.Label())
		report.Packets = append(report.Packets, Packet{From: listener, To: c.Name, What: "RST"})
		report.State = append(report.State, otherQueues(c, now))
	}
	r := listenerResets{ResetClients: Listed(labels), ResetCount: len(reset), OtherClients: len(reset) < waiting}
	if len(reset) == 1 {
		r.ResetName = reset[0]
	}
	return r
}

// Listed joins words as a sentence lists them: "a", "a and b", "a, b and c".
func Listed(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
