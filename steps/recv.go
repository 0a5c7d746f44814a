package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

var recvProse = loadProse("recv.txt", stepSections...)

// DefaultBufSize is the tutorial's buffer: connection.recv(1024).
const DefaultBufSize = 1024

// MaxBufSize bounds one recv's buffer, so memory stays bounded whatever a
// learner asks for.
const MaxBufSize = 1 << 20

// RecvStep reads what has arrived on a socket: recv(5, 1024) = 17.
var RecvStep = &Step{
	Name:     "recv",
	Usage:    "recv SOCK [BUFSIZE] [--timeout D] [--hex] | recv SOCK --all [--hex]   (BUFSIZE defaults to 1024)",
	Example:  "recv conn",
	Summary:  "receive the bytes that have arrived",
	About:    recvProse.About(),
	Complete: socketNames(afterReceive),
	Run: func(ctx context.Context, l *Lab, args []string) (*Report, error) {
		return receive(ctx, l, args, "recv", recvProse)
	},
}

// afterReceive offers, for recv and recvfrom, what the socket can still be
// given: a buffer size, --timeout and --hex once each, or --all, which
// takes neither a size nor a timeout; nothing where --timeout's duration
// goes.
func afterReceive(_ *Lab, _ *Socket, before []string) []string {
	rest := before[1:]
	if len(rest) > 0 && rest[len(rest)-1] == "--timeout" {
		return nil
	}
	size := false
	for i, w := range rest {
		size = size || !strings.HasPrefix(w, "--") && (i == 0 || rest[i-1] != "--timeout")
	}
	all, timeout := hasFlag(rest, "--all"), hasFlag(rest, "--timeout")
	var words []string
	if !size && !all {
		words = append(words, "1024")
	}
	if !timeout && !all {
		words = append(words, "--timeout")
	}
	if !hasFlag(rest, "--hex") {
		words = append(words, "--hex")
	}
	if !size && !timeout && !all {
		words = append(words, "--all")
	}
	return words
}

// recvData is what recv.txt can use.
type recvData struct {
	Name, Label, Py string
	FD              int
	BufSize, Got    int
	Left            int    // bytes still queued after the call
	From            string // the sender (UDP) or the peer (TCP)
	FromHost        string // the sender's address and port, as sendto takes them
	FromPort        int
	Waited          ms
	Closed          bool // 0 bytes on TCP: the peer's FIN, unless ShutRead or Over say otherwise
	NotText         bool // not valid UTF-8: Python's decode would fail
	Truncated       int  // a datagram's bytes that did not fit and are lost
	Whole           int  // the datagram's length: what fit and what did not
	Datagram        bool
	State           string
	// recv --all: how many calls read something (for a datagram socket,
	// one datagram each), and how many of those datagrams were empty;
	// End is the errno that ended it (EAGAIN: nothing more was queued).
	All          bool
	Calls, Empty int
	End          string
	// Queued and Arrived: recv --all on TCP read more than the Queued
	// bytes there when it began; Arrived came while it read.
	Queued, Arrived     int
	Reset               bool   // the peer has reset the connection since sending these bytes
	Over                bool   // a TCP connection that is CLOSED: both sides closed, or a reset
	ResetPending        bool   // and the reset's error has not been reported by a call yet
	ShutRead            bool   // 0 bytes because this side shut down reading, not the peer's FIN
	ShutWrite           bool   // this side has shut down writing (FIN_WAIT1 or FIN_WAIT2): it can only read
	ShutBoth            bool   // the shutdown step shut both directions of this socket
	NonBlock            bool   // non-blocking (O_NONBLOCK), and nothing was there: the call did not wait
	Handshaking         bool   // a TCP socket whose connect had not finished (SYN_SENT) when recv began
	Listening           bool   // a listener, which has no connection to read from
	Tried               bool   // connect was called on it: with ENOTCONN, that connect failed
	NoPeer              bool   // a datagram socket with no default peer: an answer needs sendto
	PeerGone            string // the lab's socket at the other end, whose descriptor is closed: nothing can be sent to it
	More                bool   // another datagram waits, of Left bytes; Linux does not say how many more
	Refusal, RefusalFix string // why ECONNREFUSED came, and what to do (refusedBy)
	// Call is the call that failed, recv or recvfrom, whose errors
	// recv.txt tells for both; or, for the TCP connect refused after it
	// returned EINPROGRESS that refusedLater tells, send or sendto too.
	// RefusedAt is where that connect went, and ConnectSays
	// connect.txt's [ECONNREFUSED] where this machine can say more than
	// that nothing listens there (refusedLater).
	Call, RefusedAt, ConnectSays string
	// LoopbackDown is lodown.txt's [nothing arrives], for a TCP recv that
	// found nothing: the connection goes over a loopback interface that
	// is down, so nothing the peer sends arrives while it is.
	LoopbackDown string
}

// receive is recv and recvfrom: they differ only in what they tell.
func receive(ctx context.Context, l *Lab, args []string, name string, p *Prose) (*Report, error) {
	args, flags, err := takeFlags(args, []string{"timeout"}, []string{"hex", "all"})
	if err != nil {
		return nil, err
	}
	s, err := l.find(args, "should receive")
	if err != nil {
		return nil, err
	}
	data := recvData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, BufSize: DefaultBufSize, Datagram: s.Kind == Datagram,
		Call: name, ShutBoth: s.shutRead && s.shutWrite}
	switch len(args) {
	case 1:
	case 2:
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || n > MaxBufSize {
			return nil, usageErr(fmt.Sprintf("the buffer size is a number of bytes from 1 to %d, not %s", MaxBufSize, QuoteShort(args[1])))
		}
		data.BufSize = n
	default:
		return nil, usageErr(name + " takes a socket and an optional buffer size")
	}
	timeout, err := flags.timeout()
	if err != nil {
		return nil, err
	}
	if flags.has("all") {
		if len(args) > 1 {
			return nil, usageErr(name + " --all reads in 64 KiB pieces and takes no buffer size")
		}
		if flags.has("timeout") {
			return nil, usageErr(name + " --all reads only what is queued now and never waits, so it takes no --timeout")
		}
		return l.receiveAll(s, name, p, flags.has("hex"))
	}
	before := l.look(s)
	data.Handshaking = s.Kind == Stream && before.FromKernel && before.State == SynSent
	data.Listening = before.FromKernel && before.State == Listen
	data.Tried = s.connectCalled
	call := name + "(" + strconv.Itoa(s.FD) + ", " + strconv.Itoa(data.BufSize) + ")"
	// A TCP socket that is not connected fails at once (ENOTCONN); only a
	// connection, one whose handshake is under way (SYN_SENT), or a
	// datagram socket has anything to wait for.
	waits := s.Kind == Datagram || before.Connected() || !before.FromKernel || before.State == SynSent
	buf := l.buffer(data.BufSize)
	flags2 := unix.MSG_DONTWAIT
	if s.Kind == Datagram {
		flags2 |= unix.MSG_TRUNC // report a datagram's real length
	}
	w := &waiting{s: s, events: unix.POLLIN, timeout: timeout, call: call, what: waitingFor(s, before)}
	for {
		n, from, err := recvCall(s.FD, buf, flags2)
		if errors.Is(err, unix.EAGAIN) && waits {
			// Nothing has arrived yet: wait, as a blocking recv would.
			stop, waited, werr := l.waitAfterEAGAIN(ctx, w)
			switch {
			case errors.Is(werr, errNonBlocking):
				data.NonBlock = true // the kernel's EAGAIN is the answer
			case werr != nil:
				if errors.Is(werr, unix.EAGAIN) { // SO_RCVTIMEO ran out
					data.LoopbackDown = nothingArrives(s, before).Why
				}
				return receiveRefused(p, call, werr, data), nil
			case stop != nil:
				if down := nothingArrives(s, before); down.Why != "" {
					stop.Says += " " + down.Why
					stop.Next = down.Fix
				}
				return stop, nil
			default:
				data.Waited = ms(waited)
				continue
			}
		}
		if errors.Is(err, unix.ECONNREFUSED) {
			data.Refusal, data.RefusalFix = l.refusedBy(s, name)
		}
		if data.NonBlock {
			data.LoopbackDown = nothingArrives(s, before).Why
		}
		if err != nil {
			return receiveRefused(p, call, err, data), nil
		}
		if n > len(buf) {
			data.Truncated, n = n-len(buf), len(buf)
		}
		got := bytes.Clone(buf[:n]) // the report keeps the bytes; the buffer is the next recv's
		result := call + " = " + strconv.Itoa(n)
		var sender netip.AddrPort // a datagram's; a connection's peer is read from the kernel
		if from != nil {
			sender = addrPortOf(from)
			result += "  from " + sender.String()
		}
		report := &Report{Call: result, Data: got, Hex: flags.has("hex")}
		if l.CallsOnly {
			return report, nil
		}
		after := l.look(s)
		data.Got, data.Left, data.State = n, after.RecvQ, after.Summary(s.Kind)
		data.Whole = n + data.Truncated
		data.readEnd(s, after, n == 0)
		data.Reset = n > 0 && data.ResetPending
		data.NotText = !utf8.Valid(got)
		data.setFrom(sender, before, after)
		data.NoPeer = s.Kind == Datagram && !after.Connected()
		data.More = s.Kind == Datagram && datagramWaits(s.FD)
		if after.State == CloseWait {
			data.PeerGone, _ = l.endedPeer(after)
		}
		report.State = []Change{ownQueues(s, before, after)}
		return l.tell(report, p, data), nil
	}
}

// receiveRefused reports a recv or recvfrom (p's step) that the kernel
// refused. recv.txt says why for both, naming the call (recvData.Call):
// the kernel receives alike for the two (recv(2) is recvfrom(2) with no
// address), so they fail alike. The code lines are p's.
func receiveRefused(p *Prose, call string, err error, data recvData) *Report {
	r := recvProse.refused(call, err, data)
	p.code(r, data)
	return r
}

// nothingArrives is lodown.txt's [nothing arrives] for a recv on s that
// ended with nothing, where s is a TCP connection to a loopback address
// and the loopback interface is down, with its [next] as the fix, in place
// of a suggestion that would find nothing again; empty otherwise. before
// is s's state before the call, which a lab with CallsOnly does not read,
// so there it asks nothing more.
func nothingArrives(s *Socket, before Snapshot) loopbackDownRefusal {
	if s.Kind != Stream || !before.Connected() {
		return loopbackDownRefusal{}
	}
	return heldLoopbackDown(before.Remote.Addr(), "nothing arrives", "next")
}

// waitingFor says what a recv on s waits for, from its state before the
// call.
func waitingFor(s *Socket, before Snapshot) string {
	switch {
	case before.Connected():
		return "data from " + before.Remote.String()
	case s.Kind == Stream && before.FromKernel && before.State == SynSent:
		// The connect has not finished (a non-blocking one): a blocking
		// recv waits for the handshake first.
		return "the handshake to finish (SYN_SENT), then for data"
	case s.Kind == Datagram && before.FromKernel && !before.Bound():
		// Linux gives a UDP socket an address when it sends or connects,
		// never when it receives.
		return "data (none can come: the socket has no address; bind it first)"
	}
	return "data"
}

// setFrom names where the bytes came from: a datagram's sender, or the
// connection's peer, the one it had before the call if it has none after.
func (d *recvData) setFrom(sender netip.AddrPort, before, after Snapshot) {
	switch {
	case sender.IsValid():
		d.From, d.FromHost, d.FromPort = sender.String(), sender.Addr().String(), int(sender.Port())
	case after.Connected():
		d.From = after.Remote.String()
	case before.Connected():
		d.From = before.Remote.String()
	}
}

// readEnd fills in how the connection stands for reading, from the state
// read after a call that returned 0 bytes (closed) or some.
func (d *recvData) readEnd(s *Socket, after Snapshot, closed bool) {
	if s.Kind != Stream {
		return
	}
	d.Closed = closed
	if !after.FromKernel {
		return // the state is not known here: the peer's FIN is the likely cause
	}
	d.ShutWrite = after.State.WriteShut()
	// A 0 in a state that has had no FIN from the peer comes from this
	// side's own shutdown(SHUT_RD).
	d.ShutRead = closed && (after.State == Established || d.ShutWrite)
	d.Over = after.State == Closed
	// A connection also ends CLOSED without a reset (this side shut down
	// first, then the peer closed); only a reset leaves an error pending,
	// which poll shows without taking it.
	d.ResetPending = d.Over && errorPending(s.FD)
}

// errorPending says whether an error waits for the socket's next call to
// report it (poll's POLLERR), without taking it.
func errorPending(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd)}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&unix.POLLERR != 0
}

// buffer is the lab's receive buffer, at least n bytes long. It grows to
// the largest recv asked for (at most MaxBufSize), instead of a new buffer
// for every call.
func (l *Lab) buffer(n int) []byte {
	if len(l.buf) < n {
		l.buf = make([]byte, n)
	}
	return l.buf[:n]
}

// drainShown is how much of a drained queue is kept to be shown.
const drainShown = 4096

// receiveAll is recv --all: it reads everything queued now, without
// waiting, and tells how much there was.
func (l *Lab) receiveAll(s *Socket, name string, p *Prose, hex bool) (*Report, error) {
	before := l.look(s)
	call := fmt.Sprintf("%s(%d, %d, MSG_DONTWAIT)", name, s.FD, bulkChunk)
	d := l.drain(s, drainShown)
	data := recvData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, BufSize: bulkChunk, Got: d.Bytes, Call: name,
		Closed: d.Closed, Datagram: s.Kind == Datagram, Calls: d.Reads, Empty: d.Empty, All: true}
	if d.Err != nil && d.Reads == 0 && !errors.Is(d.Err, unix.EAGAIN) {
		return receiveRefused(p, call, d.Err, data), nil
	}
	if d.Err != nil {
		data.End = errnoName(d.Err)
	}
	if s.Kind == Stream && before.QueuesKnown {
		data.Queued, data.Arrived = before.RecvQ, max(0, d.Bytes-before.RecvQ)
	}
	// The last call's result: what ended the drain.
	last := "0"
	if data.End != "" {
		last = "-1 " + data.End
	}
	result := call + " = " + last
	if d.Reads > 0 {
		result = fmt.Sprintf("%s until empty: %s, %s", call, Counted(d.Calls, "call"), Counted(d.Bytes, "byte"))
		if s.Kind == Datagram {
			result += " in " + Counted(d.Reads, "datagram")
		}
		if d.Err != nil || d.Closed {
			result += "; the last = " + last
		} else {
			result += "; stopped at 1 GiB, the most --all reads"
		}
	}
	after := l.look(s)
	data.State = after.Summary(s.Kind)
	data.readEnd(s, after, d.Closed)
	data.setFrom(d.From, before, after)
	data.NoPeer = s.Kind == Datagram && !after.Connected()
	report := &Report{
		Call:          result,
		State:         []Change{ownQueues(s, before, after)},
		Data:          d.Kept,
		DataTotal:     d.Bytes,
		Datagrams:     d.Datagrams,
		DatagramsRead: d.Reads,
		Hex:           hex,
	}
	l.tell(report, p, data)
	report.Narrate()
	report.Says = recvProse.Render("all", data) // --all has sentences of its own, recvfrom's as recv's
	if d.Bytes == 0 && errors.Is(d.Err, unix.EAGAIN) {
		if down := nothingArrives(s, before); down.Why != "" {
			report.Says += " " + down.Why
			report.Next = down.Fix
		}
	}
	return report, nil
}
