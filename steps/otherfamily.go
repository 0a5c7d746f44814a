package steps

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
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

// A refusal is what sockstep can tell of why the kernel refused a TCP
// connect (ECONNREFUSED). A reset (RST) answered the SYN, or an ICMP "port
// unreachable" did, which Linux reports to a connect in SYN_SENT the same
// way. On this machine, its listeners say which: none at the port, one
// of the other family only, or one that takes the connection, so that
// something else refused it. Of another machine's, nothing is known here.
type refusal struct {
	// Elsewhere: the address is not this machine's. Nothing listening
	// there (the kernel there resets) and a firewall on the way that
	// rejects (with a reset or an ICMP "port unreachable") look alike.
	Elsewhere bool
	// OtherFamily is the listener at the port that takes the other
	// family only.
	OtherFamily otherFamilyListener
	// Covering is a listener at the port that takes the connection: its
	// family, and an address that covers the one connected to; of
	// several, the one the kernel would give the SYN to (coveringOf). Where it
	// is tied to one interface (SO_BINDTODEVICE) and the SYN came in on
	// another, the kernel found no listener for the SYN and reset it;
	// where it is not tied, or tied to the interface the SYN came in on,
	// the kernel did not refuse, and a firewall rule that rejects did.
	Covering coveringListener
	// ListenedAfter is the lab's listener that covers the address but
	// began to listen after the connect was made, where no other covers
	// it: when the SYN came, nothing listened there.
	ListenedAfter string
}

// A coveringListener is a TCP listener of this machine that takes a
// connection that was refused.
type coveringListener struct {
	Listener  string // the lab's listening socket, or "" for one outside this session
	Address   string // the address it listens on: 0.0.0.0, ::, 127.0.0.1
	Interface string // the interface it is tied to where the SYN came in on another, or ""
	// TieUnknown: whether it is tied to the interface the SYN came in on
	// could not be read (sock_diag could not be asked, or the interface
	// could not), so that the tie remains a possible cause.
	TieUnknown bool
	// MaybeAfter: the refusal is reported after the connect returned,
	// and every listener that may take it is outside this session, whose
	// start the kernel does not tell: it may have begun to listen after
	// the SYN came.
	MaybeAfter bool
}

// packet is the diagram's word for what answered the SYN: a reset where
// this machine's listeners say that the kernel had nothing to give it
// to, and either a reset or an ICMP error where a firewall may have
// answered.
func (r refusal) packet() string {
	if r.Elsewhere || r.Covering.Address != "" && r.Covering.Interface == "" {
		return "RST or ICMP unreachable"
	}
	return "RST"
}

// whyRefused says, for a TCP connect to remote that the kernel refused,
// who refused it, as far as this machine can tell. It asks the kernel for
// every listener of the machine, so a server of another program is found
// as well as the lab's, and names the lab's. Where remote is not an
// address of this machine, whose listeners say nothing of another's, it
// says only that. sent is when the connect that sent the SYN was made
// (zero where not known): a listener of the lab that began to listen
// after it is no cause. later says the refusal is reported after that
// connect returned, so that a listener outside the lab may have begun
// since. It runs only after a refusal: nothing of it is on a connect's
// way.
func (l *Lab) whyRefused(remote netip.AddrPort, sent time.Time, later bool) refusal {
	if l.CallsOnly {
		return refusal{}
	}
	if !ofThisMachine(remote.Addr()) {
		return refusal{Elsewhere: true}
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
	conns, devices, err := tcpListeners()
	if err != nil {
		return refusal{}
	}
	lab := byInode(l.Sockets())
	var others, covering []Connection
	var listenedAfter string
	for _, c := range conns {
		if c.State != Listen || c.Local.Port() != remote.Port() {
			continue
		}
		if s := lab[c.Inode]; s != nil && !sent.IsZero() && s.listening.After(sent) {
			if takes(c, wanted) && covers(c.Local, dest) {
				listenedAfter = s.Label()
			}
			continue
		}
		if !takes(c, wanted) {
			others = append(others, c)
		} else if covers(c.Local, dest) {
			covering = append(covering, c)
		}
	}
	if len(covering) > 0 {
		return refusal{Covering: coveringOf(covering, to, devices, lab, later)}
	}
	if listenedAfter != "" {
		return refusal{ListenedAfter: listenedAfter}
	}
	if len(others) == 0 {
		return refusal{}
	}
	c := likeliest(others)
	addr := c.Local.Addr()
	f := otherFamilyListener{To: dest.String(), Played: l.Driven, Listener: labelOf(lab, c),
		Address: addr.String(), Everywhere: addr.IsUnspecified(), SixOnly: addr.IsUnspecified() && c.IPv6Only, Takes: other.String(), Wanted: wanted.String(),
		Socket: strings.ToLower(other.String()), ConnectTo: addr.Unmap().String()}
	if f.Everywhere {
		f.ConnectTo = other.loopbackAddr().String()
	}
	return refusal{OtherFamily: f}
}

// coveringOf names, of the listeners that cover the address to that a
// refused SYN went to, the one the kernel would give it to, as the
// kernel chooses: one not tied to an interface (SO_BINDTODEVICE), or
// tied to the one the SYN came in on; for then the kernel did not refuse
// it for want of a listener. Failing that, one whose tie cannot be read
// (devices false: the kernel's table did not say); and only where every
// one is tied to another interface, one of those, with its interface.
// lab names the lab's sockets by inode; later, as for whyRefused.
func coveringOf(listeners []Connection, to netip.Addr, devices bool, lab map[uint64]*Socket, later bool) coveringListener {
	var taking, unknown, elsewhere []Connection
	ties := map[int]string{} // the interface each device index of elsewhere names
	for _, c := range listeners {
		switch tie, known := tiedElsewhere(c.Device, to); {
		case !known || !devices:
			unknown = append(unknown, c)
		case tie == "":
			taking = append(taking, c)
		default:
			elsewhere, ties[c.Device] = append(elsewhere, c), tie
		}
	}
	if len(taking) == 0 && len(unknown) == 0 {
		c := likeliest(elsewhere)
		return coveringListener{Listener: labelOf(lab, c), Address: c.Local.Addr().String(), Interface: ties[c.Device]}
	}
	pick := taking
	if len(taking) == 0 {
		pick = unknown
	}
	c := likeliest(pick)
	outside := !slices.ContainsFunc(slices.Concat(taking, unknown), func(c Connection) bool { return lab[c.Inode] != nil })
	return coveringListener{Listener: labelOf(lab, c), Address: c.Local.Addr().String(),
		TieUnknown: len(taking) == 0, MaybeAfter: later && outside}
}

// labelOf names the lab's socket of a listener of the kernel's table, or
// is "" for one outside this session.
func labelOf(lab map[uint64]*Socket, c Connection) string {
	if s := lab[c.Inode]; s != nil {
		return s.Label()
	}
	return ""
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
	return err == nil && hasAddr(ifaddrs, addr)
}

// hasAddr says whether addr, without zone, is one of addrs, the addresses
// of an interface or of all.
func hasAddr(addrs []net.Addr, addr netip.Addr) bool {
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if own, ok := netip.AddrFromSlice(n.IP); ok && own.Unmap() == addr {
				return true
			}
		}
	}
	return false
}

// tiedElsewhere names the interface of index device (sock_diag's
// idiag_if) that a listener is tied to (SO_BINDTODEVICE), where a SYN
// from this machine to the address to comes in on another: such a SYN
// comes in on the interface that holds to, the loopback for 127.0.0.1 or
// ::1. Measured on Linux 6.18: a listener on 0.0.0.0 tied to v0 takes a
// connect to 192.0.2.1, v0's address, and refuses one to 127.0.0.1; one
// tied to lo takes 127.0.0.1 and refuses 192.0.2.1. It is "" for a
// listener not tied (device 0) and for one whose interface holds to;
// known is false where the interface cannot be read
// (net.InterfaceByIndex, then Addrs: 90 µs in a namespace of three
// interfaces, and only after a refusal).
func tiedElsewhere(device int, to netip.Addr) (name string, known bool) {
	if device == 0 {
		return "", true
	}
	iface, err := net.InterfaceByIndex(device)
	if err != nil {
		return "", false
	}
	if iface.Flags&net.FlagLoopback != 0 && to.IsLoopback() {
		return "", true
	}
	addrs, err := iface.Addrs()
	if err != nil {
		return "", false
	}
	if hasAddr(addrs, to.WithZone("")) {
		return "", true
	}
	return iface.Name, true
}

// refusedLater says why the connect of the TCP socket s, which returned
// EINPROGRESS, was refused after, when call (recv, send, recvfrom or
// sendto) reports it (ECONNREFUSED), and what to do: recv.txt's
// [ECONNREFUSED], which gives connect's own [ECONNREFUSED] where this
// machine's listeners say more than that nothing listens there, and
// connect's [ECONNREFUSED fix] for a socket whose error call took. The
// kernel still gives the address the connect went to (SO_PEERNAME:
// Destination) on the CLOSED socket, before the call that reports the
// error and after.
func (l *Lab) refusedLater(s *Socket, call string) (why, fix string) {
	data := recvData{Label: s.Label(), Call: call}
	connect := connectData{Name: s.Name, Label: s.Label(), TakenBy: call}
	if to, ok := Destination(s); ok {
		data.RefusedAt = to.String()
		connect.Remote, connect.Port, connect.Refused = to.String(), int(to.Port()), l.whyRefused(to, s.synSent, true)
		if connect.Refused != (refusal{}) {
			data.ConnectSays = connectProse.Render("ECONNREFUSED", connect)
		}
	}
	return recvProse.Render("ECONNREFUSED", data), connectProse.Render("ECONNREFUSED fix", connect)
}
