package steps

import (
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// Read asks the kernel about the socket now: what readState reads on this
// system, whether it is non-blocking from fcntl, and readiness from poll
// with a zero timeout, and for a TCP socket's send from SO_MEMINFO too.
// It consumes nothing.
func Read(s *Socket) Snapshot {
	snap := readState(s)
	snap.NonBlocking = nonBlocking(s.FD)
	fds := []unix.PollFd{{Fd: int32(s.FD), Events: unix.POLLIN | unix.POLLOUT | pollReadShut}}
	if n, err := unix.Poll(fds, 0); err == nil && n > 0 {
		ev := fds[0].Revents
		snap.Readable = ev&unix.POLLIN != 0
		snap.Writable = ev&unix.POLLOUT != 0
		snap.ReadShut = ev&pollReadShut != 0
		snap.Hangup = ev&unix.POLLHUP != 0
		snap.Error = ev&unix.POLLERR != 0
	}
	if snap.Kind == Stream && !snap.Writable && (snap.State == Established || snap.State == CloseWait) {
		// poll calls a TCP socket writable only once a third of its send
		// buffer is free, but send takes bytes while any room is left.
		if sendRoom(s.FD) {
			snap.Writable, snap.PollNotWritable = true, true
		}
	}
	if snap.Kind == Datagram {
		// Linux's poll calls a UDP socket whose reading is shut down
		// readable for ever, yet recv still waits for a datagram.
		snap.Readable = snap.DatagramWaiting()
	}
	return snap
}

// datagramWaits says whether a datagram waits on a datagram socket, an
// empty one too, for which SIOCINQ says 0. poll says so without touching
// the socket. After shutdown(SHUT_RD) Linux calls it readable for ever, so
// a peek asks instead, unless an error is pending: the peek would take it
// from the next call, and then nothing is said to wait.
func datagramWaits(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | pollReadShut}}
	if n, err := unix.Poll(fds, 0); err != nil || n == 0 {
		return false
	}
	switch ev := fds[0].Revents; {
	case ev&pollReadShut == 0:
		return ev&unix.POLLIN != 0
	case ev&unix.POLLERR != 0:
		return false
	}
	_, _, err := unix.Recvfrom(fd, nil, unix.MSG_PEEK|unix.MSG_DONTWAIT)
	return err == nil
}

// A Connection is one line of the kernel's table of TCP sockets (on
// Linux /proc/net/tcp and tcp6): every TCP socket of the machine, including
// those no process holds any more, such as a connection in TIME_WAIT. For
// Holders it is also a UDP socket, or a TCP socket that holds a port
// without listening or connecting (CLOSED, and no Remote).
type Connection struct {
	Kind          Kind
	Local, Remote netip.AddrPort
	State         TCPState
	// For UDP, memory the queued datagrams take, as ss counts it. For a
	// listener of Holders, its accept queue and its backlog (-1 where the
	// kernel does not say), as ss shows them.
	RecvQ, SendQ int
	// Inode is 0 for a connection no file descriptor refers to: one in
	// TIME_WAIT, or one still waiting in an accept queue.
	Inode uint64
	// The timer the kernel runs for a TCP connection, and when it fires,
	// as /proc/net/tcp gives it (to a hundredth of a second).
	Timer   TimerKind
	Expires time.Duration
	// For an IPv6 socket of Holders on [::], every IPv6 address, what
	// sock_diag says of its IPV6_V6ONLY: off, so that it takes IPv4 too
	// (DualStack), or on (IPv6Only); neither where the kernel does not say.
	DualStack, IPv6Only bool
	// Device is, for a socket sock_diag lists, the index of the interface
	// it is tied to with SO_BINDTODEVICE (idiag_if); 0 where it is not
	// tied, or the kernel does not say.
	Device int
}

// InAcceptQueue says whether a connection waits in a listener's accept
// queue: no descriptor refers to it (accept has not taken it), and no
// close has sent its FIN (the client may have closed, CLOSE_WAIT).
func (c Connection) InAcceptQueue() bool {
	return c.Inode == 0 && (c.State == Established || c.State == CloseWait)
}

// PortTaken says whether a new socket of family f and kind k, without
// SO_REUSEADDR, would be refused a bind to addr now: another socket holds
// the port, or a connection in TIME_WAIT does. It asks the kernel the
// only sure way, by binding a socket of its own there, which it closes at
// once: one that never listened or connected leaves nothing behind.
func PortTaken(f Family, k Kind, addr netip.AddrPort) bool { return portTakenWith(nil, f, k, addr) }

// sharing are the options that decide which sockets a bind may share
// its port with.
var sharing = []struct{ level, opt int }{
	{unix.SOL_SOCKET, unix.SO_REUSEADDR},
	{unix.SOL_SOCKET, unix.SO_REUSEPORT},
	{unix.IPPROTO_IPV6, unix.IPV6_V6ONLY},
}

// sharingOf is what s's sharing options are now, in the order of
// sharing; -1 for one it has not (IPV6_V6ONLY on an IPv4 socket).
func sharingOf(s *Socket) []int {
	values := make([]int, len(sharing))
	for i, o := range sharing {
		v, err := unix.GetsockoptInt(s.FD, o.level, o.opt)
		if err != nil {
			v = -1
		}
		values[i] = v
	}
	return values
}

// portTakenWith is PortTaken for a socket of family f and kind k with
// its sharing options set to values (sharingOf); nil keeps the defaults.
func portTakenWith(values []int, f Family, k Kind, addr netip.AddrPort) bool {
	fd, err := newSocket(f.domain(), k.number(), 0)
	if err != nil {
		return false // nothing is known, so nothing is claimed
	}
	defer unix.Close(fd)
	for i, v := range values {
		if v >= 0 {
			unix.SetsockoptInt(fd, sharing[i].level, sharing[i].opt, v)
		}
	}
	return unix.Bind(fd, sockaddr(f, addr)) != nil
}

// suggestedFrom is the port a suggested bind starts from: the tutorial's
// 8081 for TCP, 9090 for UDP. Tests move it off those ports, which other
// tests' transcripts show, rather than hold them.
var suggestedFrom = map[Kind]int{Stream: 8081, Datagram: 9090}

// suggestFrom is the port a suggested bind of a socket of kind k starts
// from in this lab: its SuggestFrom, or else the tutorial's.
func (l *Lab) suggestFrom(k Kind) int {
	if l.SuggestFrom != nil {
		if port := l.SuggestFrom(); port != 0 {
			return port
		}
	}
	return suggestedFrom[k]
}

// freePortFrom is the first port from `from` on, of at most 100, that a new
// socket of family f and kind k with the sharing options values (nil:
// the defaults; sharingOf for a bind of a socket as it is, where
// SO_REUSEADDR gets it past a TIME_WAIT of a socket that had it too,
// never past a listener) could bind at host now, for a suggestion that
// must work when typed; or 0, which asks the kernel to choose one.
func freePortFrom(values []int, f Family, k Kind, host netip.Addr, from int) int {
	for p := from; p < from+100 && p <= 65535; p++ {
		if !portTakenWith(values, f, k, netip.AddrPortFrom(host, uint16(p))) {
			return p
		}
	}
	return 0
}
