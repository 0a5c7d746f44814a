//go:build !linux

package steps

import (
	"errors"
	"net/netip"

	"golang.org/x/sys/unix"
)

// pollReadShut is 0: this system has no poll event for "nothing more
// will arrive", so ReadShut is never set.
const pollReadShut = 0

// readState asks the kernel what a step's report shows of a socket, as far
// as this system lets sockstep ask: its addresses. TCP state and queue
// lengths are not read here, and the Snapshot says so (FromKernel false).
func readState(s *Socket) Snapshot {
	snap := readNew(s)
	if peer, err := peerName(s.FD); err == nil {
		snap.Remote = peer
	}
	return snap
}

// readNew asks the kernel what accept's report shows of the connection it
// has just made, as far as this system lets sockstep ask: its local
// address. The peer is the address accept returned.
func readNew(s *Socket) Snapshot {
	snap := Snapshot{Kind: s.Kind}
	if local, err := sockName(s.FD); err == nil {
		snap.Local = local
	}
	return snap
}

// Connections is not available on this system.
func Connections() ([]Connection, error) {
	return nil, errors.New("the kernel's table of TCP sockets is read on Linux only")
}

// Holders is not available on this system.
func Holders() ([]Connection, error) { return Connections() }

// tcpHolders is not available on this system.
func tcpHolders() ([]Connection, error) { return Connections() }

// Destination is not known on this system.
func Destination(*Socket) (netip.AddrPort, bool) { return netip.AddrPort{}, false }

// ConnectionState is not known on this system.
func ConnectionState(local, remote netip.AddrPort) (TCPState, bool) { return 0, false }

// ConnectionOf is not known on this system.
func ConnectionOf(local, remote netip.AddrPort) (Connection, bool) { return Connection{}, false }

// WaitingPeers is not known on this system.
func WaitingPeers(listener Snapshot) []netip.AddrPort { return nil }

// KernelNote says where `show`'s state comes from.
func KernelNote(Snapshot, bool) string {
	return "addresses and readiness read from the kernel; TCP state and queues are not read on this system"
}

// pathMTU is not known on this system.
func pathMTU(Family, netip.AddrPort) int { return 0 }

// abandonConnect cannot undo a handshake in progress on this system; the
// kernel finishes or fails it on its own.
func abandonConnect(fd int) {}

// newSocket makes a socket and marks it close-on-exec straight after, as
// systems without SOCK_CLOEXEC must.
func newSocket(domain, typ, proto int) (int, error) {
	fd, err := unix.Socket(domain, typ, proto)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	return fd, err
}

// accept takes a connection and marks it close-on-exec straight after.
func accept(fd int) (int, netip.AddrPort, error) {
	nfd, sa, err := unix.Accept(fd)
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	return nfd, addrPortOf(sa), err
}

// sockName is getsockname(2): the socket's own address.
func sockName(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getsockname(fd)
	return addrPortOf(sa), err
}

// peerName is getpeername(2): the address of the socket's peer.
func peerName(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getpeername(fd)
	return addrPortOf(sa), err
}

// receiveMemoryOf is not known on this system.
func receiveMemoryOf(int) receiveMemory { return receiveMemory{} }

// sendRoom is not known on this system.
func sendRoom(int) bool { return false }

// segmentsSent is not known on this system.
func segmentsSent(int) int { return 0 }

// TimerOf is not known on this system.
func TimerOf(*Socket, Snapshot, netip.AddrPort) (Timer, bool) { return Timer{}, false }

// loopbackDown is not read on this system: what a loopback interface that
// is down does to bind, connect and sendto was measured on Linux only.
func loopbackDown() (name string, down bool) { return "", false }
