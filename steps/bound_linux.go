//go:build linux

package steps

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// A TCP socket that is CLOSED may hold a port or not, and getsockname
// cannot tell: bind's port stays the socket's until it is closed, but the
// port the kernel chose for a connect goes back to the kernel when the
// connect fails, is stopped, or its connection is reset, while getsockname
// goes on reporting it. sock_diag can tell (Linux 6.9 and later): asked for
// the pseudo-state TCP_BOUND_INACTIVE, it lists the TCP sockets that hold a
// port without listening or connecting, as `ss --bound-inactive` does.

const (
	tcpBoundInactive  = 13 // TCP_BOUND_INACTIVE, a state inet_diag alone uses
	diagQueuesOffset  = 56 // of idiag_rqueue, then idiag_wqueue, in struct inet_diag_msg
	diagInodeOffset   = 68 // of idiag_inode in struct inet_diag_msg
	diagDeviceOffset  = 36 // of idiag_if in struct inet_diag_sockid
	diagMsgLen        = 72 // struct inet_diag_msg, which attributes follow
	diagSkV6Only      = 11 // INET_DIAG_SKV6ONLY, an IPv6 socket's IPV6_V6ONLY
	netlinkDone       = 3  // NLMSG_DONE
	netlinkMultiLimit = 64 // batches read for one answer, at most
)

// boundInactiveKnown says whether this kernel lists bound sockets for
// TCP_BOUND_INACTIVE; found out with a socket of its own, and remembered
// once the kernel has answered. Without a descriptor for that socket or
// for the netlink one (EMFILE), it cannot be asked: that is no answer, and
// the next call asks again.
func boundInactiveKnown() bool {
	boundInactiveAnswer.Lock()
	defer boundInactiveAnswer.Unlock()
	if !boundInactiveAnswer.answered {
		boundInactiveAnswer.known, boundInactiveAnswer.answered = askBoundInactive()
	}
	return boundInactiveAnswer.known
}

// boundInactiveAnswer is what boundInactiveKnown found out.
var boundInactiveAnswer struct {
	sync.Mutex
	known, answered bool
}

// askBoundInactive binds a socket and looks for it among the bound sockets
// sock_diag lists; answered is false when the question could not be put.
func askBoundInactive() (known, answered bool) {
	fd, err := newSocket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return false, false
	}
	defer unix.Close(fd)
	if unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}) != nil {
		return false, false
	}
	holds, err := listsBoundInactive(fd, unix.AF_INET)
	return err == nil && holds, err == nil || errors.Is(err, errNoSockDiag)
}

// holdsPort says whether a CLOSED TCP socket holds the port getsockname
// reports. ok is false where the kernel cannot say.
func holdsPort(s *Socket) (holds, ok bool) {
	if !boundInactiveKnown() {
		return false, false
	}
	holds, err := listsBoundInactive(s.FD, uint8(s.Family.domain()))
	return holds, err == nil
}

// listsBoundInactive asks sock_diag for the TCP sockets of one family that
// hold a port without listening or connecting, and says whether fd's is
// among them, by its inode.
func listsBoundInactive(fd int, family uint8) (bool, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, err
	}
	found := false
	err := dumpBoundInactive(family, func(c Connection) {
		found = found || c.Inode == st.Ino
	})
	return found && err == nil, err
}

// boundInactive lists the TCP sockets of the machine that hold a port
// without listening or connecting, each as a CLOSED connection with no
// remote end; none where the kernel cannot say.
func boundInactive() []Connection {
	if !boundInactiveKnown() {
		return nil
	}
	var all []Connection
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		var conns []Connection
		if dumpBoundInactive(family, func(c Connection) { conns = append(conns, c) }) == nil {
			all = append(all, conns...)
		}
	}
	return all
}

// dumpBoundInactive asks sock_diag for the TCP sockets of one family that
// hold a port without listening or connecting, and gives each to f.
func dumpBoundInactive(family uint8, f func(Connection)) error {
	return dumpDiag(family, unix.IPPROTO_TCP, 1<<tcpBoundInactive, f)
}

// dumpDiag asks sock_diag for the sockets of one family and protocol
// (IPPROTO_TCP, IPPROTO_UDP) in the given states (a mask of 1<<state), and
// gives each to f: its local end, state (CLOSED for a TCP socket bound but
// inactive), queues as ss shows them, inode, the interface it is tied
// to, and for an IPv6 socket on [::] whether it takes IPv4 too.
func dumpDiag(family, protocol uint8, states uint32, f func(Connection)) error {
	diag.Lock()
	defer diag.Unlock()
	if err := openDiag(); err != nil {
		return err
	}
	diag.seq++
	msg := diagMessage(unix.NLM_F_DUMP, diag.seq, family, protocol, states)
	if err := unix.Sendto(diag.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		closeDiag()
		return err
	}
	// Each read of the answer makes the kernel write its next batch.
	ne := binary.NativeEndian
	for range netlinkMultiLimit {
		n, _, err := unix.Recvfrom(diag.fd, diag.reply, unix.MSG_DONTWAIT)
		if err != nil {
			closeDiag()
			return err
		}
		for b := diag.reply[:n]; len(b) >= netlinkHeaderLen; {
			size := int(ne.Uint32(b))
			if size < netlinkHeaderLen || size > len(b) {
				closeDiag()
				return errNoSockDiag
			}
			if ne.Uint32(b[8:]) == diag.seq {
				switch ne.Uint16(b[4:]) {
				case netlinkDone:
					return nil
				case netlinkError:
					return errNoSockDiag
				}
				if body := b[netlinkHeaderLen:size]; len(body) >= diagInodeOffset+4 {
					// struct inet_diag_msg: the family and state, then in
					// its id the source port (network order) and address
					// and the interface it is tied to, and after it the
					// queues and the inode.
					id := body[4:]
					addr := diagAddr(body[0], id[4:20])
					state := TCPState(body[1])
					if body[1] == tcpBoundInactive {
						state = Closed
					}
					c := Connection{Local: netip.AddrPortFrom(addr, binary.BigEndian.Uint16(id[0:])), State: state,
						RecvQ: int(ne.Uint32(body[diagQueuesOffset:])), SendQ: int(ne.Uint32(body[diagQueuesOffset+4:])),
						Inode: uint64(ne.Uint32(body[diagInodeOffset:])), Device: int(ne.Uint32(id[diagDeviceOffset:]))}
					if addr == netip.IPv6Unspecified() {
						if v6only, ok := diagV6Only(body); ok {
							c.DualStack, c.IPv6Only = !v6only, v6only
						}
					}
					f(c)
				}
			}
			b = b[min(len(b), (size+3)&^3):]
		}
	}
	closeDiag() // an answer without end: start afresh next time
	return errNoSockDiag
}

// diagListeners gives f each TCP listener of the machine, IPv4 then IPv6,
// as sock_diag lists them: a walk of the kernel's listeners alone.
func diagListeners(f func(Connection)) error {
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		if err := dumpDiag(family, unix.IPPROTO_TCP, 1<<Listen, f); err != nil {
			return err
		}
	}
	return nil
}

// diagV6Only reads the attribute INET_DIAG_SKV6ONLY that follows an
// IPv6 socket's struct inet_diag_msg: its IPV6_V6ONLY. ok is false where
// the kernel gave none (an IPv4 socket, a connection in TIME_WAIT).
func diagV6Only(body []byte) (v6only, ok bool) {
	ne := binary.NativeEndian
	for b := body[min(len(body), diagMsgLen):]; len(b) >= 4; {
		size := int(ne.Uint16(b))
		if size < 4 || size > len(b) {
			return false, false
		}
		if ne.Uint16(b[2:]) == diagSkV6Only && size >= 5 {
			return b[4] != 0, true
		}
		b = b[min(len(b), (size+3)&^3):]
	}
	return false, false
}

// portGone is readState's check of a CLOSED TCP socket whose getsockname
// gives local: whether its port went back to the kernel, so that it has no
// address, as before any bind. Where sock_diag cannot tell, the port is
// taken as kept. The answer is kept, because asking walks the kernel's
// whole table of bound ports (about a millisecond).
func portGone(s *Socket, local netip.AddrPort) bool {
	answer := s.port.Load()
	if answer == nil || answer.local != local {
		holds, ok := holdsPort(s)
		if !ok {
			return false
		}
		answer = &portAnswer{local: local, holds: holds}
		s.port.Store(answer)
	}
	return !answer.holds
}
