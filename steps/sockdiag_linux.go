//go:build linux

package steps

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// This file asks the kernel about one TCP connection by its two ends,
// through the sock_diag netlink interface (the one `ss` uses). Unlike
// /proc/net/tcp, which lists every TCP socket of the machine and grows with
// every connection in TIME_WAIT, a sock_diag request that names the four
// addresses is answered by one lookup in the kernel's connection table, so
// close can say what became of a connection however busy the machine is.

// Sizes and offsets of the kernel's structures (linux/netlink.h,
// linux/inet_diag.h), which golang.org/x/sys does not describe.
const (
	netlinkHeaderLen = 16     // struct nlmsghdr
	diagSockIDLen    = 48     // struct inet_diag_sockid
	diagRequestLen   = 8 + 48 // struct inet_diag_req_v2
	diagNoCookie     = ^uint32(0)
	netlinkError     = 2 // NLMSG_ERROR
)

// errNoSockDiag says the kernel offers no sock_diag for TCP here.
var errNoSockDiag = errors.New("sock_diag is not available")

// diag is the netlink socket sock_diag is asked through. It is opened at
// the first question and kept, because opening one costs more than the
// question; it is no socket of the lab, and talks to the kernel alone.
var diag struct {
	sync.Mutex
	fd    int
	open  bool
	seq   uint32 // the number of the last question, to match its answer
	reply []byte
}

// diagLookup asks sock_diag for the connection from local to remote, and
// gives the kernel's struct inet_diag_msg of it. found is false when the
// kernel holds no such connection; an error means sock_diag could not be
// asked at all.
func diagLookup(local, remote netip.AddrPort) (msg []byte, found bool, err error) {
	diag.Lock()
	defer diag.Unlock()
	if err := openDiag(); err != nil {
		return nil, false, err
	}
	msg, found, err = askDiag(local, remote)
	if err != nil {
		closeDiag()
	}
	return msg, found, err
}

// openDiag opens the netlink socket, unless it is open. The caller holds
// diag's lock.
func openDiag() error {
	if diag.open {
		return nil
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return err
	}
	diag.fd, diag.open, diag.reply = aboveLearners(fd), true, make([]byte, 32<<10) // a dump's batch fits
	return nil
}

// closeDiag closes the netlink socket after a failure, so that the next
// question opens a new one. The caller holds diag's lock.
func closeDiag() {
	unix.Close(diag.fd)
	diag.open = false
}

// askDiag sends one question on the open netlink socket and reads its
// answer, which the kernel queues before sendto returns. Answers to
// earlier questions, if any were left, are skipped by their number.
func askDiag(local, remote netip.AddrPort) ([]byte, bool, error) {
	diag.seq++
	if err := unix.Sendto(diag.fd, diagRequest(local, remote, diag.seq), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, false, err
	}
	for {
		n, _, err := unix.Recvfrom(diag.fd, diag.reply, unix.MSG_DONTWAIT)
		if err != nil {
			return nil, false, err
		}
		if n >= netlinkHeaderLen && binary.NativeEndian.Uint32(diag.reply[8:]) == diag.seq {
			return diagReply(diag.reply[:n], remote)
		}
	}
}

// diagAddr reads an address of a struct inet_diag_sockid, a field of 16
// bytes of which an IPv4 address takes the first 4.
func diagAddr(family byte, field []byte) netip.Addr {
	if family == unix.AF_INET {
		field = field[:4]
	}
	addr, _ := netip.AddrFromSlice(field)
	return addr
}

// diagRequest builds a SOCK_DIAG_BY_FAMILY request for exactly one TCP
// connection, named by its four addresses (not a dump of the table).
func diagRequest(local, remote netip.AddrPort, seq uint32) []byte {
	family, src, dst := diagAddrs(local.Addr(), remote.Addr())
	msg := diagMessage(0, seq, family, unix.IPPROTO_TCP, ^uint32(0)) // every state
	ne := binary.NativeEndian
	id := msg[netlinkHeaderLen+8:]
	binary.BigEndian.PutUint16(id[0:], local.Port())
	binary.BigEndian.PutUint16(id[2:], remote.Port())
	copy(id[4:20], src)
	copy(id[20:36], dst)
	ne.PutUint32(id[40:], diagNoCookie)
	ne.PutUint32(id[44:], diagNoCookie)
	return msg
}

// diagMessage is a SOCK_DIAG_BY_FAMILY request about sockets of one
// family and protocol (IPPROTO_TCP, IPPROTO_UDP) in the given states (a
// mask of 1<<state), its socket id left for the caller to fill in; flags
// adds to NLM_F_REQUEST (NLM_F_DUMP).
func diagMessage(flags uint16, seq uint32, family, protocol uint8, states uint32) []byte {
	msg := make([]byte, netlinkHeaderLen+diagRequestLen)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(msg[6:], unix.NLM_F_REQUEST|flags)
	ne.PutUint32(msg[8:], seq)
	req := msg[netlinkHeaderLen:]
	req[0], req[1] = family, protocol
	ne.PutUint32(req[4:], states)
	return msg
}

// diagAddrs gives the family to ask in and the two addresses as the
// kernel stores them: four bytes for IPv4 (also for an IPv6 socket that
// talks to an IPv4 peer, whose addresses the kernel keeps as IPv4), sixteen
// for IPv6.
func diagAddrs(a, b netip.Addr) (family uint8, src, dst []byte) {
	if a.Unmap().Is4() && b.Unmap().Is4() {
		a4, b4 := a.Unmap().As4(), b.Unmap().As4()
		return unix.AF_INET, a4[:], b4[:]
	}
	a16, b16 := a.As16(), b.As16()
	return unix.AF_INET6, a16[:], b16[:]
}

// diagReply reads the kernel's answer, a copy of its struct
// inet_diag_msg. When no connection has these ends, the kernel either
// says ENOENT or, because its lookup falls back to listeners, describes
// the listening socket on the local port; so the answer counts only if its
// remote end is the one asked about.
func diagReply(reply []byte, remote netip.AddrPort) ([]byte, bool, error) {
	if len(reply) < netlinkHeaderLen+4 {
		return nil, false, errNoSockDiag
	}
	ne := binary.NativeEndian
	body := reply[netlinkHeaderLen:]
	if ne.Uint16(reply[4:]) == netlinkError {
		switch errno := unix.Errno(-int32(ne.Uint32(body))); errno {
		case unix.ENOENT:
			return nil, false, nil
		default:
			return nil, false, errNoSockDiag
		}
	}
	if len(body) < diagInodeOffset+4 {
		return nil, false, errNoSockDiag
	}
	// An IPv6 socket's connection to an IPv4 peer is found by its IPv4
	// addresses, but described in its own family, IPv4-mapped.
	id := body[4:]
	peer := diagAddr(body[0], id[20:36])
	if binary.BigEndian.Uint16(id[2:]) != remote.Port() || peer.Unmap() != remote.Addr().WithZone("").Unmap() {
		return nil, false, nil
	}
	return slices.Clone(body[:diagInodeOffset+4]), true, nil
}

// diagTimerOffset is that of idiag_timer, then idiag_retrans, in struct
// inet_diag_msg; diagExpiresOffset that of idiag_expires (milliseconds).
const (
	diagTimerOffset   = 2
	diagExpiresOffset = 52
)

// TimerOf asks the kernel which timer it runs for the connection of a
// TCP socket read as snap, to remote, and when it fires (sock_diag), with
// what snap's TCP_INFO counts of segments sent again. ok is false where
// the kernel does not say, or the socket has no connection.
func TimerOf(s *Socket, snap Snapshot, remote netip.AddrPort) (t Timer, ok bool) {
	if s.Kind != Stream || !snap.FromKernel || snap.Local.Port() == 0 || remote.Port() == 0 {
		return Timer{}, false
	}
	msg, found, err := diagLookup(snap.Local, remote)
	if err != nil || !found {
		return Timer{}, false
	}
	t = Timer{Kind: TimerKind(msg[diagTimerOffset]), Count: int(msg[diagTimerOffset+1]),
		Backoff: snap.backoff, RTO: snap.rto, Resent: snap.resent}
	if t.Kind != NoTimer {
		t.Expires = time.Duration(binary.NativeEndian.Uint32(msg[diagExpiresOffset:])) * time.Millisecond
	}
	return t, true
}
