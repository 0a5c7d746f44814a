package steps

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

var bulkProse = loadProse("bulk.txt", "says", "python", "next")

// MaxBulk bounds `send --bytes`: 1 GiB.
const MaxBulk = 1 << 30

// bulkChunk is how much one send call of a bulk send offers the kernel.
// The bytes are a fixed pattern, so memory stays this size whatever N is.
const bulkChunk = 64 << 10

var bulkPattern = patternOf(bulkChunk)

// patternOf is n bytes of the pattern bulk sends are made of.
func patternOf(n int) []byte {
	const line = "sockstep bulk data 0123456789 abcdefghijklmnopqrstuvwxyz\n"
	return []byte(strings.Repeat(line, n/len(line)+1)[:n])
}

// parseSize reads a byte count such as 1000, 64K, 10M or 1G (powers of
// 1024; k, m and g too).
func parseSize(text string) (int, error) {
	digits, mult := text, 1
	if last := len(text) - 1; last > 0 {
		switch text[last] | 0x20 { // lower case
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			digits = text[:last]
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > MaxBulk/mult {
		return 0, usageErr(fmt.Sprintf("--bytes takes a size from 1 to 1G, such as 100000, 64K or 10M, not %s", QuoteShort(text)))
	}
	return n * mult, nil
}

// bulkData is what bulk.txt can use.
type bulkData struct {
	Name, Label, Py string
	Asked, Sent     int
	Calls, Waits    int
	Took            ms
	Rate            string // how fast, or "" where that means nothing (bulkRate)
	// SendQ counts the bytes the peer has not acknowledged (SIOCOUTQ):
	// NotSent of them TCP has not sent yet (TCP_INFO), InFlight it has.
	// Stall says why they wait (StallOf), or Nagle's algorithm holds them
	// until InFlight is acknowledged.
	SendQ, NotSent, InFlight int
	Stall                    Stall
	Nagle                    bool
	PeerLabel                string
	PeerRecvQ                int
	SendBuf                  int
	Stopped                  bool
	TimedOut                 string // --timeout, when it passed before all was sent
	LabTimeout               bool   // TimedOut is sockstep's --timeout, not the command's
	NonBlock                 bool
	// Unaccepted is, when the connection waits in a listener's accept
	// queue, that listener (the lab's, or its address): no program can
	// read until accept. UnacceptedName is the lab's name for it, and
	// UnacceptedRecvQ the bytes the connection has received there.
	Unaccepted, UnacceptedName string
	UnacceptedRecvQ            int
	// LoopbackDown is lodown.txt's [held], said instead of why the bytes
	// not acknowledged wait: the connection goes over a loopback interface
	// that is down, so they will not arrive while it is. WayOut is then
	// lodown.txt's next.
	LoopbackDown, WayOut string
}

// acceptWait is what the kernel's table says of a connection whose other
// end waits in a listener's accept queue: the listener, as the learner
// knows it (the lab's socket, or its address), and the bytes that end has
// received and acknowledged, which no program can read until accept.
type acceptWait struct {
	Listener, Name string
	RecvQ          int
}

// unaccepted finds, for a TCP socket that connected, the other end of its
// connection in the kernel's table if it still waits in an accept queue
// (InAcceptQueue: no descriptor holds it yet).
func (l *Lab) unaccepted(s *Socket, snap Snapshot) (acceptWait, bool) {
	if s.Kind != Stream || s.AcceptedFrom != "" || !snap.Connected() || snap.ToItself() || l.CallsOnly {
		return acceptWait{}, false
	}
	c, found := ConnectionOf(snap.Remote, snap.Local)
	if !found || !c.InAcceptQueue() {
		return acceptWait{}, false
	}
	w := acceptWait{Listener: "the listener at " + ShowAddr(snap.Remote), RecvQ: c.RecvQ}
	if ls, _, ok := l.listenerFor(snap.Remote); ok {
		w.Listener, w.Name = ls.Label(), ls.Name
	}
	return w, true
}

// sendBulk sends n bytes of a pattern, as fast as the kernel takes them:
// on a blocking socket it waits in poll whenever the send buffer is full
// (counting the waits), on a non-blocking one it stops at the first EAGAIN
// with what was taken. Progress is told every tenth of a second after the
// first second.
func (l *Lab) sendBulk(ctx context.Context, s *Socket, n int, timeout time.Duration, call string) (*Report, error) {
	before := Read(s)
	data := bulkData{Name: s.Name, Label: s.Label(), Py: s.Py(), Asked: n, NonBlock: before.NonBlocking}
	data.SendBuf, _ = unix.GetsockoptInt(s.FD, unix.SOL_SOCKET, unix.SO_SNDBUF)
	start, lastTold := time.Now(), time.Time{}
	var failure error
	// --timeout bounds all the waits together, as Python's settimeout
	// bounds the whole of sendall; without it, each wait is one send
	// call's, which the socket's SO_SNDTIMEO bounds alone.
	w := &waiting{s: s, events: unix.POLLOUT, timeout: timeout, call: call}
	for data.Sent < n {
		chunk := bulkPattern[:min(bulkChunk, n-data.Sent)]
		m, err := sendCall(s.FD, chunk, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		data.Calls++
		if m > 0 {
			data.Sent += m
			w.progressed = true
		}
		if l.Progress != nil && time.Since(start) > time.Second && time.Since(lastTold) > pollSlice {
			l.Progress(data.Sent, n)
			lastTold = time.Now()
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, unix.EAGAIN) || before.NonBlocking {
			failure = err
			break
		}
		data.Waits++
		if data.Waits == 1 { // what the wait is for is told once, as it begins
			room := "room in the send buffer (room comes as the peer reads)"
			if queued, ok := l.unaccepted(s, before); ok {
				room = "room in the send buffer (the connection waits in the accept queue of " + queued.Listener + ": nothing reads it before accept)"
			}
			w.what = sendWaitsFor(before, room)
		}
		if timeout == 0 && data.Waits > 1 {
			w = &waiting{s: s, events: unix.POLLOUT, call: call} // what it waits for was told
		}
		stop, _, werr := l.waitAfterEAGAIN(ctx, w)
		if werr != nil {
			failure = werr
			break
		}
		if stop != nil {
			data.Stopped = true
			if ctx.Err() == nil {
				data.TimedOut, data.LabTimeout = w.timeout.String(), w.labTimeout
			}
			break
		}
	}
	if l.Progress != nil && !lastTold.IsZero() {
		l.Progress(data.Sent, n)
	}
	took := time.Since(start)
	// A non-blocking socket's EAGAIN after some bytes ends the send with
	// what fit, as Python's send returns it; any other error (SO_SNDTIMEO's
	// EAGAIN too) fails the send, as it makes sendall raise, whatever was
	// taken before it.
	if failure != nil && (data.Sent == 0 || !before.NonBlocking || !errors.Is(failure, unix.EAGAIN)) {
		refused := sendData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, Asked: n,
			ShutRead: s.shutRead, ShutWrite: s.shutWrite}
		refused.describePattern(n)
		refused.whyRefused(l, s, before, failure, "send")
		report := sendProse.refused(call, failure, refused)
		bulkProse.code(report, data) // sendall, or send on a non-blocking socket
		if data.Sent > 0 {
			after := Read(s)
			report.Call = fmt.Sprintf("%s = %d  (then %s)", call, data.Sent, errnoName(failure))
			report.Failure.ForStep = bulkProse.Render("taken first", data) + " " + report.Failure.ForStep
			report.State = []Change{ownQueues(s, before, after)}
		}
		return report, nil
	}
	after := Read(s)
	data.Took, data.SendQ = ms(took), after.SendQ
	data.NotSent = min(after.NotSent, after.SendQ)
	data.InFlight = data.SendQ - data.NotSent
	if !l.CallsOnly {
		held := sentHeld(after)
		data.LoopbackDown, data.WayOut = held.Why, held.Fix
	}
	if data.LoopbackDown == "" {
		data.Stall, data.Nagle = stallOf(s, after, after.SendQ), nagleHolds(s, after)
	}
	data.Rate = bulkRate(data.Sent, took)
	report := &Report{
		Call:       fmt.Sprintf("%s = %d", call, data.Sent),
		State:      []Change{ownQueues(s, before, after)},
		Unfinished: data.Stopped,
	}
	if failure != nil { // a non-blocking socket's EAGAIN
		report.Call += fmt.Sprintf("  (then %s)", errnoName(failure))
	}
	if data.TimedOut != "" {
		report.Call += "  (timed out after " + data.TimedOut + ")"
	}
	peer := l.peerOf(s, after)
	if peer != nil {
		snap := l.look(peer)
		data.PeerLabel, data.PeerRecvQ = peer.Label(), snap.RecvQ
		report.State = append(report.State, otherQueues(peer, snap))
	} else if queued, ok := l.unaccepted(s, after); ok {
		data.Unaccepted, data.UnacceptedName, data.UnacceptedRecvQ = queued.Listener, queued.Name, queued.RecvQ
	}
	bulkProse.code(report, data)
	report.Says = bulkProse.Render("says", data)
	report.Next = bulkProse.Render("next", data)
	if left := data.Sent - min(data.Sent, after.NotSent); left > 0 && after.Connected() {
		report.Packets = []Packet{{From: s.Name, To: l.endName(s, after, peer), What: bytesLeft(left, after.dataSegments-before.dataSegments)}}
	}
	return report, nil
}

// A bulk send's rate is told only for at least rateBytes sent in at least
// rateTime. Below, it measures little but the system calls' own cost:
// the bytes were only copied into the send buffer, and the kernel takes
// them faster than TCP carries them, so the rate says nothing of the
// connection.
const (
	rateBytes = 1 << 20
	rateTime  = 10 * time.Millisecond
)

// bulkRate is how fast a bulk send of sent bytes went in took, as "12
// MB/s" or "850 kB/s", or "" where it would mean nothing.
func bulkRate(sent int, took time.Duration) string {
	if sent < rateBytes || took < rateTime {
		return ""
	}
	perSecond := float64(sent) / took.Seconds()
	if perSecond < 1e6 {
		return fmt.Sprintf("%.0f kB/s", perSecond/1e3)
	}
	return fmt.Sprintf("%.0f MB/s", perSecond/1e6)
}

// drained is what drain found.
type drained struct {
	Bytes int
	// Reads counts the calls that returned something: on a datagram
	// socket one datagram each, Empty of them with no bytes.
	Reads, Empty, Calls int
	Kept                []byte
	// What ended it: the last call returned 0 on a TCP socket, the end
	// of the stream (Closed), or an error, EAGAIN when nothing more was
	// queued (Err). Neither: it stopped at MaxBulk.
	Closed bool
	Err    error
	From   netip.AddrPort // the last datagram's sender
	// Datagrams are the first DatagramsShown datagrams, on a datagram
	// socket, each with the bytes of Kept that are its own.
	Datagrams []ReceivedDatagram
}

// drain reads everything queued on the socket now, without waiting, and
// keeps only the first bytes for display, so memory stays bounded. It
// stops at EAGAIN or another error, or on TCP at a 0 return; on a datagram
// socket 0 is an empty datagram, which it reads like any other.
func (l *Lab) drain(s *Socket, keep int) (d drained) {
	buf := make([]byte, bulkChunk)
	for d.Bytes < MaxBulk {
		n, from, err := recvCall(s.FD, buf, unix.MSG_DONTWAIT)
		d.Calls++
		switch {
		case err != nil:
			d.Err = err
			return d
		case n == 0 && s.Kind == Stream:
			d.Closed = true
			return d
		}
		d.Reads++
		if from != nil && s.Kind == Datagram {
			d.From = addrPortOf(from)
		}
		if n == 0 {
			d.Empty++
		}
		start := len(d.Kept)
		if start < keep {
			d.Kept = append(d.Kept, buf[:min(n, keep-start)]...)
		}
		if s.Kind == Datagram && len(d.Datagrams) < DatagramsShown {
			d.Datagrams = append(d.Datagrams, ReceivedDatagram{Data: d.Kept[start:len(d.Kept):len(d.Kept)], Size: n, From: d.From})
		}
		d.Bytes += n
	}
	return d
}
