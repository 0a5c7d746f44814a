package steps

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

var connectProse = loadProse("connect.txt", stepSections...)

// ConnectStep connects a socket to a server: connect(4, 127.0.0.1:8081).
var ConnectStep = &Step{
	Name:     "connect",
	Usage:    "connect SOCK HOST PORT [--timeout D]",
	Example:  "connect client 127.0.0.1 8081",
	Summary:  "connect a socket to a server",
	About:    connectProse.About(),
	Complete: socketNames(hostThenAfterPort("--timeout")),
	Run:      runConnect,
}

// hostThenAfterPort completes, for connect and sendto, the hosts of this
// machine in the socket's family after the socket (not bind's "", which
// they refuse), and flag after the port.
func hostThenAfterPort(flag string) completeAfter {
	return func(_ *Lab, s *Socket, before []string) []string {
		switch len(before) {
		case 1:
			return hostsFor(s)
		case 3:
			return []string{flag}
		}
		return nil
	}
}

// connectData is what connect.txt can use.
type connectData struct {
	GoAddr          string // the address as Go code for x/sys/unix
	Name, Label, Py string
	FD              int
	Host, PyHost    string
	Port            int
	Remote, Local   string
	LocalPort       int
	Resolved        string
	Took            ms
	AutoBound       bool   // the kernel chose the local address
	Listener        string // our listener that the connection now waits at
	ListenerName    string
	ConnTaken       bool // the name conn is in use, so accept should not take it
	Queue, Backlog  int
	Datagram        bool
	InProgress      bool   // non-blocking, or SO_SNDTIMEO ran out: the handshake continues
	SendTimeout     string // SO_SNDTIMEO, when it ran out before the handshake finished
	PyRaises        string // what Python raises for EINPROGRESS
	PyTimeout       string // --timeout of a TCP connect on a blocking socket, as Python's settimeout takes it: 1, 0.5
	DoneAlready     bool   // and yet it was over when the state was read (loopback is that fast)
	Connecting      bool   // and the socket is still in SYN_SENT
	FailedAlready   bool   // and it had failed already: the socket is CLOSED, its error pending
	Unspecified     bool   // the host was 0.0.0.0 or ::, which Linux takes for this machine
	Loopback        string // this machine's address, to write instead
	Listening       bool   // it is a listener, which cannot connect
	Ended           bool   // EISCONN from a TCP socket whose connection is over
	Twin            string // the lab's socket already connected from the same address and port to the same server
	Itself          bool   // it is connected to its own address
	Segments        int    // TCP segments it sent, all to itself (TCP_INFO), when Itself
	// For ENETUNREACH from an IPv6 socket that takes IPv6 only to an
	// IPv4-mapped address: ipv6only.txt's explanation.
	Mapped mappedRefusal
	// LinkLocal is, for EINVAL to a link-local address given without an
	// interface, linklocal.txt's explanation.
	LinkLocal linkLocalRefusal
	// LoopbackDown is, for EADDRNOTAVAIL to ::1 or ENETUNREACH to
	// 127.0.0.1 while the loopback interface is down, lodown.txt's
	// explanation; for ETIMEDOUT to 127.x because lo was taken down
	// after it was up, its [unanswered].
	LoopbackDown loopbackDownRefusal
	// Unanswered is, for a handshake still in SYN_SENT because lo was
	// taken down after it was up, lodown.txt's [unanswered] and its fix.
	Unanswered string
	// Refused is, for ECONNREFUSED on a TCP socket, who refused, as far
	// as this machine can tell (whyRefused).
	Refused refusal
	// TakenBy is, for a connect refused after it returned EINPROGRESS,
	// the later call (recv, send) that reported the refusal and so took
	// the socket's error.
	TakenBy string
}

func runConnect(ctx context.Context, l *Lab, args []string) (*Report, error) {
	args, flags, err := takeFlags(args, []string{"timeout"}, nil)
	if err != nil {
		return nil, err
	}
	s, err := l.find(args, "should connect")
	if err != nil {
		return nil, err
	}
	if len(args) != 3 {
		return nil, usageErr("connect takes a socket, the server's host and its port")
	}
	timeout, err := flags.timeout()
	if err != nil {
		return nil, err
	}
	port, err := peerPort(args[2], s.Kind, "connect")
	if err != nil {
		return nil, err
	}
	if host := args[1]; host == "" || host == "*" || host == "any" {
		return nil, usageErr(fmt.Sprintf("connect needs the server's address; %s is bind's word for every interface: use %s for this machine", QuoteShort(host), loopback(s.Family)))
	}
	addr, resolved, err := resolveHost(args[1], s)
	if err != nil {
		return nil, err
	}
	remote := netip.AddrPortFrom(addr, port)
	data := connectData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, Host: args[1], PyHost: pyHost(args[1]),
		Port: int(port), Remote: remote.String(), Resolved: resolved, Datagram: s.Kind == Datagram,
		GoAddr: goSockaddr(s.Family, remote)}
	before, nonBlock := l.look(s), nonBlocking(s.FD)
	data.AutoBound = !before.Bound()
	// auto's calls carry a --timeout of auto's own, which the tutorial's
	// program, the Python shown, does not set.
	if timeout > 0 && !nonBlock && s.Kind == Stream && !l.Driven {
		data.PyTimeout = strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64)
	}
	call := fmt.Sprintf("connect(%d, %s)", s.FD, remote)

	start := time.Now()
	s.connectCalled = true
	s.port.Store(nil) // the socket may hold a port again
	began := s.connecting
	if !began {
		s.synSent = start // a connect that finds a handshake under way sends no SYN
	}
	err = l.connect(ctx, s, remote, nonBlock, timeout, call)
	var stop *stopError
	stopped := errors.As(err, &stop)
	// A wait stopped on a new handshake undoes it; on one an earlier
	// connect began, it leaves it going.
	s.connecting = s.Kind == Stream && (errors.Is(err, unix.EINPROGRESS) || errors.Is(err, unix.EALREADY) || stopped && began)
	if stopped {
		// A listener of the lab with a full accept queue is the one reason
		// for a wait on loopback that the lab can see: say so.
		to := remote.String()
		down := unansweredLoopbackDown(addr)
		if ls, snap, ok := l.listenerFor(remote); ok {
			to = ls.Name
			if down.Why == "" && snap.AcceptQueue > snap.Backlog {
				data.listener(ls, snap)
				stop.report.Says += " " + connectProse.Render("queue full", data)
			}
		}
		if down.Why != "" {
			stop.report.Says += " " + down.sentences()
		}
		// The SYNs went out, and no answer came: the diagram shows them.
		if stop.syns > 0 {
			stop.report.Packets = []Packet{{From: s.Name, To: to, What: Counted(stop.syns, "SYN") + ", unanswered"}}
		}
		return stop.report, nil
	}
	took := time.Since(start)
	if !nonBlock && (errors.Is(err, unix.EINPROGRESS) || errors.Is(err, unix.EALREADY)) {
		data.SendTimeout = socketTimeout(s.FD, unix.POLLOUT).String() // it ran out: see connect
	}
	if errors.Is(err, unix.EINPROGRESS) {
		data.InProgress, data.PyRaises = true, pythonError(unix.EINPROGRESS)
	} else if err != nil {
		data.Listening = before.FromKernel && before.State == Listen
		data.Ended = before.FromKernel && s.Kind == Stream && before.State == Closed
		if errors.Is(err, unix.EADDRNOTAVAIL) && before.Bound() {
			data.Twin = l.twinOf(s, before.Local, remote)
		}
		data.Mapped = refusedMapped(s, before, addr, err, "Connect")
		data.LinkLocal = refusedLinkLocal(s, args[1], remote, err, "connect")
		data.LoopbackDown = refusedLoopbackDown(addr, err, "connect")
		if errors.Is(err, unix.ECONNREFUSED) && s.Kind == Stream {
			data.Refused = l.whyRefused(remote, s.synSent, began)
		}
		if errors.Is(err, unix.ETIMEDOUT) {
			data.Took = ms(took)
			data.LoopbackDown = unansweredLoopbackDown(addr)
			if ls, snap, ok := l.listenerFor(remote); ok && snap.AcceptQueue > snap.Backlog {
				data.listener(ls, snap)
			}
		}
		r := connectProse.refused(call, err, data)
		if errors.Is(err, unix.ECONNREFUSED) && s.Kind == Stream {
			r.Packets = handshake(s.Name, remote.String(), began, before.State, Closed, data.Refused.packet())
		}
		if s.Kind == Datagram {
			// A UDP connect binds an unbound socket before it looks at
			// the address, and a refusal does not undo that.
			boundAnyway(r, s, true, before)
		}
		return r, nil
	}
	after := l.look(s)
	data.Local, data.LocalPort, data.Took = after.Local.String(), int(after.Local.Port()), ms(took)
	if addr.IsUnspecified() && after.Connected() {
		// Linux takes 0.0.0.0 or :: to mean this machine: the peer is
		// the loopback address, and that is where the connection goes.
		remote = after.Remote
		data.Unspecified, data.Remote, data.Loopback = true, remote.String(), loopback(s.Family)
	}
	data.DoneAlready = data.InProgress && after.FromKernel && after.State == Established
	data.Connecting = data.InProgress && after.FromKernel && after.State == SynSent
	if data.Connecting {
		// Over loopback the answer comes within the call, unless lo is down.
		data.Unanswered = unansweredLoopbackDown(addr).sentences()
	}
	data.FailedAlready = data.InProgress && after.FromKernel && after.State == Closed
	data.Itself = after.ToItself()
	if data.Itself && s.Kind == Stream {
		data.Segments = segmentsSent(s.FD)
	}
	report := &Report{
		Call:   call + " = 0",
		Took:   took,
		TookAs: "handshake",
		State:  []Change{{Who: s.Label(), Before: before.Summary(s.Kind), After: after.Summary(s.Kind)}},
	}
	if data.InProgress {
		report.Call, report.Took = call+" = -1 EINPROGRESS", 0
	}
	if data.Datagram {
		report.Took = 0
	}
	server := remote.String()
	if data.Itself {
		server = s.Name
	} else if ls, snap, ok := l.listenerFor(remote); ok {
		data.listener(ls, snap)
		report.State = append(report.State, otherQueues(ls, snap))
		server = ls.Name
		_, err := l.Find("conn")
		data.ConnTaken = err == nil
	}
	if s.Kind == Stream {
		report.Packets = handshake(s.Name, server, began, before.State, after.State, "RST")
	}
	return l.tell(report, connectProse, data), nil
}

// handshake is what crossed between a connecting socket, client, and
// server during one connect call: the SYN, unless an earlier connect
// sent it (began), then the answer, if it came during this call (the
// socket was not answered before it: its state then, before, was
// SYN_SENT), as the socket's state after shows it: still SYN_SENT, no
// answer yet; CLOSED, refused, by what refused says ("RST"); otherwise
// SYN-ACK, and the ACK that ends the handshake. On loopback the answer comes within the call,
// even when connect returns EINPROGRESS.
func handshake(client, server string, began bool, before, after TCPState, refused string) []Packet {
	var packets []Packet
	if !began {
		packets = append(packets, Packet{From: client, To: server, What: "SYN"})
	}
	switch {
	case began && before != SynSent, after == SynSent:
		return packets
	case after == Closed:
		return append(packets, Packet{From: server, To: client, What: refused})
	}
	return append(packets, Packet{From: server, To: client, What: "SYN-ACK"}, Packet{From: client, To: server, What: "ACK"})
}

// twinOf names the lab's socket, other than s, that is connected from
// local to remote: the connection s would be, which the kernel will not
// make twice. Sockets bound to one address and port with SO_REUSEADDR
// meet it when they connect to the same server.
func (l *Lab) twinOf(s *Socket, local, remote netip.AddrPort) string {
	t, _, ok := l.socketWhere(s.Kind, func(t *Socket, snap Snapshot) bool {
		return t != s && SameEnd(snap.Local, local) && SameEnd(snap.Remote, remote)
	})
	if !ok {
		return ""
	}
	return t.Label()
}

// stopError carries the report of a wait that ended before the call did.
type stopError struct {
	report *Report
	syns   int // the SYNs the abandoned handshake had sent, as TCP_INFO counted them
}

func (e *stopError) Error() string { return e.report.Call }

// connect makes the call. On a blocking socket it runs the handshake
// without blocking the whole program, so that Ctrl-C and --timeout can end
// the wait: the socket is made non-blocking for the call, sockstep waits
// in poll until the handshake ends, reads its result with SO_ERROR and
// calls connect again to finish, which is what a blocking connect does
// inside the kernel. A wait that is stopped dissolves the half-made
// connection (connect with AF_UNSPEC), so the socket is back where it was.
// Without --timeout, the socket's SO_SNDTIMEO bounds the wait as it bounds
// a blocking connect: when it runs out, connect returns EINPROGRESS and
// the handshake goes on. A blocking connect on a socket whose handshake
// is already under way (EALREADY at once) waits for that handshake in
// the same way, and a stop leaves it going, as it was.
func (l *Lab) connect(ctx context.Context, s *Socket, remote netip.AddrPort, nonBlock bool, timeout time.Duration, call string) error {
	sa := sockaddr(s.Family, remote)
	if nonBlock || s.Kind == Datagram {
		return connectCall(s.FD, sa)
	}
	if err := unix.SetNonblock(s.FD, true); err != nil {
		return err
	}
	defer unix.SetNonblock(s.FD, false)
	err := connectCall(s.FD, sa)
	begun := errors.Is(err, unix.EALREADY) // by an earlier connect
	if !errors.Is(err, unix.EINPROGRESS) && !begun {
		return err
	}
	syns := 0
	undo := func() {
		syns = segmentsSent(s.FD) // in SYN_SENT, every segment sent is a SYN
		abandonConnect(s.FD)
	}
	if begun {
		undo = nil
	}
	stop, _, err := l.waitOrUndo(ctx, &waiting{s: s, events: unix.POLLOUT, timeout: timeout, call: call, what: "the handshake with " + remote.String(), undo: undo})
	if errors.Is(err, unix.EAGAIN) { // SO_SNDTIMEO ran out
		if begun {
			return unix.EALREADY
		}
		return unix.EINPROGRESS
	}
	if err != nil {
		return err
	}
	if stop != nil {
		return &stopError{stop, syns}
	}
	soErr, err := unix.GetsockoptInt(s.FD, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	// Whatever the handshake's result, the socket layer still marks the
	// socket as connecting until connect is called once more. Left so, a
	// later connect would return 0 after a success (instead of EISCONN)
	// and ECONNABORTED after a refusal (instead of trying again). A
	// blocking connect makes this last step inside the kernel.
	again := connectCall(s.FD, sa)
	if soErr != 0 {
		// A blocking connect that fails leaves the socket free to connect
		// again; the emulated one would leave it half-way, so that the next
		// connect failed with ECONNABORTED. Dissolving the attempt puts the
		// socket where a real blocking connect leaves it.
		abandonConnect(s.FD)
		return unix.Errno(soErr)
	}
	if again != nil && !errors.Is(again, unix.EISCONN) {
		return again
	}
	return nil
}

// listener fills in the lab's listener that the connection reaches, and
// its accept queue.
func (d *connectData) listener(ls *Socket, snap Snapshot) {
	d.Listener, d.ListenerName, d.Queue, d.Backlog = ls.Label(), ls.Name, snap.AcceptQueue, snap.Backlog
}

// listenerFor finds the lab's listening socket that a connection to remote
// reaches, if there is one, with its state after the connection arrived.
// Only the narration shows it, so with CallsOnly it is not looked for.
// A listener's state is all that readNew reads, so no more is asked of the
// others.
func (l *Lab) listenerFor(remote netip.AddrPort) (*Socket, Snapshot, bool) {
	if l.CallsOnly {
		return nil, Snapshot{}, false
	}
	for _, s := range l.Sockets() {
		if s.Kind != Stream {
			continue
		}
		snap := readNew(s)
		if snap.State == Listen && covers(snap.Local, remote) {
			return s, snap, true
		}
	}
	return nil, Snapshot{}, false
}
