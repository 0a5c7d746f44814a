package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

var sendProse = loadProse("send.txt", stepSections...)

// SendStep sends bytes on a connected socket: send(5, "You are connected") = 17.
var SendStep = &Step{
	Name:     "send",
	Usage:    `send SOCK [--timeout D] TEXT… | send SOCK --bytes N [--timeout D]   (text: words joined by spaces, or "quoted\r\n")`,
	Example:  `send conn "You are connected"`,
	Summary:  "send bytes on a connection",
	About:    sendProse.About(),
	Complete: socketNames(afterSend),
	Run:      runSend,
}

// afterSend offers --bytes and --timeout straight after the socket, and
// --timeout after --bytes N; the rest is a number, a duration or text.
func afterSend(_ *Lab, _ *Socket, before []string) []string {
	switch {
	case len(before) == 1:
		return []string{"--bytes", "--timeout"}
	case len(before) == 3 && before[1] == "--bytes", len(before) == 2 && strings.HasPrefix(before[1], "--bytes="):
		return []string{"--timeout"}
	}
	return nil
}

// sendData is what send.txt can use.
type sendData struct {
	Name, Label, Py string
	FD              int
	Text            string // the bytes, made safe to print
	PyBytes         string // the bytes as a Python expression
	GoBytes         string // the bytes as Go code: []byte("hi"), or data for --bytes
	Asked, Sent     int
	Pieces          int    // how many send calls it took
	Peer            string // the peer's address, or ""
	PeerLabel       string // the lab's socket at the other end, or ""
	PeerName        string
	PeerRecvQ       int // bytes waiting in the peer's receive queue
	// For a datagram: Ahead, another waited in the peer's queue already,
	// so the next recv there takes that one, of First bytes (SIOCINQ);
	// Kept, the lab's socket that dropped it for a full receive buffer
	// and holds those it kept, the first of First bytes.
	Ahead               bool
	First               int
	Kept                string
	SendQ               int // bytes sent but not yet acknowledged
	Datagram            bool
	Partial             bool   // a non-blocking send took only part
	Reset               bool   // the peer's kernel answered the bytes with a reset (RST)
	PeerHadClosed       bool   // and the peer's FIN had come before: the socket was CLOSE_WAIT
	ShutPeer            string // the session's socket there, which had shut down both directions
	ClosedPeer          string // or the name of the session's socket there, which had closed
	ShutRead            bool   // the shutdown step shut this socket's reading
	ShutWrite           bool   // and its writing
	Listening           bool   // a listener, which has no connection to send on
	Connecting          bool   // its handshake is not done (SYN_SENT): TCP sends nothing before
	NeverConnected      bool   // a TCP socket that was neither connected nor accepted
	Accepted            bool   // accept made it: it had a connection
	Unread              int    // bytes still in the receive queue after the call
	TooLarge            string // datagram.txt's [EMSGSIZE]
	PyNote              string // what the code lines' data is, for --bytes
	Fate                string // datagram.txt's sentence, when the lab's socket at the peer's address did not take the datagram, or an ICMP error came back
	Itself              bool   // it is connected to its own address: it is its own peer
	DefaultBuf          int    // recv's buffer when none is given
	Refusal, RefusalFix string // why ECONNREFUSED came, and what to do (refusedBy)
	Fragmented, FragFix string // why ENOBUFS came, and what to do (datagram.txt)
	// NotSent counts the bytes of this send that TCP has not sent yet,
	// AheadNotSent those of earlier sends queued before them, and
	// Stall says why they wait (StallOf), Nagle that Nagle's algorithm
	// holds them until the InFlight bytes sent before are acknowledged.
	NotSent, AheadNotSent, InFlight int
	Stall                           Stall
	Nagle                           bool
	// LoopbackDown is lodown.txt's [held]: the connection goes over a
	// loopback interface that is down, so the bytes still queued will not
	// arrive while it is. WayOut, said then instead of a recv at the peer
	// that would wait for them, is lodown.txt's next.
	LoopbackDown, WayOut string
}

// describe gives the bytes sent to the prose: as text, or for --bytes
// (pattern) as data that the code lines' note explains.
func (d *sendData) describe(msg []byte, pattern bool) {
	if pattern {
		d.describePattern(len(msg))
		return
	}
	d.Text, d.PyBytes, d.GoBytes = Printable(msg), pyBytes(msg), goBytes(msg)
}

// describePattern gives the prose n bytes of the pattern, as data that
// the code lines' note explains.
func (d *sendData) describePattern(n int) {
	d.Text, d.PyBytes, d.GoBytes = Counted(n, "byte")+" of sockstep's pattern", "data", "data"
	d.PyNote = "data: " + d.Text
}

func runSend(ctx context.Context, l *Lab, args []string) (*Report, error) {
	s, err := l.find(args, "should send")
	if err != nil {
		return nil, err
	}
	text, timeout, err := takeSendTimeout(args[1:])
	if err != nil {
		return nil, err
	}
	if bytesForm(text) {
		if len(text) < len(args)-1 {
			// Sent as text, it would be a few bytes where the learner
			// asked for millions.
			return nil, usageErr("--bytes goes straight after the socket: send SOCK --bytes N [--timeout D]")
		}
		rest, flags, err := takeFlags(text, []string{"bytes", "timeout"}, nil)
		if err != nil {
			return nil, err
		}
		if len(rest) > 0 {
			return nil, usageErr("send --bytes N sends N bytes of a pattern and takes no text")
		}
		if timeout, err = flags.timeout(); err != nil {
			return nil, err
		}
		size, _ := flags.get("bytes")
		if s.Kind == Stream {
			n, err := parseSize(size)
			if err != nil {
				return nil, err
			}
			return l.sendBulk(ctx, s, n, timeout, fmt.Sprintf("send(%d, %s)", s.FD, Counted(n, "byte")))
		}
		text = []string{"--bytes", size}
	}
	if len(text) == 0 {
		return nil, usageErr("send needs the text to send after the socket (use \"\" to send nothing)")
	}
	if err := strayOption([]string{"send", args[0]}, text, "--timeout", "--bytes"); err != nil {
		return nil, err
	}
	// A datagram socket's --bytes N is one datagram, as with sendto.
	msg, pattern, err := messageText("send", text)
	if err != nil {
		return nil, err
	}
	before := l.look(s)
	data := sendData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, Asked: len(msg), Datagram: s.Kind == Datagram,
		ShutRead: s.shutRead, ShutWrite: s.shutWrite, DefaultBuf: DefaultBufSize}
	if !l.CallsOnly {
		data.describe(msg, pattern)
	}
	call := "send(" + strconv.Itoa(s.FD) + ", " + QuoteCall(msg, CallBytes) + ", " + strconv.Itoa(len(msg)) + ")"
	if pattern {
		call = fmt.Sprintf("send(%d, %s)", s.FD, Counted(len(msg), "byte"))
	}

	var watch receiverWatch
	if s.Kind == Datagram && !l.CallsOnly && before.Connected() {
		watch = l.watchReceiver(before.Remote)
	}
	sent, pieces, stop, err := l.send(ctx, s, msg, nil, timeout, call, before)
	data.Sent, data.Pieces = sent, pieces
	if stop != nil {
		stop.Sent = sent
		stop.Says = fmt.Sprintf("%d of %d bytes were sent before the wait ended. ", sent, len(msg)) + stop.Says
		return stop, nil
	}
	if err != nil {
		data.describe(msg, pattern)
		data.whyRefused(l, s, before, err, "send")
		if errors.Is(err, unix.EMSGSIZE) {
			data.TooLarge = tooLarge(s, before.Remote)
		}
		if errors.Is(err, unix.ENOBUFS) && s.Kind == Datagram && before.Connected() {
			data.Fragmented, data.FragFix = fragmented(s, before.Remote, len(msg))
		}
		report := sendProse.refused(call, err, data)
		if !l.CallsOnly {
			// The kernel binds an unbound socket before it looks for the
			// peer, so even a refused send can leave it with an address.
			boundAnyway(report, s, false, before)
		}
		return report, nil
	}
	report := &Report{Call: call + " = " + strconv.Itoa(sent), Sent: sent}
	if !pattern {
		report.SentText = msg[:sent]
	}
	if l.CallsOnly {
		return report, nil
	}
	data.Partial = sent < len(msg)
	after := l.look(s)
	data.SendQ = after.SendQ
	// A TCP connection that is CLOSED right after a send that succeeded was
	// reset by the peer's kernel in answer to the bytes (on loopback, within
	// the call itself). It has no peer any more: the bytes went to the one
	// it had before.
	data.Reset = s.Kind == Stream && resetBySend(before, after)
	data.PeerHadClosed = data.Reset && before.State == CloseWait
	data.Unread = after.RecvQ
	if s.Kind == Stream && !data.Reset {
		data.NotSent = min(sent, after.NotSent)
		data.AheadNotSent = after.NotSent - data.NotSent
		held := sentHeld(after)
		data.LoopbackDown, data.WayOut = held.Why, held.Fix
		if data.LoopbackDown == "" {
			data.Stall = stallOf(s, after, after.NotSent)
			data.Nagle, data.InFlight = nagleHolds(s, after), after.SendQ-after.NotSent
		}
	}
	ends := after
	if data.Reset {
		ends = before
	}
	if ends.Connected() {
		data.Peer = ends.Remote.String()
	}
	report.State = []Change{ownQueues(s, before, after)}
	var peer *Socket
	icmp := false // the datagram's error came back: an ICMP "destination unreachable"
	// A socket connected to itself is its own peer: the state line above
	// shows what it sent in its own receive queue.
	data.Itself = ends.ToItself()
	if s.Kind == Datagram && ends.Connected() {
		// The datagram goes to the socket bound at the peer's address,
		// whether it is connected back or not.
		// peer is the socket the diagram shows it reach, which may have
		// dropped it.
		got := watch.fate(s, ends, ends.Remote, sent)
		icmp = got.errorWaits
		if icmp {
			report.State[0].After += errorWaits
		}
		if data.Fate = got.fate; got.r != nil {
			peer = got.r
			if peer != s {
				report.State = append(report.State, otherQueues(peer, got.snap))
			}
			data.First = got.snap.RecvQ
			switch {
			case data.Fate == "":
				data.PeerLabel, data.PeerName, data.PeerRecvQ = peer.Label(), peer.Name, got.snap.RecvQ
				data.Ahead = got.ahead
			case got.dropped:
				data.Kept = peer.Name
			}
		}
	} else if data.Itself && !data.Reset {
		peer, data.PeerLabel, data.PeerName, data.PeerRecvQ = s, s.Label(), s.Name, after.RecvQ
	} else if peer = l.peerOf(s, ends); peer != nil {
		snap := l.look(peer)
		data.PeerLabel, data.PeerName, data.PeerRecvQ = peer.Label(), peer.Name, snap.RecvQ
		report.State = append(report.State, otherQueues(peer, snap))
	}
	if data.Reset {
		if shut := l.shutPeer(s, before); shut != nil {
			peer, data.ShutPeer = shut, shut.Label() // the diagram's RST comes from it
			report.State = append(report.State, otherQueues(shut, Read(shut)))
		} else {
			data.ClosedPeer, _ = l.endedPeer(before)
		}
	}
	if sent > data.NotSent && ends.Connected() {
		other := l.endName(s, ends, peer)
		if s.Kind == Stream {
			report.Packets = streamPackets(s.Name, other, sent-data.NotSent, before, after, data.LoopbackDown != "", data.Reset)
		} else {
			report.Packets = []Packet{{From: s.Name, To: other, What: "datagram " + Counted(sent, "byte")}}
		}
		if icmp {
			report.Packets = append(report.Packets, Packet{From: other, To: s.Name, What: icmpUnreachable})
		}
	}
	return l.tell(report, sendProse, data), nil
}

// whyRefused gives the prose of a send that failed with err what the
// socket was before the call (a listener, never connected, made by
// accept) and, for ECONNREFUSED, who refused (refusedBy, for call: send
// or sendto).
func (d *sendData) whyRefused(l *Lab, s *Socket, before Snapshot, err error, call string) {
	d.Listening = before.FromKernel && before.State == Listen
	d.Connecting = before.FromKernel && before.State == SynSent
	d.Accepted = s.AcceptedFrom != ""
	d.NeverConnected = s.Kind == Stream && !d.Listening && !s.connectCalled && !d.Accepted
	if errors.Is(err, unix.ECONNREFUSED) {
		d.Refusal, d.RefusalFix = l.refusedBy(s, call)
	}
}

// nagleHolds says whether Nagle's algorithm is what keeps the bytes TCP
// has not sent yet: fewer than a segment wait, the peer's window has room
// for them, bytes sent before are not acknowledged, and TCP_NODELAY is off.
// The peer's kernel may delay that acknowledgement by 40 ms or more.
func nagleHolds(s *Socket, snap Snapshot) bool {
	if snap.NotSent == 0 || snap.PeerWindowFull || snap.NotSent >= snap.segment || snap.SendQ <= snap.NotSent {
		return false
	}
	off, err := unix.GetsockoptInt(s.FD, unix.IPPROTO_TCP, unix.TCP_NODELAY)
	return err == nil && off == 0
}

// takeSendTimeout reads an optional --timeout D before the text. Only
// there is it an option: what follows is text, which may itself start
// with "--", though a word that is one of send's options is refused
// (strayOption).
func takeSendTimeout(args []string) (text []string, timeout time.Duration, err error) {
	if len(args) == 0 {
		return args, 0, nil
	}
	value, given := strings.CutPrefix(args[0], "--timeout=")
	given = given && !quoted(args[0])
	switch {
	case given:
		args = args[1:]
	case args[0] == "--timeout" && len(args) > 1:
		value, given, args = args[1], true, args[2:]
	case args[0] == "--timeout":
		return nil, 0, usageErr("--timeout needs a value")
	}
	if !given {
		return args, 0, nil
	}
	timeout, err = ParseTimeout(value)
	return args, timeout, err
}

// strayOption refuses a text with one of the step's options among its
// words, as in `send conn hello --timeout 500ms`: sent as typed, the
// option would be bytes on the wire, not what the learner meant. Typed
// inside one quoted word with the words around it, the same text is sent.
// command is the words of the command up to the text, "send" "conn",
// joined only for the message, so that a send pays nothing for it.
func strayOption(command, text []string, options ...string) error {
	if bytesForm(text) {
		return nil // a datagram's --bytes N, which messageText reads
	}
	for i, word := range text {
		for _, opt := range options {
			if !isOption(word, opt) {
				continue
			}
			value, inWord := strings.CutPrefix(word, opt+"=")
			cmd := strings.Join(command, " ")
			words := slices.Concat(text[:i], text[i+1:])
			switch {
			case !inWord && i+1 < len(text):
				value, words = text[i+1], slices.Concat(text[:i], text[i+2:])
			case !inWord:
				value = map[string]string{"--timeout": "D", "--bytes": "N"}[opt]
			}
			right := cmd + " " + opt + " " + value
			switch {
			case opt == "--bytes":
				return usageErr(stray(right, "--bytes N sends N bytes of a pattern, takes no text, and goes straight after the socket", opt, cmd, text))
			case len(words) == 0:
				right += " TEXT"
			default:
				right += ` "` + strings.Join(words, " ") + `"`
			}
			return usageErr(stray(right, opt+" goes before the text", opt, cmd, text))
		}
	}
	return nil
}

// isOption says whether a word is the option opt, alone or as opt=VALUE,
// and not text quoted with others.
func isOption(word, opt string) bool {
	return (word == opt || strings.HasPrefix(word, opt+"=")) && !quoted(word)
}

// quoted says whether a word was typed inside quotes with others, as
// "--timeout=1s hi": it has a space in it. Such a word is text to send,
// not an option (sendto's noTimeout reads it so too).
func quoted(word string) bool { return strings.ContainsFunc(word, unicode.IsSpace) }

// stray is strayOption's message: the rule, the command as it should be
// where the words can be shown as they are, and how to send the option as
// text.
func stray(right, rule, opt, cmd string, text []string) string {
	advice, shown := asText(opt, cmd, text)
	if !shown {
		return rule + ". " + advice
	}
	return rule + ": " + right + ". " + advice
}

// asText says how to send the option opt, typed among the words text of
// a send or sendto, cmd being the command up to them, as text instead:
// strayOption and noTimeout end with it. It shows the command that does,
// with the words as one quoted word, where they can be shown so as they
// are (plain ASCII, no quote among them); shown says whether it does.
func asText(opt, cmd string, text []string) (advice string, shown bool) {
	advice = "To send " + opt + " as text, put it and the words around it inside one pair of quotes"
	joined := strings.Join(text, " ")
	if !plainASCII([]byte(cmd)) || !plainASCII([]byte(joined)) || strings.Contains(joined, `"`) {
		return advice, false
	}
	return advice + ": " + cmd + ` "` + joined + `"`, true
}

// bytesForm says whether a send's or sendto's words are --bytes N, a
// datagram of sockstep's pattern, rather than text.
func bytesForm(text []string) bool { return len(text) > 0 && strings.HasPrefix(text[0], "--bytes") }

// sendWaitsFor says what a send on a stream socket, in the state before
// the call, waits for: room in the send buffer, or, on a socket whose
// connect has not finished (a non-blocking one, made blocking again), the
// handshake.
func sendWaitsFor(before Snapshot, room string) string {
	if before.FromKernel && before.State == SynSent {
		return "the handshake to finish (SYN_SENT)"
	}
	return room
}

// send sends all of msg (to the address to, for sendto) on a blocking socket, or what the kernel takes at
// once on a non-blocking one. Each call is made with MSG_DONTWAIT, and
// between calls sockstep waits in poll for room in the send buffer, so
// that Ctrl-C, or timeout (zero: none) for each wait, can stop a send to a
// peer that never reads. MSG_NOSIGNAL keeps a send to a closed connection
// from killing the program with SIGPIPE: it fails with EPIPE instead.
// before is the socket's state before the call, which says what a wait
// is for.
func (l *Lab) send(ctx context.Context, s *Socket, msg []byte, to unix.Sockaddr, timeout time.Duration, call string, before Snapshot) (sent, pieces int, stop *Report, err error) {
	w := &waiting{s: s, events: unix.POLLOUT, timeout: timeout, call: call, what: sendWaitsFor(before, "room in the send buffer")}
	for {
		n, err := sendCall(s.FD, msg[sent:], nil, to, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		if n > 0 {
			sent += n
			w.progressed = true
		}
		pieces++
		switch {
		case errors.Is(err, unix.EAGAIN) && s.Kind == Stream:
		case err != nil:
			return sent, pieces, nil, err
		case sent == len(msg) || s.Kind == Datagram:
			return sent, pieces, nil, nil
		}
		// The send buffer is full. A non-blocking socket's send ends here,
		// with EAGAIN or with the part the kernel took.
		stop, _, werr := l.waitAfterEAGAIN(ctx, w)
		switch {
		case errors.Is(werr, errNonBlocking):
			return sent, pieces, nil, err
		case werr != nil || stop != nil:
			return sent, pieces, stop, werr
		}
	}
}

// resetBySend says whether a TCP send that succeeded, on a socket whose
// state was before and is after, was answered by an RST: a connection
// that is CLOSED right after it was reset by the peer's kernel in answer
// to the bytes (on loopback, within the call itself).
func resetBySend(before, after Snapshot) bool {
	return before.Connected() && after.FromKernel && after.State == Closed
}

// streamPackets are the arrows of a TCP send or sendto from one end to
// the other: the left bytes that crossed during the call, in the
// segments the kernel counted between the sender's states before and
// after it, dropped when loopback is down; and the RST the other end's
// kernel answered them with, when it had closed (reset).
func streamPackets(from, to string, left int, before, after Snapshot, dropped, reset bool) []Packet {
	what := bytesLeft(left, after.dataSegments-before.dataSegments)
	if dropped {
		what += ", dropped: loopback down"
	}
	packets := []Packet{{From: from, To: to, What: what}}
	if reset {
		packets = append(packets, Packet{From: to, To: from, What: "RST"})
	}
	return packets
}

// peerOf finds the lab's socket at the other end of s's connection, or
// nil. Only the narration shows it, so with CallsOnly it is not looked for.
func (l *Lab) peerOf(s *Socket, snap Snapshot) *Socket {
	if !snap.Connected() || l.CallsOnly {
		return nil
	}
	for _, t := range l.Sockets() {
		if t == s || t.Kind != s.Kind {
			continue
		}
		// The peer's address first: a listener has none, and most
		// sockets fail there.
		remote, err := peerName(t.FD)
		if err != nil || !SameEnd(remote, snap.Local) {
			continue
		}
		if local, err := sockName(t.FD); err == nil && SameEnd(local, snap.Remote) {
			return t
		}
	}
	return nil
}

// shutPeer finds, after a reset, the session's socket at the other end if
// it had shut down both directions, which is why its kernel reset the
// connection when data came. It keeps its address but has no connection
// any more, so peerOf, which asks for its peer, cannot find it. Sockets
// accepted from one listener share its address: one that still has a
// peer did not reset, and where the kernel still records the other end
// of a socket's last connection (lastConn), that end must be s.
func (l *Lab) shutPeer(s *Socket, ends Snapshot) *Socket {
	for _, t := range l.Sockets() {
		if t == s || t.Kind != Stream || !t.shutRead || !t.shutWrite {
			continue
		}
		if local, err := sockName(t.FD); err != nil || !SameEnd(local, ends.Remote) {
			continue
		}
		if _, err := peerName(t.FD); err == nil {
			continue
		}
		Read(t) // keeps the ends of t's last connection
		if k := t.lastConn.Load(); k != nil && *k != endOf(ends.Remote, ends.Local) {
			continue
		}
		return t
	}
	return nil
}

// DatagramSize is the size of a datagram, in words: "1 byte", "empty
// (0 bytes)".
func DatagramSize(n int) string {
	if n == 0 {
		return "empty (0 bytes)"
	}
	return Counted(n, "byte")
}

// errorWaits ends the state line of a socket on which the ICMP error for
// a datagram it sent waits: a state fact, shown at every narration that
// shows state, which poll reports and the next call returns.
const errorWaits = ", error pending (poll's POLLERR): the next call fails with it"

// queues is a socket's state and queued bytes, for a state line.
func queues(snap Snapshot) string {
	state := snap.State.String()
	if !snap.FromKernel || snap.State == 0 {
		state = ""
	}
	switch {
	case !snap.QueuesKnown:
		return strings.TrimSpace(state + " queues not known")
	case snap.Kind == Datagram:
		waiting := "no datagram waiting"
		if snap.DatagramWaiting() {
			waiting = "next datagram " + DatagramSize(snap.RecvQ)
		}
		if snap.Dropped > 0 {
			waiting += fmt.Sprintf(", %d dropped", snap.Dropped)
		}
		return waiting
	}
	return strings.TrimSpace(fmt.Sprintf("%s  recv-q %d  send-q %d", state, snap.RecvQ, snap.SendQ))
}

// goBytes writes the bytes as Go code, a string literal made a []byte.
func goBytes(b []byte) string { return "[]byte(" + strconv.QuoteToASCII(string(b)) + ")" }

// pyBytes writes the bytes the way the tutorial would send them: a string
// encoded as UTF-8 when they are plain text, a bytes literal otherwise.
func pyBytes(b []byte) string {
	plain := utf8.Valid(b)
	for _, r := range string(b) {
		if r < 0x20 || r == 0x7f {
			plain = false
		}
	}
	if plain {
		return strconv.Quote(string(b)) + `.encode("utf-8")`
	}
	var q strings.Builder
	q.WriteString(`b"`)
	for _, c := range b {
		switch {
		case c == '\n':
			q.WriteString(`\n`)
		case c == '\r':
			q.WriteString(`\r`)
		case c == '\t':
			q.WriteString(`\t`)
		case c == '"' || c == '\\':
			q.WriteByte('\\')
			q.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			q.WriteByte(c)
		default:
			fmt.Fprintf(&q, `\x%02x`, c)
		}
	}
	q.WriteString(`"`)
	return q.String()
}
