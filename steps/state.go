package steps

import (
	"fmt"
	"net/netip"
	"time"
)

// TCPState is a TCP connection's state as the kernel numbers it
// (include/net/tcp_states.h). Zero means the state is not known.
type TCPState uint8

// The states of RFC 793's state machine, with Linux's numbers.
const (
	Established TCPState = 1 + iota
	SynSent
	SynRecv
	FinWait1
	FinWait2
	TimeWait
	Closed
	CloseWait
	LastAck
	Listen
	Closing
)

var stateNames = map[TCPState]string{
	Established: "ESTABLISHED", SynSent: "SYN_SENT", SynRecv: "SYN_RECV",
	FinWait1: "FIN_WAIT1", FinWait2: "FIN_WAIT2", TimeWait: "TIME_WAIT",
	Closed: "CLOSED", CloseWait: "CLOSE_WAIT", LastAck: "LAST_ACK",
	Listen: "LISTEN", Closing: "CLOSING",
}

func (s TCPState) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return "unknown"
}

// WriteShut says whether this side has sent its FIN while the peer has not
// closed: FIN_WAIT1 or FIN_WAIT2. The peer may still send.
func (s TCPState) WriteShut() bool { return s == FinWait1 || s == FinWait2 }

// SentFIN says whether this side has sent its FIN, whoever closed first,
// while its socket is open (shutdown write): send then fails with EPIPE,
// and close sends no FIN of its own.
func (s TCPState) SentFIN() bool { return s.WriteShut() || s == Closing || s == LastAck }

// A Snapshot is what the kernel says about one socket at one moment.
type Snapshot struct {
	Kind   Kind
	Local  netip.AddrPort // invalid when unbound
	Remote netip.AddrPort // invalid when not connected
	// Released is, for a CLOSED TCP socket whose port went back to the
	// kernel when its connect failed or its connection was reset, the
	// address getsockname still gives; Local is then unbound.
	Released netip.AddrPort

	// FromKernel is false where this system cannot be asked for TCP state
	// and queues; State and the queue lengths are then not known.
	FromKernel bool
	State      TCPState // TCP only

	// A listener's accept queue: connections that finished the handshake
	// and wait for accept(), against the backlog the kernel applies.
	AcceptQueue, Backlog int

	// Bytes in the receive queue (not yet read by recv) and in the send
	// queue (sent by send but not yet acknowledged by the peer). For a
	// datagram socket Linux reports the size of the next datagram only.
	RecvQ, SendQ int
	QueuesKnown  bool
	// EmptyDatagram: the next datagram is an empty one. SIOCINQ gives 0
	// for it as for none, and poll tells them apart.
	EmptyDatagram bool

	// NotSent counts the bytes of the send queue that TCP has not sent yet
	// (TCP_INFO's tcpi_notsent_bytes); PeerWindowFull says why: what is
	// in flight fills the window the peer offers (tcpi_snd_wnd), so TCP
	// may not send another segment until the peer reads.
	NotSent        int
	PeerWindowFull bool
	// The peer's window and the largest segment, from TCP_INFO, for
	// PeerWindowFull; window < 0 where the kernel does not say.
	window, segment int
	// sentNothing: TCP_INFO says the connection has carried no data from
	// this side (tcpi_bytes_sent is 0), so the peer's kernel acknowledges
	// its FIN within milliseconds, not after a delayed ACK of 40 ms.
	sentNothing bool
	// dataSegments is how many segments carrying data the connection has
	// sent, not counting those sent again (tcpi_data_segs_out less
	// tcpi_total_retrans); 0 where the kernel does not say.
	dataSegments int
	// What TCP_INFO says of segments sent again, for TimerOf: how many
	// times the retransmission timeout has doubled (tcpi_backoff), that
	// timeout (tcpi_rto), and the segments sent again in all
	// (tcpi_total_retrans).
	backoff, resent int
	rto             time.Duration

	// Dropped counts the datagrams the kernel has dropped instead of
	// queueing them for a datagram socket (its receive buffer was full).
	Dropped int
	// QueueMemory is the kernel memory a datagram socket's queued
	// datagrams take (SO_MEMINFO): each datagram that joins the queue adds
	// to it, and a read never does; Linux gives it back in batches.
	QueueMemory int

	// From poll(2): whether accept/recv would return at once (Readable),
	// whether send would (Writable), whether nothing more can be read once
	// the queue is empty (ReadShut: the peer's FIN, or this side's
	// shutdown(SHUT_RD)), and whether an error such as a reset is pending.
	Readable, Writable, ReadShut, Hangup, Error bool
	// PollNotWritable: a TCP socket's send would take bytes at once
	// (Writable, from SO_MEMINFO), yet poll and select call it not
	// writable, as they do until a third of the send buffer is free.
	PollNotWritable bool

	// NonBlocking is O_NONBLOCK: steps return EAGAIN instead of waiting.
	NonBlocking bool
}

// PeerClosed says whether the peer has closed its side: the state of a
// TCP connection says the peer's FIN came (CLOSE_WAIT, LAST_ACK,
// CLOSING), rather than this side having shut down reading. Linux shuts
// the reading side (ReadShut) as it takes the FIN, so the state says it
// in a snapshot read without poll too.
func (s Snapshot) PeerClosed() bool {
	return s.Kind == Stream && s.FromKernel && (s.State == CloseWait || s.State == LastAck || s.State == Closing)
}

// DatagramWaiting says whether a datagram socket has a datagram to read.
func (s Snapshot) DatagramWaiting() bool { return s.RecvQ > 0 || s.EmptyDatagram }

// Bound says whether the socket has a local address.
func (s Snapshot) Bound() bool { return s.Local.IsValid() && s.Local.Port() != 0 }

// Connected says whether the socket has a peer.
func (s Snapshot) Connected() bool { return s.Remote.IsValid() }

// ToItself says whether the socket's peer is its own address: a TCP
// socket that connected to its own port (a simultaneous open with
// itself), or a UDP socket whose default peer is its own address.
// Whatever it sends, it receives.
func (s Snapshot) ToItself() bool { return s.Connected() && SameEnd(s.Local, s.Remote) }

// StateWord is the one-word state shown in tables: the TCP state, or for a
// datagram socket whether it has a default peer.
func (s Snapshot) StateWord(k Kind) string {
	switch {
	case k == Datagram && s.Connected():
		return "connected"
	case k == Datagram && s.Bound():
		return "bound"
	case k == Datagram:
		return "unbound"
	case !s.FromKernel:
		return "(not known)"
	}
	return s.State.String()
}

// Summary is a socket's state in a few words for a state line: the TCP
// state, and for a listener its accept queue.
func (s Snapshot) Summary(k Kind) string {
	w := s.StateWord(k)
	if s.State == Listen {
		w += fmt.Sprintf("  accept queue %d/%d", s.AcceptQueue, s.Backlog)
	}
	return w
}

// ShowAddr prints an address the way the learner typed it, with IPv6 in
// brackets, and "—" for none.
func ShowAddr(a netip.AddrPort) string {
	if !a.IsValid() {
		return "—"
	}
	return a.String()
}

// TimerKind names the timer the kernel runs for a TCP connection, with
// the numbers sock_diag and /proc/net/tcp give it (idiag_timer, "tr").
type TimerKind uint8

// The timers a TCP connection may run; NoTimer when none is.
const (
	NoTimer         TimerKind = 0
	RetransmitTimer TimerKind = 1 // ss: on
	KeepaliveTimer  TimerKind = 2 // ss: keepalive
	TimeWaitTimer   TimerKind = 3 // ss: timewait
	PersistTimer    TimerKind = 4 // ss: persist; the zero-window probe
)

// A Timer is the timer the kernel runs for a TCP connection now, as
// sock_diag gives it (ss -o's timer:(NAME,EXPIRES,COUNT)), with what
// TCP_INFO counts of segments sent again.
type Timer struct {
	Kind    TimerKind
	Expires time.Duration // until it fires
	// Count is idiag_retrans: for the retransmission timer, how many times
	// TCP has sent the oldest unacknowledged segment again; for the
	// persist and keepalive timers, the probes sent without an answer.
	Count int
	// Backoff is how many times the timer's wait has doubled since the
	// peer last acknowledged (tcpi_backoff); RTO is the wait of the
	// retransmission timer, doublings included (tcpi_rto).
	Backoff int
	RTO     time.Duration
	// Resent counts the segments sent again over the whole connection
	// (tcpi_total_retrans).
	Resent int
}

// Stall says why TCP holds back bytes of a connection's send queue, as
// send, close, shutdown and show tell it.
type Stall string

// Why bytes wait, read from the kernel by StallOf.
const (
	// NotStalled: nothing holds them back; TCP sends them shortly, or
	// Nagle's algorithm holds a small send (nagleHolds).
	NotStalled Stall = ""
	// WindowClosed: the peer advertised a zero window, no room at all;
	// the kernel runs the persist timer, which probes it, and TCP sends
	// more as soon as the peer reads and its kernel says so.
	WindowClosed Stall = "closed"
	// Resending: a segment went unacknowledged and the retransmission
	// timer has fired: TCP sends nothing new until the peer acknowledges
	// that segment, which it sends again only when the timer fires, after
	// a wait that doubles each time; a recv on the peer does not hurry it.
	Resending Stall = "resending"
	// WindowFull: the bytes in flight fill the window the peer offers
	// (PeerWindowFull), so TCP waits for the peer to make room.
	WindowFull Stall = "full"
)

// StallOf says why TCP holds back bytes, from the timer the kernel runs
// for the connection (TimerOf) and what TCP_INFO says: the persist timer
// for a zero window; the retransmission timer, once it has fired (its
// wait doubled, or segments sent again), for a segment lost; what is in
// flight filling the peer's window otherwise.
func StallOf(snap Snapshot, t Timer) Stall {
	switch {
	case t.Kind == PersistTimer:
		return WindowClosed
	case t.Kind == RetransmitTimer && (t.Backoff > 0 || t.Count > 0):
		return Resending
	case snap.PeerWindowFull:
		return WindowFull
	}
	return NotStalled
}

// stallOf asks the kernel why TCP holds back bytes of s's send queue,
// snap being what readState read of it, unless the bytes whose wait the
// caller tells (those not sent, or all not acknowledged) are none.
func stallOf(s *Socket, snap Snapshot, waiting int) Stall {
	if waiting == 0 {
		return NotStalled
	}
	t, _ := TimerOf(s, snap, snap.Remote)
	return StallOf(snap, t)
}
