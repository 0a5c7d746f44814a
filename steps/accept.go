package steps

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

var acceptProse = loadProse("accept.txt", stepSections...)

// AcceptStep takes the next connection off a listener's accept queue and
// gives it a socket of its own: accept(3) = 5.
var AcceptStep = &Step{
	Name:     "accept",
	Usage:    "accept SOCK [as NAME] [--timeout D]",
	Example:  "accept server as conn",
	Summary:  "take the next connection off the accept queue",
	About:    acceptProse.About(),
	Complete: socketNamesWhere(listening, afterAccept),
	Run:      runAccept,
}

// listening says whether a socket listens, as the kernel reports it: a
// socket that does not has no accept queue (EINVAL), and a UDP socket has
// no connections (EOPNOTSUPP).
func listening(s *Socket) bool {
	if s.Kind != Stream {
		return false
	}
	snap := readNew(s)
	return !snap.FromKernel || snap.State == Listen
}

// afterAccept offers, after the socket, `as` and --timeout, each once:
// nothing after `as`, where the learner names the connection, or after
// --timeout, where a duration goes.
func afterAccept(_ *Lab, _ *Socket, before []string) []string {
	if last := before[len(before)-1]; last == "as" || last == "--timeout" {
		return nil
	}
	var words []string
	if !slices.Contains(before, "as") {
		words = append(words, "as")
	}
	if !hasFlag(before, "--timeout") {
		words = append(words, "--timeout")
	}
	return words
}

// acceptData is what accept.txt can use.
type acceptData struct {
	Name, Label, Py        string // the listener
	FD                     int
	Conn, ConnLabel        string // the new socket
	ConnPy                 string
	ConnFD                 int
	Peer, Local            string
	MappedPeer             string // the IPv4 address behind an IPv4-mapped Peer
	Waited                 ms     // how long accept waited, 0 if not at all
	QueueAfter, Backlog    int
	StillWaiting           int  // connections left in the queue
	ResetInQueue           bool // the client reset the connection while it waited
	ClientClosed           bool // the client's FIN came while it waited: the new socket is CLOSE_WAIT
	Queued                 int  // and these bytes it sent wait to be read
	NotListening, NonBlock bool
}

func runAccept(ctx context.Context, l *Lab, args []string) (*Report, error) {
	args, flags, err := takeFlags(args, []string{"timeout"}, nil)
	if err != nil {
		return nil, err
	}
	args, name, err := takeName(args)
	if err != nil {
		return nil, err
	}
	s, err := l.find(args, "should accept")
	if err != nil {
		return nil, err
	}
	if len(args) > 1 {
		return nil, usageErr("accept takes one socket, then optionally `as NAME`")
	}
	timeout, err := flags.timeout()
	if err != nil {
		return nil, err
	}
	if err := l.checkNewName(name); err != nil {
		return nil, err
	}
	data := acceptData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, ConnPy: "conn"}
	if name != "" {
		data.ConnPy = (&Socket{Name: name}).Py()
	}
	before := l.look(s)
	data.NotListening = before.FromKernel && before.State != Listen
	call := "accept(" + strconv.Itoa(s.FD) + ")"
	w := &waiting{s: s, events: unix.POLLIN, timeout: timeout, call: call, what: "a client to connect"}
	for {
		if !data.NotListening && !data.NonBlock {
			stop, waited, err := l.wait(ctx, w)
			switch {
			case errors.Is(err, errNonBlocking):
				data.NonBlock = true
			case err != nil:
				return acceptProse.refused(call, err, data), nil
			case stop != nil:
				return stop, nil
			case waited > 0:
				data.Waited = ms(waited)
			}
		}
		fd, peer, err := acceptCall(s.FD)
		if errors.Is(err, unix.EAGAIN) && !data.NonBlock {
			continue // another process took the connection first; wait again
		}
		if err != nil {
			return acceptProse.refused(call, err, data), nil
		}
		conn := &Socket{Name: name, FD: fd, Family: s.Family, Kind: s.Kind, AcceptedFrom: s.Name}
		l.add(conn, "c")
		data.Peer = peer.String()
		if peer.Addr().Is4In6() {
			data.MappedPeer = peer.Addr().Unmap().String()
		}
		report := &Report{Call: call + " = " + strconv.Itoa(fd) + "  peer " + data.Peer, Peer: peer}
		if l.CallsOnly {
			return report, nil
		}
		after, connSnap := l.look(s), readNew(conn)
		data.Conn, data.ConnLabel, data.ConnPy, data.ConnFD = conn.Name, conn.Label(), conn.Py(), fd
		data.Local = connSnap.Local.String()
		data.ResetInQueue = connSnap.FromKernel && connSnap.State == Closed
		connLine := Change{Who: conn.Label(), Before: "(none)", After: connSnap.Summary(conn.Kind)}
		if data.ClientClosed = connSnap.FromKernel && connSnap.State == CloseWait; data.ClientClosed {
			// The prose tells the bytes queued and the end after them.
			queued := l.look(conn)
			data.Queued, connLine.Queue = queued.RecvQ, &Queue{Socket: conn, Snapshot: queued}
		}
		data.QueueAfter, data.Backlog, data.StillWaiting = after.AcceptQueue, after.Backlog, after.AcceptQueue
		report.State = []Change{connLine, {Who: s.Label(), Before: before.Summary(s.Kind), After: after.Summary(s.Kind)}}
		report.Socket = s.Name
		return l.tell(report, acceptProse, data), nil
	}
}
