package steps

import (
	"net"
	"net/netip"
	"strings"
)

// An otherFamilyListener is, for a TCP connect to this machine that the
// kernel refused (ECONNREFUSED), the listening socket that holds the port
// for the other family only: one on 0.0.0.0 refuses a client of ::1, and
// one on :: with IPV6_V6ONLY on, or on ::1, refuses a client of
// 127.0.0.1. The kernel answers such a SYN with a reset, as it does where
// nothing listens. It is empty where that is not why (Address is "").
type otherFamilyListener struct {
	To         string // where the SYN went: the address given, or loopback for 0.0.0.0 or ::
	Listener   string // the lab's listening socket, or "" for one outside this session
	Address    string // the address it listens on: 0.0.0.0, ::, ::1
	Everywhere bool   // that address is 0.0.0.0 or ::, every interface
	SixOnly    bool   // it is on :: with IPV6_V6ONLY on
	Takes      string // the family it takes: IPv4, IPv6
	Wanted     string // the family of the refused connection: IPv6, IPv4
	Socket     string // socket's word for the family it takes: ipv4, ipv6
	ConnectTo  string // an address of this machine it takes: 127.0.0.1, ::1
	Played     bool   // a program (auto client) made the connect: its fix is --host
}

// refusedByOtherFamily looks, for a TCP connect to remote that the kernel
// refused, for a listener at remote's port that takes the other family
// only. It asks the kernel for every listener of the machine, so a
// server of another program is found as well as the lab's, and names the
// lab's. Where a listener that takes remote's family covers remote,
// something else refused it (a firewall's reset, say): nothing is said.
// Nor where remote is not an address of this machine, whose listeners
// say nothing of another's.
func (l *Lab) refusedByOtherFamily(remote netip.AddrPort) otherFamilyListener {
	if l.CallsOnly || !ofThisMachine(remote.Addr()) {
		return otherFamilyListener{}
	}
	to := remote.Addr().Unmap()
	wanted, other := IPv6, IPv4
	if to.Is4() {
		wanted, other = IPv4, IPv6
	}
	if to.IsUnspecified() {
		// Linux connects to 0.0.0.0 or :: as to its loopback address.
		to = wanted.loopbackAddr()
	}
	dest := netip.AddrPortFrom(to, remote.Port())
	conns, err := tcpListeners()
	if err != nil {
		return otherFamilyListener{}
	}
	var others []Connection
	for _, c := range conns {
		if c.State != Listen || c.Local.Port() != remote.Port() {
			continue
		}
		if !takes(c, wanted) {
			others = append(others, c)
		} else if covers(c.Local, dest) {
			return otherFamilyListener{}
		}
	}
	if len(others) == 0 {
		return otherFamilyListener{}
	}
	c := likeliest(others)
	addr := c.Local.Addr()
	f := otherFamilyListener{To: dest.String(), Played: l.Driven, Listener: l.Owners()(c),
		Address: addr.String(), Everywhere: addr.IsUnspecified(), SixOnly: addr.IsUnspecified() && c.IPv6Only, Takes: other.String(), Wanted: wanted.String(),
		Socket: strings.ToLower(other.String()), ConnectTo: addr.Unmap().String()}
	if f.Everywhere {
		f.ConnectTo = other.loopbackAddr().String()
	}
	return f
}

// takes says whether a TCP listener takes clients of family f: an IPv4
// socket, or an IPv6 one bound to an IPv4-mapped address, takes IPv4 only;
// an IPv6 socket on :: takes IPv6 and, unless its IPV6_V6ONLY is on, IPv4
// too (taken so where the kernel does not say); on any other IPv6
// address, IPv6 only.
func takes(c Connection, f Family) bool {
	switch addr := c.Local.Addr(); {
	case addr.Is4(), addr.Is4In6():
		return f == IPv4
	case addr.IsUnspecified():
		return f == IPv6 || !c.IPv6Only
	}
	return f == IPv6
}

// likeliest picks, of the listeners at one port, the one a learner most
// likely meant: one on every interface, then one on loopback, then the
// first the kernel listed.
func likeliest(listeners []Connection) Connection {
	for _, want := range []func(netip.Addr) bool{netip.Addr.IsUnspecified, netip.Addr.IsLoopback} {
		for _, c := range listeners {
			if want(c.Local.Addr().Unmap()) {
				return c
			}
		}
	}
	return listeners[0]
}

// ofThisMachine says whether addr is one of this machine's: loopback,
// 0.0.0.0 or :: (which Linux connects to as loopback), or an address of
// one of its interfaces. A connection there is refused by this kernel,
// whose listeners explain it.
func ofThisMachine(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	if addr.IsLoopback() || addr.IsUnspecified() {
		return true
	}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range ifaddrs {
		if n, ok := a.(*net.IPNet); ok {
			if own, ok := netip.AddrFromSlice(n.IP); ok && own.Unmap() == addr {
				return true
			}
		}
	}
	return false
}

// refusedLater says why the connect of the TCP socket s, which returned
// EINPROGRESS, was refused after, when call (recv, send, recvfrom or
// sendto) reports it (ECONNREFUSED), and what to do: recv.txt's
// [ECONNREFUSED], and where a listener that takes the other family only
// holds the port, connect's own [ECONNREFUSED] and [ECONNREFUSED fix].
// The kernel still gives the address the connect went to (SO_PEERNAME:
// Destination) on the CLOSED socket, before the call that reports the
// error and after.
func (l *Lab) refusedLater(s *Socket, call string) (why, fix string) {
	data := recvData{Label: s.Label(), Call: call}
	if to, ok := Destination(s); ok {
		data.RefusedAt = to.String()
		connect := connectData{Port: int(to.Port()), OtherFamily: l.refusedByOtherFamily(to)}
		if connect.OtherFamily.Address != "" {
			data.OtherFamily = connectProse.Render("ECONNREFUSED", connect)
			fix = connectProse.Render("ECONNREFUSED fix", connect)
		}
	}
	return recvProse.Render("ECONNREFUSED", data), fix
}
