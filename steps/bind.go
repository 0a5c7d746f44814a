package steps

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

var bindProse = loadProse("bind.txt", stepSections...)

// BindStep gives a socket its local address: bind(3, 0.0.0.0:8081).
var BindStep = &Step{
	Name:     "bind",
	Usage:    `bind SOCK [HOST] PORT      (HOST "", * or any = every interface)`,
	Example:  `bind server "" 8081`,
	Summary:  "give a socket its address",
	About:    bindProse.About(),
	Complete: socketNames(hostsThenNothing),
	Run:      runBind,
}

// hostsThenNothing completes, after the socket, every interface, the
// hosts of this machine in the socket's family, or a port alone: the one
// its next line would suggest from.
func hostsThenNothing(l *Lab, s *Socket, before []string) []string {
	if len(before) == 1 {
		return append(append([]string{`""`}, hostsFor(s)...), strconv.Itoa(l.suggestFrom(s.Kind)))
	}
	return nil
}

// bindData is what bind.txt can use.
type bindData struct {
	GoAddr          string // the address as Go code for x/sys/unix
	Name, Label, Py string
	FD              int
	Host            string // as typed
	Addr            string // the address it stands for: 127.0.0.1 for localhost
	PyHost          string // as Python writes it: "" or "127.0.0.1"
	Port            int    // as asked; 0 asks the kernel to choose
	Local           string // the address the kernel reports after the call
	LocalPort       int
	Resolved        string           // "localhost is 127.0.0.1", or ""
	Every           bool             // every interface
	Loopback        bool             // 127.0.0.1 or ::1
	IPv6, V6Only    bool             // an IPv6 socket, and whether it refuses IPv4
	LinkLocal       linkLocalRefusal // EINVAL: the address is link-local, and no interface was given
	// EADDRNOTAVAIL: the address is ::1, and the loopback interface is
	// down (lodown.txt).
	LoopbackDown loopbackDownRefusal
	// After a bind to every interface or to a loopback address, while
	// the loopback interface is down: why nothing here reaches the
	// socket (lodown.txt).
	Unreached  string
	Datagram   bool
	Holder     string // the session's socket that holds the port, when bind fails for it
	HolderHow  string // how it holds it: "it listens there"
	HolderName string // its name, for a command
	// EADDRINUSE: of this socket and Holder, the IPv6 one, on :: with
	// IPV6_V6ONLY off, takes IPv4 too, so it clashes with the IPv4 one;
	// DualStackIsThis when it is this socket, whose option can still change.
	DualStack       string
	DualStackIsThis bool
	// A bound UDP socket's suggestion: a new socket of this name sends
	// it a datagram at SenderHost (an IPv6 socket if SenderIPv6).
	NewSender, SenderHost string
	SenderIPv6            bool
	HolderListens         bool   // it is a listener, which SO_REUSEADDR never gets past
	AlsoHeldBy            string // the session's other sockets that hold the port too, such as the listener's connections
	TimeWaitOnly          bool   // no socket holds the port: connections in TIME_WAIT alone do
	Unprivileged          int    // net.ipv4.ip_unprivileged_port_start, when bind fails with EACCES
	Reserved              bool   // the port asked is below it
	Suggest               int    // a port to use instead: 8081, or the first unprivileged one above it
}

func runBind(_ context.Context, l *Lab, args []string) (*Report, error) {
	s, err := l.find(args, "should get the address")
	if err != nil {
		return nil, err
	}
	var host, port string
	switch len(args) {
	case 2:
		host, port = "", args[1]
	case 3:
		host, port = args[1], args[2]
	default:
		return nil, usageErr("bind takes a socket, an optional host and a port")
	}
	p, err := parsePort(port, "choose")
	if err != nil {
		return nil, err
	}
	addr, resolved, err := resolveHost(host, s)
	if err != nil {
		return nil, err
	}
	ap := netip.AddrPortFrom(addr, p)

	data := bindData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, Host: host, Addr: addr.String(), PyHost: pyHost(host),
		Port: int(p), Resolved: resolved, Every: addr.IsUnspecified(), Loopback: addr.IsLoopback(),
		IPv6: s.Family == IPv6, Datagram: s.Kind == Datagram, GoAddr: goSockaddr(s.Family, ap)}
	before := l.look(s)
	call := fmt.Sprintf("bind(%d, %s)", s.FD, ap)
	s.port.Store(nil) // the socket may hold a port again
	if err := bindCall(s.FD, sockaddr(s.Family, ap)); err != nil {
		data.Local = ap.String()
		switch {
		case errors.Is(err, unix.EADDRINUSE):
			if holders := l.portHolders(s, ap); len(holders) > 0 {
				holder, snap := holders[0].s, holders[0].snap
				data.Holder, data.HolderHow, data.HolderName = holder.Label(), holds(holder, snap), holder.Name
				data.HolderListens = holder.Kind == Stream && snap.State == Listen
				var others []string
				for _, h := range holders[1:] {
					others = append(others, h.s.Label())
				}
				data.AlsoHeldBy = strings.Join(others, ", ")
				data.DualStack, data.DualStackIsThis = dualStack(s, ap.Addr(), holder, snap.Local.Addr())
			} else if s.Kind == Stream && !l.CallsOnly {
				data.TimeWaitOnly = timeWaitOnly(ap)
			}
		case errors.Is(err, unix.EINVAL):
			if !before.Bound() { // else that is why
				data.LinkLocal = refusedLinkLocal(s, host, ap, err, "bind")
			}
		case errors.Is(err, unix.EADDRNOTAVAIL):
			data.LoopbackDown = refusedLoopbackDown(addr, err, "bind")
		case errors.Is(err, unix.EACCES):
			data.Unprivileged = readProcInt("/proc/sys/net/ipv4/ip_unprivileged_port_start")
			data.Reserved = data.Port < data.Unprivileged
			data.Suggest = max(l.suggestFrom(s.Kind), data.Unprivileged)
		}
		return bindProse.refused(call, err, data), nil
	}
	after := l.look(s)
	data.Local, data.LocalPort = after.Local.String(), int(after.Local.Port())
	if (data.Every || data.Loopback) && !l.CallsOnly {
		data.Unreached = unreachedLoopbackDown(data.IPv6)
	}
	if s.Family == IPv6 && !l.CallsOnly {
		v, _ := unix.GetsockoptInt(s.FD, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
		data.V6Only = v == 1
	}
	if data.Datagram && !l.Driven && !l.CallsOnly {
		data.SenderHost, data.SenderIPv6 = clientHost(s, after.Local)
		data.NewSender = l.FreeName("c")
	}
	return l.tell(&Report{
		Call:  call + " = 0",
		State: []Change{{Who: s.Label(), Before: addressState(s, before), After: addressState(s, after)}},
	}, bindProse, data), nil
}

// addressState is a socket's local address and state, for a state line.
func addressState(s *Socket, snap Snapshot) string {
	local := "no address"
	if snap.Bound() {
		local = snap.Local.String()
	}
	return fmt.Sprintf("%s, %s", snap.StateWord(s.Kind), local)
}

// A holding is a socket of the session that holds a port, and its state.
type holding struct {
	s    *Socket
	snap Snapshot
}

// portHolders finds, in the table's order, the session's sockets of the
// same kind as s that hold the port at addr: bound to that address, or to
// every interface, or, when addr is every interface, to any address. The
// first is the one bind names; the others, such as the connections a
// listener accepted, keep the port taken when it alone is closed.
func (l *Lab) portHolders(s *Socket, addr netip.AddrPort) []holding {
	var holders []holding
	for _, t := range l.Sockets() {
		if t == s || t.Kind != s.Kind {
			continue
		}
		if snap := readState(t); clash(snap.Local, addr) {
			holders = append(holders, holding{t, snap})
		}
	}
	return holders
}

// dualStack finds, of a socket s that asks for addr and a socket holder
// that holds the same port at held, the IPv6 one when the other is IPv4
// and it is on :: with IPV6_V6ONLY off: the reason the kernel lets them
// not share the port. It returns its label, and whether it is s.
func dualStack(s *Socket, addr netip.Addr, holder *Socket, held netip.Addr) (string, bool) {
	if s.Family == holder.Family {
		return "", false
	}
	six, at := holder, held
	if s.Family == IPv6 {
		six, at = s, addr
	}
	if on, known := OptionOn(six, "IPV6_V6ONLY"); on || !known || !at.IsUnspecified() {
		return "", false
	}
	return six.Label(), six == s
}

// holds says how a socket holds its port, for bind's EADDRINUSE.
func holds(s *Socket, snap Snapshot) string {
	switch {
	case s.Kind == Datagram:
		return "it is bound there"
	case snap.State == Listen:
		return "it listens there"
	case snap.Connected():
		return "its connection uses that port (" + snap.State.String() + ")"
	}
	return "it is bound there, though it neither listens nor is connected"
}

// timeWaitOnly says whether the TCP entries of the kernel's tables that
// take a bind to addr are all connections in TIME_WAIT, which no socket
// holds, and there is one at least.
func timeWaitOnly(addr netip.AddrPort) bool {
	holders, err := tcpHolders()
	if err != nil {
		return false
	}
	found := false
	for _, c := range holders {
		if !clash(c.Local, addr) {
			continue
		}
		if c.State != TimeWait {
			return false
		}
		found = true
	}
	return found
}
