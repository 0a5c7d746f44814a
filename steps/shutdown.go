package steps

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

var shutdownProse = loadProse("shutdown.txt", stepSections...)

// ShutdownStep closes one direction of a connection: shutdown(5, SHUT_WR).
var ShutdownStep = &Step{
	Name:     "shutdown",
	Usage:    "shutdown SOCK read|write|both",
	Example:  "shutdown client write",
	Summary:  "close one direction of a connection",
	About:    shutdownProse.About(),
	Complete: socketNames(directions),
	AnyCase:  func(before []string) bool { return len(before) == 1 },
	Run:      runShutdown,
}

// directions offers shutdown's three directions after the socket; one
// is all it takes.
func directions(_ *Lab, _ *Socket, before []string) []string {
	if len(before) == 1 {
		return []string{"read", "write", "both"}
	}
	return nil
}

// shutdownData is what shutdown.txt can use.
type shutdownData struct {
	Name, Label, Py string
	FD              int
	How             string // read, write or both
	Constant        string // SHUT_WR
	Before, After   string // TCP states
	PeerLabel       string
	PeerState       string
	Datagram        bool
	// ResetOnData: both directions are now shut while the peer may still
	// send, and Linux answers what it sends with a reset.
	ResetOnData bool
	// Applied: the shutdown of a UDP socket with no peer failed with
	// ENOTCONN, and Linux did it all the same.
	Applied bool
	// Finished: this FIN ended the connection, whose other direction was
	// closed already: the peer had sent its FIN (CLOSE_WAIT), or the
	// socket is connected to itself (Itself), so that its FIN came back.
	Finished, Itself bool
	TimeWait         bool // and the kernel keeps the connection in TIME_WAIT
	PeerTimeWait     bool // it keeps the peer's end in TIME_WAIT
	Unread           int  // bytes still queued for recv
	// NotSent counts the bytes send had taken that TCP had not sent yet:
	// the FIN waits behind them. Stall says why (StallOf).
	NotSent int
	Stall   Stall
	// FINHeld: nothing waits before the FIN, but the peer's receive
	// window is closed, and the kernel holds the FIN back (FINHeld).
	FINHeld bool
	// Again: writing was shut before this call (its FIN queued then), so
	// this call sends no FIN, and on writing's side changes nothing.
	Again bool
	FIN   string // the [fin] sentence: whether the FIN went
	// Listener: the socket was listening. Linux stops a listener that is
	// shut down for reading (Stopped), resets the connections waiting in
	// its queue (Waiting), and leaves it its port if bind chose it
	// (Local), so that listen works again.
	Listener, Stopped bool
	Waiting           int
	listenerResets
	Local           string
	Accepted, Tried bool // accept made the socket; connect was called on it
}

var shutdownHow = map[string]struct {
	constant string
	value    int
}{
	"read":  {"SHUT_RD", unix.SHUT_RD},
	"write": {"SHUT_WR", unix.SHUT_WR},
	"both":  {"SHUT_RDWR", unix.SHUT_RDWR},
}

// shutdownDirection turns the names C and Python give the directions,
// SHUT_WR or wr in any case, into read, write or both.
func shutdownDirection(word string) string {
	word = strings.TrimPrefix(strings.ToLower(word), "shut_")
	switch word {
	case "rd":
		return "read"
	case "wr":
		return "write"
	case "rdwr":
		return "both"
	}
	return word
}

func runShutdown(_ context.Context, l *Lab, args []string) (*Report, error) {
	s, err := l.find(args, "should shut down")
	if err != nil {
		return nil, err
	}
	if len(args) != 2 {
		return nil, usageErr("shutdown takes a socket and a direction: read, write or both")
	}
	direction := shutdownDirection(args[1])
	how, ok := shutdownHow[direction]
	if !ok {
		return nil, usageErr(fmt.Sprintf("%s is not a direction: use read, write or both (or C's SHUT_RD, SHUT_WR, SHUT_RDWR)", QuoteShort(args[1])))
	}
	before := Read(s)
	data := shutdownData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, How: direction, Constant: how.constant,
		Before: before.StateWord(s.Kind), Datagram: s.Kind == Datagram, NotSent: before.NotSent, Stall: stallOf(s, before, before.NotSent),
		Accepted: s.AcceptedFrom != "", Tried: s.connectCalled}
	call := fmt.Sprintf("shutdown(%d, %s)", s.FD, how.constant)
	// The peer is looked for first: a FIN that ends the connection leaves
	// neither end with a peer to be found by.
	peer := l.peerOf(s, before)
	queued := l.queuedClients(s, before)
	err = shutdownCall(s.FD, how.value)
	// Linux refuses to shut down a UDP socket that has no peer, and sets
	// the socket's shutdown flags before it says so.
	data.Applied = s.Kind == Datagram && errors.Is(err, unix.ENOTCONN) && runtime.GOOS == "linux"
	// On a listener, Linux clears the flags when it stops listening, and
	// a shut writing direction changes nothing: the lab keeps none.
	data.Listener = s.Kind == Stream && before.FromKernel && before.State == Listen
	if (err == nil || data.Applied) && !data.Listener {
		s.shutRead = s.shutRead || how.value != unix.SHUT_WR
		s.shutWrite = s.shutWrite || how.value != unix.SHUT_RD
	}
	if err != nil {
		return shutdownProse.refused(call, err, data), nil
	}
	after := Read(s)
	data.After = after.StateWord(s.Kind)
	report := &Report{
		Call:  call + " = 0",
		State: []Change{{Who: s.Label(), Before: before.Summary(s.Kind), After: after.Summary(s.Kind), Queue: &Queue{Socket: s, Snapshot: after}}},
	}
	if data.Listener {
		return shutdownListener(report, before, after, queued, data), nil
	}
	data.ResetOnData = s.ResetsOnData(after.State)
	if s.Kind == Stream && how.value != unix.SHUT_RD {
		data.Itself = before.ToItself()
		data.Finished = data.Itself || before.State == CloseWait
		data.Again = before.State.SentFIN()
		data.FINHeld = finHeldNow(s, after, after.State)
	}
	if s.Kind == Stream {
		data.Unread = after.RecvQ
	}
	if data.Finished {
		if st, ok := ConnectionState(before.Local, before.Remote); ok {
			data.TimeWait = st == TimeWait
		}
		if st, ok := ConnectionState(before.Remote, before.Local); ok && !data.Itself {
			data.PeerTimeWait = st == TimeWait
		}
	}
	if peer != nil {
		snap := l.look(peer)
		data.PeerLabel, data.PeerState = peer.Label(), snap.StateWord(peer.Kind)
		report.State = append(report.State, otherQueues(peer, snap))
	}
	// Only ESTABLISHED and CLOSE_WAIT have a writing side still open: in
	// the other states the FIN has gone already, and a second shutdown
	// sends nothing. With bytes not sent yet, the FIN waits behind them,
	// and with the peer's window closed, for room.
	if how.value != unix.SHUT_RD && s.Kind == Stream && (before.State == Established || before.State == CloseWait) && data.NotSent == 0 && !data.FINHeld {
		report.Packets = []Packet{{From: s.Name, To: l.endName(s, before, peer), What: "FIN"}}
	}
	data.FIN = shutdownProse.Render("fin", data)
	shutdownProse.code(report, data)
	report.Says = shutdownProse.Render("says", data)
	report.Next = shutdownProse.Render("next", data)
	return report, nil
}

// ResetsOnData says whether Linux resets the socket's connection, in
// state st, when data comes: its reading was shut down, and in FIN_WAIT1
// and FIN_WAIT2 the peer has not closed (RFC 1122; the kernel counts it as
// TCPAbortOnData).
func (s *Socket) ResetsOnData(st TCPState) bool {
	return s.Kind == Stream && s.shutRead && st.WriteShut()
}

// shutdownListener tells what a shutdown did to a listener: nothing, shut
// for writing; stopped it, shut for reading, resetting the connections in
// its queue, whose clients in the lab the diagram shows.
func shutdownListener(report *Report, before, after Snapshot, queued []*Socket, data shutdownData) *Report {
	data.Stopped = after.FromKernel && after.State != Listen
	if data.Stopped {
		data.Waiting = before.AcceptQueue
		if after.Local.Port() != 0 {
			data.Local = ShowAddr(after.Local)
		}
		data.listenerResets = tellResets(report, data.Name, queued, data.Waiting)
	}
	shutdownProse.code(report, data)
	report.Says = shutdownProse.Render("says", data)
	report.Next = shutdownProse.Render("next", data)
	return report
}
