package steps

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

var (
	sendtoProse   = loadProse("sendto.txt", stepSections...)
	datagramProse = loadProse("datagram.txt", "deaf", "dropped", "unreachable", "EMSGSIZE", "bound anyway", "refused", "refused fix", "ENOBUFS", "ENOBUFS fix", "port 0")
)

// SendtoStep sends one datagram to an address: sendto(3, "ping", 4, 127.0.0.1:9090) = 4.
var SendtoStep = &Step{
	Name:     "sendto",
	Usage:    "sendto SOCK HOST PORT TEXT… | sendto SOCK HOST PORT --bytes N   (one datagram of N bytes of a pattern)",
	Example:  `sendto u 127.0.0.1 9090 "ping"`,
	Summary:  "send one datagram to an address (UDP)",
	About:    sendtoProse.About(),
	Complete: socketNames(hostThenAfterPort("--bytes")),
	Run:      runSendto,
}

// sendtoData is what sendto.txt can use.
type sendtoData struct {
	GoAddr          string // the address as Go code for x/sys/unix
	Name, Label, Py string
	FD              int
	To, PyHost      string
	Port            int
	Sent            int
	Asked           int // the bytes' length
	PyBytes         string
	GoBytes         string // the bytes as Go code: []byte("hi"), or data for --bytes
	Local           string
	AutoBound       bool   // the kernel gave the socket an address to send from
	Receiver        string // the lab's socket whose receive queue the datagram is in, or ""
	ReceiverName    string
	// Ahead: a datagram already waited in the receiver's queue, so the
	// next recvfrom there takes that one, of First bytes (SIOCINQ gives
	// the size of the first datagram queued, and of no other).
	Ahead bool
	First int
	// Kept names the lab's socket that dropped the datagram for a full
	// receive buffer: it holds those it kept, the first of First bytes.
	Kept                string
	Itself              bool // the receiver is the sending socket
	Stream              bool
	TooLarge            string // datagram.txt's [EMSGSIZE]
	PyNote              string // what the code lines' data is, for --bytes
	DefaultBuf          int    // recvfrom's buffer when none is given
	Fate                string // datagram.txt's sentence, when the lab's socket there did not take the datagram, or an ICMP error came back
	ErrorWaits          bool   // that error waits on the socket, for its next call
	Connected           bool   // a UDP socket with a default peer
	ShutWrite           bool   // the shutdown step shut this socket's writing
	Fragmented, FragFix string // why ENOBUFS came, and what to do (datagram.txt)
	// EPIPE or ECONNREFUSED as send tells them (send.txt's sections for
	// the errno): sendto fails there as send does.
	AsSend, AsSendFix string
	// ENETUNREACH from a socket that takes IPv6 only to an IPv4-mapped
	// address: ipv6only.txt's explanation.
	Mapped mappedRefusal
	// EADDRNOTAVAIL to ::1 or ENETUNREACH to 127.0.0.1 while the
	// loopback interface is down: lodown.txt's explanation.
	LoopbackDown loopbackDownRefusal
	// The link-local IPv6 address a datagram went to, with no interface
	// given, or "".
	LinkLocal string
}

// MaxDatagramAsk bounds sendto --bytes, and send --bytes on a datagram
// socket: far above what one UDP datagram
// carries, so the kernel's EMSGSIZE can be met, and far below what memory
// would notice.
const MaxDatagramAsk = 1 << 20

func runSendto(ctx context.Context, l *Lab, args []string) (*Report, error) {
	s, err := l.find(args, "should send")
	if err != nil {
		return nil, err
	}
	if len(args) < 4 {
		return nil, usageErr("sendto takes a socket, the destination's host and port, and the text")
	}
	port, err := peerPort(args[2], s.Kind, "sendto")
	if err != nil {
		return nil, err
	}
	addr, _, err := resolveHost(args[1], s)
	if err != nil {
		return nil, err
	}
	to := netip.AddrPortFrom(addr, port)
	cmd, text := "sendto "+strings.Join(args[:3], " "), args[3:]
	if err := noTimeout(s, cmd, text); err != nil {
		return nil, err
	}
	if err := strayOption([]string{cmd}, text, "--bytes"); err != nil {
		return nil, err
	}
	msg, pattern, err := messageText("sendto", args[3:])
	if err != nil {
		return nil, err
	}
	before := Read(s)
	data := sendtoData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, To: to.String(), PyHost: pyHost(args[1]),
		Port: int(port), Asked: len(msg), PyBytes: pyBytes(msg), GoBytes: goBytes(msg), AutoBound: !before.Bound(), Stream: s.Kind == Stream,
		GoAddr: goSockaddr(s.Family, to), DefaultBuf: DefaultBufSize,
		ShutWrite: s.shutWrite}
	call := fmt.Sprintf("sendto(%d, %s, %d, %s)", s.FD, QuoteCall(msg, CallBytes), len(msg), to)
	if pattern {
		data.PyBytes, data.GoBytes, data.PyNote = "data", "data", "data: "+Counted(len(msg), "byte")+" of sockstep's pattern"
		call = fmt.Sprintf("sendto(%d, %s, %s)", s.FD, Counted(len(msg), "byte"), to)
	}
	var watch receiverWatch
	if s.Kind == Datagram {
		watch = l.watchReceiver(to)
	}
	sent, _, stop, err := l.send(ctx, s, msg, sockaddr(s.Family, to), 0, call, before)
	if stop != nil {
		return stop, nil
	}
	if err != nil {
		if errors.Is(err, unix.EPIPE) && (s.Kind == Stream || s.shutWrite) || errors.Is(err, unix.ECONNREFUSED) {
			d := sendData{Name: s.Name, Label: s.Label(), ShutWrite: s.shutWrite, Datagram: s.Kind == Datagram}
			d.whyRefused(l, s, before, err, "sendto")
			errno := errnoName(err)
			data.AsSend, data.AsSendFix = sendProse.Render(errno, d), sendProse.Render(errno+" fix", d)
		}
		if errors.Is(err, unix.EMSGSIZE) {
			data.TooLarge = tooLarge(s, to)
		}
		data.Mapped = refusedMapped(s, before, addr, err, "Send")
		data.LoopbackDown = refusedLoopbackDown(addr, err, "sendto")
		if errors.Is(err, unix.ENOBUFS) && s.Kind == Datagram {
			data.Fragmented, data.FragFix = fragmented(s, to, len(msg))
		}
		report := sendtoProse.refused(call, err, data)
		// The kernel binds an unbound socket before it refuses the
		// datagram (EMSGSIZE, EACCES), as it does for send.
		boundAnyway(report, s, false, before)
		return report, nil
	}
	after := Read(s)
	data.Sent, data.Local = sent, after.Local.String()
	if s.Kind == Datagram && addr.Is6() && !addr.Is4In6() && addr.IsLinkLocalUnicast() {
		data.LinkLocal = addr.String()
	}
	report := &Report{
		Call:  fmt.Sprintf("%s = %d", call, sent),
		State: []Change{{Who: s.Label(), Before: addressState(s, before), After: addressState(s, after)}},
		Peer:  to,
	}
	if s.Kind == Stream {
		// The address is ignored: the bytes go down the connection, to
		// the socket at its other end, as with send.
		// A connection the call found gone at the other end was reset in
		// answer to the bytes: they went to the end it had before.
		reset, ends := resetBySend(before, after), after
		if reset {
			ends = before
		}
		peer := l.peerOf(s, ends)
		if reset && peer == nil {
			peer = l.shutPeer(s, before) // the RST came from it, if it shut down both ways
		}
		data.Itself = ends.ToItself()
		if data.Itself {
			data.Receiver, data.ReceiverName = s.Label(), s.Name
		} else if peer != nil {
			data.Receiver, data.ReceiverName = peer.Label(), peer.Name
			snap := l.look(peer)
			report.State = append(report.State, otherQueues(peer, snap))
		}
		notSent := 0 // the bytes still in the send queue have not crossed
		if !reset {
			notSent = min(sent, after.NotSent)
		}
		if sent > notSent && ends.Connected() {
			report.Packets = streamPackets(s.Name, l.endName(s, ends, peer), sent-notSent, before, after, sentHeld(after).Why != "", reset)
		}
	} else {
		receiver := to.String()
		got := watch.fate(s, after, to, sent)
		data.Fate, data.ErrorWaits, data.Connected = got.fate, got.errorWaits, after.Connected()
		if r := got.r; r != nil {
			receiver = r.Name
			data.Itself = r == s
			if !data.Itself { // its one state line is above
				report.State = append(report.State, otherQueues(r, got.snap))
			}
			data.First = got.snap.RecvQ
			switch {
			case data.Fate == "":
				data.Receiver, data.ReceiverName, data.Ahead = r.Label(), r.Name, got.ahead
			case got.dropped:
				data.Kept = r.Name
			}
		}
		report.Packets = []Packet{{From: s.Name, To: receiver, What: "datagram " + Counted(sent, "byte")}}
		if got.errorWaits {
			report.State[0].After += errorWaits
			report.Packets = append(report.Packets, Packet{From: receiver, To: s.Name, What: icmpUnreachable})
		}
	}
	sendtoProse.code(report, data)
	report.Says = sendtoProse.Render("says", data)
	report.Next = sendtoProse.Render("next", data)
	return report, nil
}

// noTimeout refuses a --timeout among sendto's words, cmd being the
// command up to them: send takes one, sendto does not, and as text it
// would be bytes of the datagram. A UDP sendto to this machine never
// waits: the kernel hands the datagram to its receiver's queue, or drops
// it, within the call, and frees the sender's buffer as it does.
func noTimeout(s *Socket, cmd string, text []string) error {
	if !slices.ContainsFunc(text, func(w string) bool { return isOption(w, "--timeout") }) {
		return nil
	}
	why := "sendto takes no --timeout: a UDP datagram to this machine is queued for its receiver or dropped at once, so sendto never waits for it"
	if s.Kind == Stream {
		why = "sendto takes no --timeout; on a TCP socket it sends as send does, and send takes one: send " + s.Name + " --timeout D TEXT"
	}
	if bytesForm(text) {
		return usageErr(why)
	}
	advice, _ := asText("--timeout", cmd, text)
	return usageErr(why + ". " + advice)
}

// fragmented is what send and sendto say of a datagram of n bytes from s
// to `to` that the kernel refused with ENOBUFS, and what to do:
// datagram.txt's [ENOBUFS] and [ENOBUFS fix] when it was larger than one
// packet there, as the kernel then cuts it into fragments and refuses
// those that would take the socket's send memory past twice SO_SNDBUF;
// "" otherwise.
func fragmented(s *Socket, to netip.AddrPort, n int) (why, fix string) {
	f, header := s.Family, 40+8 // IPv6 and UDP headers
	if s.Family == IPv4 || to.Addr().Is4In6() {
		f, header = IPv4, 20+8
	}
	data := datagramFate{Sender: s.Label(), SenderName: s.Name, To: to.String(), Sent: n}
	data.MTU = pathMTU(f, netip.AddrPortFrom(to.Addr().Unmap(), to.Port()))
	data.OnePacket = data.MTU - header
	if data.MTU == 0 || n <= data.OnePacket {
		return "", ""
	}
	data.SndBuf, _ = unix.GetsockoptInt(s.FD, unix.SOL_SOCKET, unix.SO_SNDBUF)
	data.Bigger = max(65536, data.SndBuf)
	return datagramProse.Render("ENOBUFS", data), datagramProse.Render("ENOBUFS fix", data)
}

// icmpUnreachable labels, in the diagram, the ICMP "destination
// unreachable" that answered a datagram no socket took, whose error then
// waits on the sending socket.
const icmpUnreachable = "ICMP unreachable"

// boundAnyway adds to the report of a refused send, sendto or connect
// (connects) on s, whose state before the call was before, that the
// kernel bound it on the way, when it did: a state line, and
// datagram.txt's sentence. Only a socket that had no address is read
// again.
func boundAnyway(report *Report, s *Socket, connects bool, before Snapshot) {
	if before.Bound() {
		return
	}
	after := readState(s)
	if !after.Bound() {
		return
	}
	report.State = []Change{{Who: s.Label(), Before: addressState(s, before), After: addressState(s, after)}}
	if f := report.Failure; f != nil {
		bound := datagramProse.Render("bound anyway", datagramFate{Sender: s.Label(), Local: after.Local.String(), Connects: connects})
		f.ForStep = strings.TrimSpace(f.ForStep + " " + bound)
	}
}

// messageText is what one send or sendto call (the step named step) sends:
// the words joined by spaces, or with --bytes N one datagram's N bytes of
// the bulk pattern (pattern is true).
func messageText(step string, words []string) (msg []byte, pattern bool, err error) {
	size, ok := strings.CutPrefix(words[0], "--bytes=")
	switch {
	case ok && len(words) == 1:
	case words[0] == "--bytes" && len(words) == 2:
		size = words[1]
	case words[0] == "--bytes" || ok:
		return nil, false, usageErr(step + " --bytes N sends one datagram of N bytes and takes no text")
	default:
		return []byte(strings.Join(words, " ")), false, nil
	}
	n, err := parseSize(size)
	if err != nil {
		return nil, false, usageErr(fmt.Sprintf("%s --bytes takes the size of one datagram, at least 1 byte, such as 100, 1400 or 60K (UDP carries at most 65,507 bytes in one over IPv4, 65,527 over IPv6), not %s", step, QuoteShort(size)))
	}
	if n > MaxDatagramAsk {
		return nil, false, usageErr(fmt.Sprintf("%s --bytes sends one datagram, of at most %d bytes here (UDP itself carries at most 65,507 bytes over IPv4, 65,527 over IPv6)", step, MaxDatagramAsk))
	}
	return patternOf(n), true, nil
}

// tooLarge is what send and sendto say of a datagram from s to `to` that
// the kernel refused with EMSGSIZE: UDP's limit over the IP version it
// goes over, which is IPv4 when an IPv6 socket sends to an IPv4-mapped
// address (::ffff:a.b.c.d).
func tooLarge(s *Socket, to netip.AddrPort) string {
	mapped := s.Family == IPv6 && to.Addr().Is4In6()
	return datagramProse.Render("EMSGSIZE", datagramFate{Sender: s.Label(), To: to.Addr().String(),
		OverIPv6: s.Family == IPv6 && !mapped, Mapped: mapped})
}

// socketWhere finds the lab's first socket of kind k whose addresses and
// queues (poll and fcntl are not read) satisfy match.
func (l *Lab) socketWhere(k Kind, match func(*Socket, Snapshot) bool) (*Socket, Snapshot, bool) {
	for _, s := range l.Sockets() {
		if s.Kind != k {
			continue
		}
		if snap := readState(s); match(s, snap) {
			return s, snap, true
		}
	}
	return nil, Snapshot{}, false
}

// refusedBy says why call (send, sendto, recv or recvfrom) on s failed
// with ECONNREFUSED, and what to do about it. For a TCP socket it is the
// connect that returned EINPROGRESS and was refused after
// (refusedLater); for a connected UDP socket, an earlier datagram the
// kernel at its peer refused: datagram.txt's [refused] and [refused fix].
func (l *Lab) refusedBy(s *Socket, call string) (why, fix string) {
	if s.Kind == Stream {
		return l.refusedLater(s, call)
	}
	data := datagramFate{SenderName: s.Name}
	data.Receiver, data.ReceiverName, data.ConnectedTo, data.Local = l.deafPeer(s)
	return datagramProse.Render("refused", data), datagramProse.Render("refused fix", data)
}

// deafPeer finds, for a connected UDP socket s whose earlier datagram was
// refused, the lab's socket bound at its peer's address that took no
// datagram from it because it is connected to another peer: its label and
// name, that peer, and s's own address, or nothing.
func (l *Lab) deafPeer(s *Socket) (label, name, peer, local string) {
	snap := readState(s)
	if s.Kind != Datagram || !snap.Connected() {
		return "", "", "", ""
	}
	r, rs, ok := deafTo(l.datagramSocketsAt(snap.Remote), snap.Local)
	if !ok {
		return "", "", "", ""
	}
	return r.Label(), r.Name, rs.Remote.String(), snap.Local.String()
}

// receiveMemory is what SO_MEMINFO says of a socket's receive side.
type receiveMemory struct {
	Held, Limit int // bytes of kernel memory its unread data holds, and SO_RCVBUF
	Drops       int // packets dropped instead of queued
	Known       bool
}

// A receiverWatch is the lab's datagram sockets bound where a datagram
// is about to be sent, found before the send, each with its receive
// memory then. Several can share an address (SO_REUSEADDR, SO_REUSEPORT,
// or an IPv6 socket and an IPv4 one on the same port); the kernel gives
// the datagram to one of them by rules of its own, so after the send, fate
// reads which one's memory or drops moved.
type receiverWatch struct {
	bound []watched
}

type watched struct {
	s       *Socket
	before  receiveMemory
	waiting bool // a datagram waited in its queue already
}

func (l *Lab) watchReceiver(to netip.AddrPort) receiverWatch {
	var w receiverWatch
	for _, s := range l.datagramSocketsAt(to) {
		w.bound = append(w.bound, watched{s: s, before: receiveMemoryOf(s.FD), waiting: datagramWaits(s.FD)})
	}
	return w
}

// datagramSocketsAt is the lab's UDP sockets bound where a datagram to
// `to` may go. Only their addresses are asked for.
func (l *Lab) datagramSocketsAt(to netip.AddrPort) []*Socket {
	var at []*Socket
	for _, s := range l.Sockets() {
		if s.Kind != Datagram {
			continue
		}
		if local, err := sockName(s.FD); err == nil && covers(local, to) {
			at = append(at, s)
		}
	}
	return at
}

// deafTo says whether every one of socks, the lab's UDP sockets bound
// where a datagram from the address `from` goes, is connected to another
// peer: a connected UDP socket takes datagrams from its peer only (sent
// from every interface, the route picks the address), so none takes it,
// and the kernel answers with an ICMP "port unreachable". It returns the
// first of them, and its state.
func deafTo(socks []*Socket, from netip.AddrPort) (*Socket, Snapshot, bool) {
	if len(socks) == 0 {
		return nil, Snapshot{}, false
	}
	for _, s := range socks {
		if remote, err := peerName(s.FD); err != nil || covers(from, remote) {
			return nil, Snapshot{}, false
		}
	}
	return socks[0], readState(socks[0]), true
}

// A delivery is what fate found: the lab's socket the datagram went to
// (nil when the kernel shows none, or several), its state after, and
// datagram.txt's sentence when that socket did not take it, or when no
// socket took it and an ICMP error came back to the sender; errorWaits
// says that error waits on the sender, for its next call. ahead says the
// socket queued it behind a datagram that waited there already; dropped,
// that it dropped it for a full receive buffer.
type delivery struct {
	r              *Socket
	snap           Snapshot
	fate           string
	errorWaits     bool
	ahead, dropped bool
}

// datagramFate is what datagram.txt can use.
type datagramFate struct {
	Receiver, Sender         string
	ReceiverName, SenderName string // [refused fix]
	// [deaf]: the receiver is connected to another peer.
	ConnectedTo string
	Refused     bool // and the sender, connected to the receiver, hears of it
	// [dropped]: its kernel dropped the datagram.
	Full          bool // its unread datagrams had filled its receive buffer
	Sent          int  // the datagram's bytes
	Held, RcvBuf  int
	Before, After int // its count of drops
	// [unreachable]: no socket took it, and an ICMP error came back.
	Loopback bool // to a loopback address: "port unreachable"
	// [bound anyway]: the kernel bound the sender, which had no address.
	Local    string // the address it has now
	Connects bool   // on the way to a connect, not a send
	// [EMSGSIZE]: it was too large to send.
	To               string // the address it was sent to
	OverIPv6, Mapped bool   // it goes over IPv6; an IPv6 socket sent it to an IPv4-mapped address
	// [ENOBUFS]: it did not fit in one packet to To, and the kernel
	// refused its fragments.
	MTU       int // the route's MTU
	OnePacket int // the most bytes a datagram carries in one packet there
	SndBuf    int // SO_SNDBUF, as getsockopt reads it
	Bigger    int // an SO_SNDBUF to ask for instead
	// [port 0]: the step, connect or sendto, was given port 0.
	Step string
}

// fate reads the watched sockets again after s (its state after) sent a
// datagram of sent bytes addressed to `to`, and finds the one the kernel
// gave it to: the one whose receive memory grew (it queued the datagram)
// or whose count of drops grew (it dropped it). When none did, every one
// may be connected to another peer (deafTo). A sender connected to `to`
// hears of a datagram no socket took: the ICMP error that came back waits
// on it (on loopback, within the send), which poll shows.
func (w receiverWatch) fate(s *Socket, after Snapshot, to netip.AddrPort, sent int) delivery {
	var got []int
	var now receiveMemory
	for i, b := range w.bound {
		m := receiveMemoryOf(b.s.FD)
		if b.before.Known && m.Known && (m.Held > b.before.Held || m.Drops > b.before.Drops) {
			got, now = append(got, i), m
		}
	}
	switch {
	case len(got) == 1:
		b := w.bound[got[0]]
		dropped := now.Drops > b.before.Drops
		out := delivery{r: b.s, snap: readState(b.s), ahead: b.waiting && !dropped, dropped: dropped}
		if dropped {
			// The kernel takes a datagram into an empty queue whatever its
			// size; otherwise it drops one whose memory, payload and
			// bookkeeping (its truesize, not known here), would take the
			// queue's past SO_RCVBUF.
			d := datagramFate{Receiver: b.s.Label(), Sender: s.Label(), Full: now.Held > 0, Sent: sent,
				Held: now.Held, RcvBuf: now.Limit, Before: b.before.Drops, After: now.Drops}
			out.fate = datagramProse.Render("dropped", d)
		}
		return out
	case len(got) > 1:
		return delivery{}
	}
	refused := errorPending(s.FD)
	socks := make([]*Socket, len(w.bound))
	for i, b := range w.bound {
		socks[i] = b.s
	}
	r, snap, deaf := deafTo(socks, after.Local)
	switch {
	case deaf:
		d := datagramFate{Receiver: r.Label(), Sender: s.Label(), ConnectedTo: snap.Remote.String(), Refused: refused}
		return delivery{r: r, snap: snap, fate: datagramProse.Render("deaf", d), errorWaits: refused}
	case refused:
		d := datagramFate{Sender: s.Label(), Loopback: to.Addr().IsLoopback()}
		return delivery{fate: datagramProse.Render("unreachable", d), errorWaits: true}
	}
	return delivery{}
}
