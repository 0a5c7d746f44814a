package steps

import (
	"errors"
	"net/netip"
	"time"
)

// A Report is what one step tells the learner, in the order of the
// narration contract: the call as the kernel saw it, what it means, the
// state change read back from the kernel, the same line in Python, and what
// to try next.
type Report struct {
	Call      string        // "bind(3, 0.0.0.0:8081) = 0"
	Took      time.Duration // how long the call took, when that teaches something
	TookAs    string        // what Took measured: "handshake"
	Says      string        // one to three plain sentences
	State     []Change      // read from the kernel before and after
	Python    string        // the same line in Python
	Next      string        // a command to try next
	Data      []byte        // bytes received, to be shown safely
	DataTotal int           // how many bytes were received, when Data keeps only the first
	Hex       bool          // show Data as a hex dump
	// Datagrams are the datagrams recv --all took on a UDP socket, the
	// first DatagramsShown of them, each apart as the socket kept them;
	// Data then holds their bytes run together, and DatagramsRead
	// counts them all.
	Datagrams     []ReceivedDatagram
	DatagramsRead int
	Lines         []string       // lines of a listing (option's values)
	Peer          netip.AddrPort // the peer's address, as accept returned it, or where sendto sent its datagram
	Sent          int            // how many bytes send handed to the kernel
	SentText      []byte         // those bytes, when send sent text (not --bytes)

	// Socket names the socket the call was made on: the step sets it
	// where its first argument does not name it (socket, accept), and
	// Lab.Run from that argument otherwise. Packets are what the call
	// sent. Both feed the session's sequence diagram.
	Socket    string
	Packets   []Packet
	inHistory bool // the step kept its calls in the history itself

	// Failure is set when the kernel refused the call.
	Failure *Failure
	// Stopped is set when a wait ended without the call completing
	// (Ctrl-C or --timeout); nothing about the socket changed.
	Stopped bool
	// Unfinished is set when a wait ended after the call had done part
	// of what it was asked: a bulk send cut short by Ctrl-C or --timeout,
	// whose bytes sent before it are the kernel's all the same.
	Unfinished bool

	// prose writes Says, Python and Next, when the lab leaves that to be
	// done as the report is shown (Lab.ProseWhenShown).
	prose func(*Report)
	// code writes the call in another language, when it is asked for.
	code func(lang string) string
}

// Code is the same call in lang: "python", the tutorial's, or "c", or
// "go" with x/sys/unix; "" where the prose file has none. C and Go are
// written only when asked for: most reports are shown in Python alone.
func (r *Report) Code(lang string) string {
	switch {
	case lang == "python":
		return r.Python
	case r.code == nil:
		return ""
	}
	return r.code(lang)
}

// Failed says whether the step did not do what it was asked.
func (r *Report) Failed() bool { return r.Failure != nil || r.Stopped || r.Unfinished }

// Narrate writes the report's prose (Says, Python, Next), if its lab left
// that to be done as the report is shown; otherwise it does nothing.
// Whoever shows a report calls it first, on one goroutine at a time.
func (r *Report) Narrate() {
	if write := r.prose; write != nil {
		r.prose = nil
		write(r)
	}
}

// A Change is one line of state: who, and what the kernel says before and
// after the call. Before is empty when there is nothing to compare.
type Change struct {
	Who    string
	Before string
	After  string
	// Queue is, where After shows a socket's state and queues (the
	// receive queue of the socket the call was made on or of its peer, a
	// listener's accept queue), that socket and the snapshot After shows:
	// the shell's notices then tell only of what comes after it, a peer's
	// FIN or a reset as well as bytes.
	Queue *Queue
}

// A Queue is what a state line showed of one socket's queues.
type Queue struct {
	Socket *Socket
	Snapshot
}

// ownQueues is the state line of the queues of s, the socket a call was
// made on, before and after it.
func ownQueues(s *Socket, before, after Snapshot) Change {
	return Change{Who: s.Label(), Before: queues(before), After: queues(after), Queue: &Queue{Socket: s, Snapshot: after}}
}

// otherQueues is the state line of another socket's queues, as snap
// holds them: the peer's that a send, shutdown or close reached, or the
// accept queue of the listener a connect reached.
func otherQueues(s *Socket, snap Snapshot) Change {
	after := queues(snap)
	if snap.State == Listen {
		after = snap.Summary(s.Kind)
	}
	return Change{Who: s.Label(), After: after, Queue: &Queue{Socket: s, Snapshot: snap}}
}

// A Failure explains an errno: the kernel's word, what it means in general,
// and what it means for this step.
type Failure struct {
	ErrnoHelp
	ForStep string // what the errno means for this step, from its prose
}

// A UsageError is a command that could not be run as typed. Nothing was
// called and nothing changed.
type UsageError struct {
	Problem string
}

func (e *UsageError) Error() string { return e.Problem }

// usageErr makes a UsageError from a formatted problem.
func usageErr(problem string) error { return &UsageError{Problem: problem} }

// IsUsage says whether err is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// A ReceivedDatagram is one datagram a receive took: its first bytes, its size,
// and its sender.
type ReceivedDatagram struct {
	Data []byte
	Size int
	From netip.AddrPort
}

// DatagramsShown bounds how many datagrams recv --all shows apart.
const DatagramsShown = 8
