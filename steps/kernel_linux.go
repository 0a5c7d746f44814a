//go:build linux

package steps

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pollReadShut is the poll event for "nothing more will arrive once the
// queue is read", after the peer's FIN or this side's shutdown(SHUT_RD):
// POLLRDHUP, which Linux has.
const pollReadShut = unix.POLLRDHUP

// readState asks the kernel what a step's report shows of a socket: its
// addresses from getsockname/getpeername, TCP state and a listener's
// accept queue from TCP_INFO, queued bytes from SIOCINQ/SIOCOUTQ, and a
// UDP socket's dropped datagrams from SO_MEMINFO. A
// listener has no peer and no queued bytes, so it is not asked for them.
// A CLOSED TCP socket whose port has gone back to the kernel has no
// address (bound_linux.go): what getsockname still says is Released. Of a
// CLOSED TCP socket whose connection is over, the kernel still records
// both ends (getsockname, SO_PEERNAME): they are kept as its lastConn.
func readState(s *Socket) Snapshot {
	snap := readNew(s)
	if snap.State == Listen {
		return snap
	}
	if s.Kind == Stream && snap.State == Closed && snap.Local.Port() != 0 {
		if peer, err := formerPeer(s.FD, s.Family); err == nil && peer.Port() != 0 {
			key := endOf(snap.Local, peer)
			s.lastConn.Store(&key)
		}
		if portGone(s, snap.Local) {
			snap.Released, snap.Local = snap.Local, netip.AddrPortFrom(s.Family.everyInterface(), 0)
		}
	}
	if peer, err := peerName(s.FD); err == nil {
		snap.Remote = peer
	}
	inq, errIn := unix.IoctlGetInt(s.FD, unix.SIOCINQ)
	outq, errOut := unix.IoctlGetInt(s.FD, unix.SIOCOUTQ)
	if errIn == nil && errOut == nil {
		if snap.State == Closed && s.Kind == Stream {
			// A CLOSED TCP socket sends nothing: a reset or a stopped
			// connect has thrown its send queue away, yet SIOCOUTQ and
			// TCP_INFO's tcpi_notsent_bytes, which subtract sequence
			// numbers, still count the bytes it held.
			outq, snap.NotSent = 0, 0
		}
		switch snap.State {
		case FinWait1, Closing, LastAck:
			// This side's FIN is queued and not yet acknowledged. It takes
			// a sequence number, so SIOCOUTQ (write_seq - snd_una) counts it
			// as a byte until the peer acknowledges it, and
			// tcpi_notsent_bytes (write_seq - snd_nxt) until it is sent.
			// It is no byte of data: the counts here are of bytes only.
			outq = max(outq-1, 0)
			snap.NotSent = max(snap.NotSent-1, 0)
		}
		snap.RecvQ, snap.SendQ, snap.QueuesKnown = inq, outq, true
		inFlight := outq - snap.NotSent // sent, not yet acknowledged
		snap.PeerWindowFull = snap.NotSent > 0 && snap.window >= 0 && inFlight+snap.segment > snap.window
	}
	if s.Kind == Datagram {
		mem := receiveMemoryOf(s.FD)
		snap.Dropped, snap.QueueMemory = mem.Drops, mem.Held
		snap.EmptyDatagram = snap.QueuesKnown && snap.RecvQ == 0 && datagramWaits(s.FD)
	}
	return snap
}

// readNew asks the kernel what accept's report shows of the connection it
// has just made, and readState begins with: the local address from
// getsockname, and the TCP state (for a listener, its accept queue) from
// TCP_INFO. The peer is the address accept returned.
func readNew(s *Socket) Snapshot {
	snap := Snapshot{Kind: s.Kind}
	if local, err := sockName(s.FD); err == nil {
		snap.Local = local
	}
	if s.Kind == Stream {
		if info, size, err := tcpInfo(s.FD); err == nil {
			snap.FromKernel = true
			snap.State = TCPState(info.State)
			if snap.State == Listen {
				// For a listener Linux reports the accept queue's length
				// in tcpi_unacked and its limit in tcpi_sacked.
				snap.AcceptQueue = int(info.Unacked)
				snap.Backlog = int(info.Sacked)
			} else {
				snap.NotSent, snap.window, snap.segment = int(info.Notsent_bytes), -1, int(info.Snd_mss)
				snap.backoff, snap.resent, snap.rto = int(info.Backoff), int(info.Total_retrans), time.Duration(info.Rto)*time.Microsecond
				snap.sentNothing = size >= unsafe.Offsetof(info.Bytes_sent)+8 && info.Bytes_sent == 0
				if size >= unsafe.Offsetof(info.Data_segs_out)+4 {
					snap.dataSegments = int(info.Data_segs_out) - int(info.Total_retrans)
				}
				if size >= unsafe.Offsetof(info.Snd_wnd)+4 {
					snap.window = int(info.Snd_wnd)
				}
			}
		}
	} else {
		snap.FromKernel = true
	}
	return snap
}

// Connections reads the kernel's table of TCP sockets.
func Connections() ([]Connection, error) {
	return readTables(Stream, "/proc/net/tcp", "/proc/net/tcp6")
}

// Holders lists every TCP and UDP socket of the machine that holds a
// port, as `ss -tuan` does: the kernel's table of TCP sockets, the TCP
// sockets that hold a port without listening or connecting (which that
// table leaves out, and sock_diag lists where the kernel can), and the
// kernel's table of UDP sockets. A listener's SendQ is its backlog, as
// ss shows it: the table says 0 there, and sock_diag tells it (-1 where
// sock_diag cannot). Of an IPv6 socket on [::], sock_diag tells whether
// it takes IPv4 too, which the tables do not say.
func Holders() ([]Connection, error) {
	tcp, err := tcpHolders()
	if err != nil {
		return nil, err
	}
	listeners := map[uint64]Connection{}
	diagListeners(func(c Connection) { listeners[c.Inode] = c })
	for i, c := range tcp {
		if c.State == Listen {
			l, ok := listeners[c.Inode]
			if !ok {
				l.SendQ = -1
			}
			tcp[i].SendQ, tcp[i].DualStack, tcp[i].IPv6Only = l.SendQ, l.DualStack, l.IPv6Only
		}
	}
	udp, err := readTables(Datagram, "/proc/net/udp", "/proc/net/udp6")
	if err != nil {
		return nil, err
	}
	udp6 := map[uint64]Connection{}
	dumpDiag(unix.AF_INET6, unix.IPPROTO_UDP, ^uint32(0), func(c Connection) { udp6[c.Inode] = c })
	for i, c := range udp {
		if c.Remote.Port() == 0 {
			udp[i].Remote = netip.AddrPort{} // no peer: not connected
		}
		if d, ok := udp6[c.Inode]; ok && c.Inode != 0 {
			udp[i].DualStack, udp[i].IPv6Only = d.DualStack, d.IPv6Only
		}
	}
	return slices.Concat(tcp, udp), nil
}

// tcpHolders lists the TCP sockets of Holders: the kernel's table, and
// those that hold a port without listening or connecting.
func tcpHolders() ([]Connection, error) {
	tcp, err := Connections()
	if err != nil {
		return nil, err
	}
	return slices.Concat(tcp, boundInactive()), nil
}

// readTables reads the kernel's tables of sockets of one kind. The kernel
// writes a table a page at a time, one read call each, and when sockets
// come and go between two reads the same socket can be written twice; it
// is listed here once.
func readTables(kind Kind, names ...string) ([]Connection, error) {
	type key struct {
		local, remote netip.AddrPort
		inode         uint64
	}
	seen := make(map[key]bool)
	var all []Connection
	for _, name := range names {
		conns, err := readProcNet(name)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for _, c := range conns {
			k := key{c.Local, c.Remote, c.Inode}
			if !seen[k] {
				seen[k] = true
				c.Kind = kind
				all = append(all, c)
			}
		}
	}
	return all, nil
}

func readProcNet(name string) ([]Connection, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var conns []Connection
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		local, ok1 := parseProcAddr(fields[1])
		remote, ok2 := parseProcAddr(fields[2])
		state, err := strconv.ParseUint(fields[3], 16, 8)
		if !ok1 || !ok2 || err != nil {
			continue
		}
		c := Connection{Local: local, Remote: remote, State: TCPState(state)}
		if tx, rx, ok := strings.Cut(fields[4], ":"); ok {
			sendQ, _ := strconv.ParseUint(tx, 16, 32)
			recvQ, _ := strconv.ParseUint(rx, 16, 32)
			c.SendQ, c.RecvQ = int(sendQ), int(recvQ)
		}
		if kind, when, ok := strings.Cut(fields[5], ":"); ok {
			// The timer's number, and the clock ticks until it fires:
			// USER_HZ, 100 a second on Linux.
			k, _ := strconv.ParseUint(kind, 16, 8)
			ticks, _ := strconv.ParseUint(when, 16, 32)
			c.Timer, c.Expires = TimerKind(k), time.Duration(ticks)*10*time.Millisecond
		}
		c.Inode, _ = strconv.ParseUint(fields[9], 10, 64)
		conns = append(conns, c)
	}
	return conns, sc.Err()
}

// parseProcAddr reads "0100007F:1F91": the address as the kernel stores it
// (32-bit words in host byte order, here little-endian) and the port in hex.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(hexAddr)
	port, err2 := strconv.ParseUint(hexPort, 16, 16)
	if err != nil || err2 != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), true
}

// ConnectionState finds a connection in the kernel's table by its two
// ends, for what happens to it after its file descriptor is closed.
func ConnectionState(local, remote netip.AddrPort) (TCPState, bool) {
	c, found := ConnectionOf(local, remote)
	return c.State, found
}

// ConnectionOf finds a connection in the kernel's table by its two ends:
// its state, queues and inode (0 for one no file descriptor holds). It
// asks sock_diag for that one connection, and reads the whole of
// /proc/net/tcp only where sock_diag cannot be asked.
func ConnectionOf(local, remote netip.AddrPort) (Connection, bool) {
	body, found, err := diagLookup(local, remote)
	if err == nil && found && TCPState(body[1]) == Closed {
		// Caught in the instant the kernel swaps the socket for its
		// TIME_WAIT entry, or frees it, the connection reads CLOSE: ask
		// once more, for the state it is passing into.
		body, found, err = diagLookup(local, remote)
	}
	if err == nil {
		if !found {
			return Connection{}, false
		}
		ne := binary.NativeEndian
		return Connection{Kind: Stream, Local: local, Remote: remote, State: TCPState(body[1]),
			RecvQ: int(ne.Uint32(body[diagQueuesOffset:])), SendQ: int(ne.Uint32(body[diagQueuesOffset+4:])),
			Inode: uint64(ne.Uint32(body[diagInodeOffset:]))}, true
	}
	conns, err := Connections()
	if err != nil {
		return Connection{}, false
	}
	for _, c := range conns {
		if SameEnd(c.Local, local) && SameEnd(c.Remote, remote) {
			return c, true
		}
	}
	return Connection{}, false
}

// WaitingPeers lists the clients in a listener's accept queue: connections
// to its port that finished the handshake but that no file descriptor
// holds yet (inode 0 in the kernel's table), ESTABLISHED or, once their
// client has closed, CLOSE_WAIT. One its client has reset is counted in
// the queue still, but the kernel's table no longer lists it. They are of
// the listener's family: an IPv4 listener on 0.0.0.0 and an IPv6 one that
// takes IPv6 only may hold the same port, each with its own queue, and
// the kernel lists an IPv4 socket's connections in tcp with four-byte
// addresses, an IPv6 socket's in tcp6 (its IPv4 clients as ::ffff:a.b.c.d).
func WaitingPeers(listener Snapshot) []netip.AddrPort {
	conns, err := Connections()
	if err != nil {
		return nil
	}
	var peers []netip.AddrPort
	for _, c := range conns {
		if c.InAcceptQueue() && covers(listener.Local, c.Local) && c.Local.Addr().Is4() == listener.Local.Addr().Is4() {
			peers = append(peers, c.Remote)
		}
	}
	return peers
}

// Destination is the address a TCP socket in SYN_SENT is connecting to,
// or that a CLOSED one's refused connect went to, before and after a call
// has reported the refusal. getpeername refuses to tell it (ENOTCONN) in
// either state, but SO_PEERNAME gives it (formerPeer).
func Destination(s *Socket) (netip.AddrPort, bool) {
	to, err := formerPeer(s.FD, s.Family)
	return to, err == nil && to.Port() != 0
}

// KernelNote says where `show`'s state of a socket comes from: what
// readState asks of a socket in that state, what show asks for a
// listener's waiting clients (WaitingPeers), and fcntl and poll for its
// mode and readiness, with SO_MEMINFO where poll calls a connection not
// writable (Read), and sock_diag where it was asked for the connection's
// timer (TimerOf).
func KernelNote(snap Snapshot, timer bool) string {
	calls := "getsockname, getpeername, TCP_INFO, SIOCINQ/SIOCOUTQ"
	switch {
	case snap.Kind == Datagram:
		calls = "getsockname, getpeername, SIOCINQ/SIOCOUTQ, SO_MEMINFO"
	case snap.State == Listen:
		calls = "getsockname, TCP_INFO, /proc/net/tcp and tcp6"
	case snap.Released.IsValid():
		calls += ", sock_diag" // whether the port went back
	case (snap.State == Established || snap.State == CloseWait) && (!snap.Writable || snap.PollNotWritable):
		calls += ", SO_MEMINFO" // whether a send finds room, where poll says no
	}
	if timer {
		calls += ", sock_diag"
	}
	return "read from the kernel: " + calls + ", fcntl, poll"
}

// abandonConnect dissolves a connection attempt still in its handshake,
// by connecting to an address of family AF_UNSPEC, which Linux takes as
// "forget the peer": the socket goes back to CLOSED. Linux also records
// ECONNRESET on a socket it takes out of SYN_SENT so, which the next call
// would report as if a peer had reset a connection that never was; that
// error is sockstep's own doing, so it is taken (SO_ERROR) and dropped.
func abandonConnect(fd int) {
	sa := unix.RawSockaddr{Family: unix.AF_UNSPEC}
	unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
}

// newSocket makes a socket whose descriptor is closed if sockstep ever
// starts another program, so no child inherits the learner's sockets.
func newSocket(domain, typ, proto int) (int, error) {
	return unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
}

// receiveMemoryOf reads SO_MEMINFO: the kernel memory a socket's unread
// data holds, its limit (SO_RCVBUF), and how many packets the kernel has
// dropped instead of queueing them for it. Known is false where the
// kernel does not say.
func receiveMemoryOf(fd int) receiveMemory {
	info, ok := memInfo(fd, unix.SK_MEMINFO_DROPS)
	if !ok {
		return receiveMemory{}
	}
	return receiveMemory{Held: int(info[unix.SK_MEMINFO_RMEM_ALLOC]), Limit: int(info[unix.SK_MEMINFO_RCVBUF]),
		Drops: int(info[unix.SK_MEMINFO_DROPS]), Known: true}
}

// pathMTU is the MTU of the route from a socket of family f to `to`: the
// largest packet it carries, IP header included, as a connected UDP socket
// reads it (IP_MTU, IPV6_MTU); 0 where the kernel does not say. Connecting
// a UDP socket sends nothing.
func pathMTU(f Family, to netip.AddrPort) int {
	fd, err := newSocket(f.domain(), unix.SOCK_DGRAM, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	if unix.Connect(fd, sockaddr(f, to)) != nil {
		return 0
	}
	level, opt := unix.IPPROTO_IP, unix.IP_MTU
	if f == IPv6 {
		level, opt = unix.IPPROTO_IPV6, unix.IPV6_MTU
	}
	mtu, err := unix.GetsockoptInt(fd, level, opt)
	if err != nil {
		return 0
	}
	return mtu
}

// sendRoom says whether a TCP socket's send buffer has room for more
// (SO_MEMINFO): the kernel's send takes bytes while the memory its queue
// holds is below SO_SNDBUF. It is false where the kernel does not say.
func sendRoom(fd int) bool {
	info, ok := memInfo(fd, unix.SK_MEMINFO_WMEM_QUEUED)
	return ok && info[unix.SK_MEMINFO_WMEM_QUEUED] < info[unix.SK_MEMINFO_SNDBUF]
}

// memInfo reads SO_MEMINFO, and says whether the kernel filled it in up
// to the value numbered last.
func memInfo(fd, last int) (info [unix.SK_MEMINFO_VARS]uint32, ok bool) {
	size := uint32(unsafe.Sizeof(info))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	return info, errno == 0 && size > uint32(last)*4
}

// tcpInfo reads TCP_INFO, and how many of its bytes the kernel filled in:
// an older kernel knows fewer fields and leaves the rest zero, which must
// not be taken for its answer.
func tcpInfo(fd int) (info unix.TCPInfo, size uintptr, err error) {
	n := uint32(unsafe.Sizeof(info))
	if _, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_INFO,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&n)), 0); errno != 0 {
		return info, 0, errno
	}
	return info, uintptr(n), nil
}

// segmentsSent is how many TCP segments the socket has sent (TCP_INFO's
// tcpi_segs_out), SYN and ACK included; 0 where the kernel does not say.
func segmentsSent(fd int) int {
	info, size, err := tcpInfo(fd)
	if err != nil || size < unsafe.Offsetof(info.Segs_out)+4 {
		return 0
	}
	return int(info.Segs_out)
}

// loopbackDown returns the name of the loopback interface (lo) and
// whether it is down, as it is in a new network namespace. Down, it holds
// no IPv6 address, ::1 included; in a new namespace no route leads to
// 127.0.0.1 either. It runs for every suggestion that names a loopback
// address, and for a bind to every interface or to a loopback address, so
// it asks for lo's flags alone (SIOCGIFFLAGS), on the netlink
// socket already open for sock_diag: any socket answers that ioctl. That
// is one system call, 0.9 µs here, where listing every interface
// (net.Interfaces) takes 64 µs and a socket of its own 8.5 µs.
func loopbackDown() (name string, down bool) {
	const lo = "lo" // Linux makes it, with that name, in every network namespace
	req, err := unix.NewIfreq(lo)
	if err != nil {
		return "", false
	}
	diag.Lock()
	defer diag.Unlock()
	if openDiag() != nil || unix.IoctlIfreq(diag.fd, unix.SIOCGIFFLAGS, req) != nil {
		return "", false
	}
	return lo, req.Uint16()&unix.IFF_UP == 0
}
