//go:build linux

package steps

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's addresses, read straight from its struct sockaddr.
// x/sys/unix's Getsockname, Getpeername and Accept4 convert the address
// themselves, and for every IPv4 and IPv6 address first ask the kernel
// one more question (getsockopt SO_PROTOCOL, to tell L2TP sockets apart):
// on a narrated server's path that was one call in three.

// sockName is getsockname(2): the socket's own address.
func sockName(fd int) (netip.AddrPort, error) { return nameOf(unix.SYS_GETSOCKNAME, fd) }

// peerName is getpeername(2): the address of the socket's peer.
func peerName(fd int) (netip.AddrPort, error) { return nameOf(unix.SYS_GETPEERNAME, fd) }

// formerPeer is getsockopt SO_PEERNAME: the peer the kernel still records
// for a socket, which it gives even for a TCP socket whose connection is
// over (CLOSED), or not yet made (SYN_SENT), where getpeername says
// ENOTCONN. The buffer must be no
// longer than the family's address, or the kernel refuses it (EINVAL).
func formerPeer(fd int, f Family) (netip.AddrPort, error) {
	var raw unix.RawSockaddrAny
	size := uint32(unix.SizeofSockaddrInet4)
	if f == IPv6 {
		size = unix.SizeofSockaddrInet6
	}
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERNAME,
		uintptr(unsafe.Pointer(&raw)), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return netip.AddrPort{}, errno
	}
	return rawAddrPort(&raw), nil
}

func nameOf(call uintptr, fd int) (netip.AddrPort, error) {
	var raw unix.RawSockaddrAny
	size := uint32(unix.SizeofSockaddrAny)
	_, _, errno := unix.RawSyscall(call, uintptr(fd), uintptr(unsafe.Pointer(&raw)), uintptr(unsafe.Pointer(&size)))
	if errno != 0 {
		return netip.AddrPort{}, errno
	}
	return rawAddrPort(&raw), nil
}

// accept takes a connection, its descriptor marked close-on-exec, and
// the peer's address.
func accept(fd int) (int, netip.AddrPort, error) {
	var raw unix.RawSockaddrAny
	size := uint32(unix.SizeofSockaddrAny)
	nfd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&raw)), uintptr(unsafe.Pointer(&size)), unix.SOCK_CLOEXEC, 0, 0)
	if errno != 0 {
		return -1, netip.AddrPort{}, errno
	}
	return int(nfd), rawAddrPort(&raw), nil
}

// rawAddrPort reads an IPv4 or IPv6 struct sockaddr, whose port is in
// network byte order; any other family is the zero AddrPort.
func rawAddrPort(raw *unix.RawSockaddrAny) netip.AddrPort {
	switch raw.Addr.Family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(raw))
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), networkOrder(a.Port))
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(raw))
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), networkOrder(a.Port))
	}
	return netip.AddrPort{}
}

// networkOrder reads a port as the kernel stores it: big-endian.
func networkOrder(port uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&port))
	return uint16(b[0])<<8 | uint16(b[1])
}
