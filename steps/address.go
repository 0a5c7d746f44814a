package steps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// addrPortOf turns a kernel socket address into an address and port.
func addrPortOf(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// sockaddr turns an address and port into what the kernel takes for a
// socket of family f.
func sockaddr(f Family, ap netip.AddrPort) unix.Sockaddr {
	if f == IPv6 {
		return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
}

// SameEnd compares two ends of a connection, taking ::ffff:127.0.0.1 and
// 127.0.0.1 to be the same.
func SameEnd(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}

// covers says whether a socket bound to bound holds addr: the same port,
// and the same address unless bound is every interface. It is who gets a
// datagram or a connection sent to addr, and who stands in a bind's way.
func covers(bound, addr netip.AddrPort) bool {
	return bound.Port() == addr.Port() && (bound.Addr().IsUnspecified() || bound.Addr().Unmap() == addr.Addr().Unmap())
}

// clash says whether a socket bound to a stands in the way of a bind to
// b, or one bound to b in the way of a: either covers the other.
func clash(a, b netip.AddrPort) bool { return covers(a, b) || covers(b, a) }

// parsePort reads a port number. Port 0 is allowed only where the kernel
// gives it a meaning (bind: "choose a free port for me").
func parsePort(s string, zeroMeans string) (uint16, error) {
	ports := "from 1 to 65535"
	if zeroMeans != "" {
		ports = "from 0 to 65535 (0: the kernel chooses)"
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		if p, lookErr := net.LookupPort("tcp", s); lookErr == nil {
			return 0, usageErr(fmt.Sprintf("the port must be a number: %s is a service name, and its port is %d", QuoteShort(s), p))
		}
		return 0, usageErr(fmt.Sprintf("the port must be a number %s, not %s", ports, QuoteShort(s)))
	}
	switch {
	case n < 0 || n > 65535:
		return 0, usageErr(fmt.Sprintf("port %d does not exist: a port is 16 bits, a number %s", n, ports))
	case n == 0 && zeroMeans == "":
		return 0, usageErr("port 0 is not a port anyone can listen on: give the port the server is bound to, from 1 to 65535")
	}
	return uint16(n), nil
}

// peerPort reads the port a connect or sendto (the step named step) on a
// socket of kind k sends to. Port 0 is refused before any call: no socket
// can be bound to it, so nothing ever receives there. For UDP, where Linux
// accepts it all the same, datagram.txt's [port 0] says what the kernel
// would do.
func peerPort(s string, k Kind, step string) (uint16, error) {
	if n, err := strconv.Atoi(s); err == nil && n == 0 && k == Datagram {
		return 0, usageErr(datagramProse.Render("port 0", datagramFate{Step: step}))
	}
	return parsePort(s, "")
}

// everyInterface reports whether host means "every interface" in bind:
// Python's "", or * or any.
func everyInterface(host string) bool {
	return host == "" || host == "*" || host == "any" || host == "0.0.0.0" || host == "::"
}

// resolveTimeout bounds a name lookup, so an unreachable resolver cannot
// hang a step.
const resolveTimeout = 3 * time.Second

// resolveHost turns what the learner typed into one address of the
// socket's family: "", * and any mean every interface; a literal is taken
// as it is; a name such as localhost is looked up. how says which, for the
// narration.
func resolveHost(host string, s *Socket) (addr netip.Addr, how string, err error) {
	f := s.Family
	if everyInterface(host) {
		return f.everyInterface(), "", nil
	}
	if a, perr := netip.ParseAddr(strings.Trim(host, "[]")); perr == nil {
		switch {
		case a.Zone() != "":
			return netip.Addr{}, "", usageErr(fmt.Sprintf("%s has a zone, %%%s: sockstep gives the kernel no zone (no interface). A zone says which interface a link-local address (fe80::…) belongs to; to try IPv6 on this machine, use ::1", host, a.Zone()))
		case f == IPv4 && a.Is6() && !a.Is4In6():
			return netip.Addr{}, "", usageErr(fmt.Sprintf("%s is an IPv6 address and this socket is IPv4: use an IPv4 address such as 127.0.0.1, or make an IPv6 socket with `socket %s ipv6`", host, strings.ToLower(s.Kind.String())))
		case f == IPv6 && a.Is4():
			return netip.Addr{}, "", usageErr(fmt.Sprintf("%s is an IPv4 address and this socket is IPv6: write it IPv4-mapped, ::ffff:%s, the same address, or make an IPv4 socket (::1 is another address, which IPv4 sockets never hold)", host, host))
		case f == IPv4:
			return a.Unmap(), "", nil
		}
		return a, "", nil
	}
	a, ok := LookupName(context.Background(), host, f)
	if !ok {
		family := IPv4
		if f == IPv4 {
			family = IPv6
		}
		if other, known := LookupName(context.Background(), host, family); known { // in the other family only
			return netip.Addr{}, "", usageErr(fmt.Sprintf("%s is %s on this machine, and has no %s address: give an address such as %s, or use an %s socket", QuoteShort(host), other, f, loopback(f), family))
		}
		return netip.Addr{}, "", usageErr(fmt.Sprintf("cannot find an %s address for %s: check the spelling, or give an address such as %s", f, QuoteShort(host), loopback(f)))
	}
	return a, fmt.Sprintf("%s is %s", host, a), nil
}

// Resolver looks up the host names that bind, connect, sendto and auto's
// --host are given. Tests give it one that sends no DNS query.
var Resolver = net.DefaultResolver

// LookupName looks a host name up as bind and connect do for a socket of
// family f: the first address of that family, within resolveTimeout. ok
// is false when the name has none.
func LookupName(ctx context.Context, host string, f Family) (addr netip.Addr, ok bool) {
	network := "ip4"
	if f == IPv6 {
		network = "ip6"
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := Resolver.LookupNetIP(ctx, network, host)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, false
	}
	if f == IPv4 {
		return addrs[0].Unmap(), true
	}
	return addrs[0], true
}

// loopback is this machine's own address in family f, as text.
func loopback(f Family) string { return f.loopbackAddr().String() }

// pyHost is how Python's tutorial writes a host in an address tuple: an
// IPv6 address without the brackets a URL puts around it, which Python's
// look-up would take for a name and not find.
func pyHost(host string) string {
	if host == "" || host == "*" || host == "any" {
		return `""`
	}
	if bare := strings.Trim(host, "[]"); bare != host {
		if _, err := netip.ParseAddr(bare); err == nil {
			host = bare
		}
	}
	return strconv.Quote(host)
}

// PyAddress writes an address as Python prints the tuple accept returns:
// ('127.0.0.1', 51234), or for IPv6 ('::1', 51234, 0, 0).
func PyAddress(a netip.AddrPort) string {
	var buf [64]byte
	return string(appendPyAddress(buf[:0], a))
}

func appendPyAddress(b []byte, a netip.AddrPort) []byte {
	b = append(b, "('"...)
	b = a.Addr().WithZone("").AppendTo(b)
	b = append(b, "', "...)
	b = strconv.AppendUint(b, uint64(a.Port()), 10)
	if !a.Addr().Is4() {
		b = append(b, ", 0, 0"...)
	}
	return append(b, ')')
}

// LocalAddress is the socket's own address, as getsockname gives it: of
// what Read asks the kernel, the one question for a caller that needs
// only this. It is not valid where the kernel does not give it.
func LocalAddress(s *Socket) netip.AddrPort {
	local, _ := sockName(s.FD)
	return local
}

// PyRepr is what Python 3.11 and later print for a socket object, as
// network_server.py's print(connection) does. Like Python, it asks the
// kernel for both addresses as it writes them (getsockname, getpeername)
// and leaves out one the kernel does not give, such as the peer of a
// connection already reset.
func PyRepr(s *Socket) string {
	var buf [192]byte
	b := append(buf[:0], "<socket.socket fd="...)
	b = strconv.AppendInt(b, int64(s.FD), 10)
	b = append(b, ", family="...)
	b = strconv.AppendInt(b, int64(s.Family.domain()), 10)
	b = append(b, ", type="...)
	b = strconv.AppendInt(b, int64(s.Kind.number()), 10)
	b = append(b, ", proto=0"...)
	if local, err := sockName(s.FD); err == nil {
		b = appendPyAddress(append(b, ", laddr="...), local)
	}
	if remote, err := peerName(s.FD); err == nil {
		b = appendPyAddress(append(b, ", raddr="...), remote)
	}
	return string(append(b, '>'))
}

// goSockaddr writes an address as Go code for golang.org/x/sys/unix, the
// way sockstep itself passes it to the kernel.
func goSockaddr(f Family, ap netip.AddrPort) string {
	addr := ap.Addr()
	if f == IPv4 {
		if addr.IsUnspecified() {
			return fmt.Sprintf("&unix.SockaddrInet4{Port: %d}", ap.Port())
		}
		b := addr.Unmap().As4()
		return fmt.Sprintf("&unix.SockaddrInet4{Port: %d, Addr: [4]byte{%d, %d, %d, %d}}", ap.Port(), b[0], b[1], b[2], b[3])
	}
	if addr.IsUnspecified() {
		return fmt.Sprintf("&unix.SockaddrInet6{Port: %d}", ap.Port())
	}
	var bytes []string
	for i, c := range addr.As16() {
		if c != 0 {
			bytes = append(bytes, fmt.Sprintf("%d: %#x", i, c))
		}
	}
	return fmt.Sprintf("&unix.SockaddrInet6{Port: %d, Addr: [16]byte{%s}}", ap.Port(), strings.Join(bytes, ", "))
}

var ipv6OnlyProse = loadProse("ipv6only.txt", "meaning", "why", "fix")

// ipv6OnlyData is what ipv6only.txt can use.
type ipv6OnlyData struct {
	Host, IPv4, Label, BoundV6, Verb string
}

// A mappedRefusal explains ENETUNREACH from an IPv6 socket that takes
// IPv6 only to an IPv4-mapped address (ipv6only.txt): what the errno
// means there, why, and what to do. It is empty where that is not why.
type mappedRefusal struct {
	Meaning, Why, Fix string
}

// refusedMapped reads whether s, given the address to and refused with
// err, takes IPv6 only (IPV6_V6ONLY), and if that is why says so. before
// is s's state before the call; verb is what the fix does (Connect, Send).
func refusedMapped(s *Socket, before Snapshot, to netip.Addr, err error, verb string) mappedRefusal {
	if !errors.Is(err, unix.ENETUNREACH) || !to.Is4In6() {
		return mappedRefusal{}
	}
	if on, _ := OptionOn(s, "IPV6_V6ONLY"); !on {
		return mappedRefusal{}
	}
	d := ipv6OnlyData{Host: to.String(), IPv4: to.Unmap().String(), Label: s.Label(), Verb: verb}
	if before.Bound() && !before.Local.Addr().IsUnspecified() && !before.Local.Addr().Is4In6() {
		d.BoundV6 = before.Local.Addr().String()
	}
	return mappedRefusal{ipv6OnlyProse.Render("meaning", d), ipv6OnlyProse.Render("why", d), ipv6OnlyProse.Render("fix", d)}
}

var linkLocalProse = loadProse("linklocal.txt", "why", "fix")

// linkLocalData is what linklocal.txt can use.
type linkLocalData struct {
	Host, PyHost, Verb string
	Port               int
}

// A linkLocalRefusal explains EINVAL for a link-local IPv6 address given
// without an interface (linklocal.txt): why, and what to do. It is empty
// where that is not why.
type linkLocalRefusal struct {
	Why, Fix string
}

// refusedLinkLocal says why the kernel refused s the address to, given as
// host, with err, if the reason is that to is link-local: sockstep gives
// the kernel no interface (no zone), which such an address needs. verb is
// the call: bind, connect.
func refusedLinkLocal(s *Socket, host string, to netip.AddrPort, err error, verb string) linkLocalRefusal {
	if !errors.Is(err, unix.EINVAL) || s.Family != IPv6 || !to.Addr().IsLinkLocalUnicast() {
		return linkLocalRefusal{}
	}
	d := linkLocalData{Host: host, PyHost: pyHost(host), Port: int(to.Port()), Verb: verb}
	return linkLocalRefusal{linkLocalProse.Render("why", d), linkLocalProse.Render("fix", d)}
}

var loopbackDownProse = loadProse("lodown.txt", "why", "fix", "next")

// loopbackDownData is what lodown.txt can use.
type loopbackDownData struct {
	Host, Interface, Verb string
	IPv6                  bool
}

// A loopbackDownRefusal explains a call to a loopback address that failed
// because the loopback interface is down (lodown.txt): why, and what to
// do. It is empty where that is not why.
type loopbackDownRefusal struct {
	Why, Fix string
}

// sentences is the explanation and the fix together, for a step that says
// them in its narration rather than as a refusal; "" where it is empty.
func (r loopbackDownRefusal) sentences() string {
	if r.Why == "" {
		return ""
	}
	return r.Why + " " + r.Fix
}

// loopbackDownTold renders lodown.txt's sections why and, unless it is
// "", fix for d, with the loopback interface's name, while that interface
// is down; it is empty while it is up. Every sentence of lodown.txt is
// said only so.
func loopbackDownTold(d loopbackDownData, why, fix string) loopbackDownRefusal {
	lo, down := loopbackDown()
	if !down {
		return loopbackDownRefusal{}
	}
	d.Interface = lo
	told := loopbackDownRefusal{Why: loopbackDownProse.Render(why, d)}
	if fix != "" {
		told.Fix = loopbackDownProse.Render(fix, d)
	}
	return told
}

// refusedLoopbackDown says why the kernel refused a call to the address
// to with err, if the reason is that the loopback interface is down: ::1
// is then gone, and bind, connect and sendto there fail with
// EADDRNOTAVAIL; where 127.0.0.1 has no route, connect and sendto there
// fail with ENETUNREACH. verb is the call: bind, connect, sendto.
func refusedLoopbackDown(to netip.Addr, err error, verb string) loopbackDownRefusal {
	to = to.Unmap()
	want := unix.EADDRNOTAVAIL
	if to.Is4() {
		want = unix.ENETUNREACH
	}
	if !errors.Is(err, want) || !to.IsLoopback() {
		return loopbackDownRefusal{}
	}
	return loopbackDownTold(loopbackDownData{Host: to.String(), Verb: verb, IPv6: to.Is6()}, "why", "fix")
}

// unreachedLoopbackDown says, after a bind to every interface or to a
// loopback address, that nothing on this machine reaches the socket while
// the loopback interface is down, and how to bring it up; it is empty
// while the loopback is up. ipv6 is the socket's family.
func unreachedLoopbackDown(ipv6 bool) string {
	return loopbackDownTold(loopbackDownData{IPv6: ipv6}, "bound", "").Why
}

// unansweredLoopbackDown says why a connect to the address to got no
// answer, if the reason is that the loopback interface is down: taken
// down after it was up, it keeps 127.0.0.1 and its routes, so the kernel
// sends the SYN, and lo drops it. (::1 goes with lo, so a connect there
// is refused at once: refusedLoopbackDown.) It is empty otherwise; it is
// asked only of a connect that waited.
func unansweredLoopbackDown(to netip.Addr) loopbackDownRefusal {
	to = to.Unmap()
	if !to.Is4() || !to.IsLoopback() {
		return loopbackDownRefusal{}
	}
	return loopbackDownTold(loopbackDownData{Host: to.String(), Verb: "connect"}, "unanswered", "unanswered fix")
}

// heldLoopbackDown says, for a TCP connection to the address to, what
// becomes of the bytes sent over it while the loopback interface is down,
// in lodown.txt's sections why and fix (loopbackDownTold): [held] and
// [next] for a send that left bytes queued, [nothing arrives] for a recv
// that found none. The kernel keeps them and tries again: an IPv4
// connection (::ffff:127.x included) resends them and lo drops each copy;
// an IPv6 one to ::1, which went with lo, cannot send them at all. It is
// empty where to is not a loopback address or lo is up.
func heldLoopbackDown(to netip.Addr, why, fix string) loopbackDownRefusal {
	to = to.Unmap()
	if !to.IsLoopback() {
		return loopbackDownRefusal{}
	}
	return loopbackDownTold(loopbackDownData{Host: to.String(), IPv6: to.Is6()}, why, fix)
}

// sentHeld is heldLoopbackDown's [held], with [next] as its fix (in place
// of a recv at the peer, which would wait for the bytes), for a TCP send
// whose socket is in state after the call. Over loopback the peer's
// kernel acknowledges within the call, so the interface is asked only
// where bytes are still queued.
func sentHeld(after Snapshot) loopbackDownRefusal {
	if after.SendQ == 0 || !after.Connected() {
		return loopbackDownRefusal{}
	}
	return heldLoopbackDown(after.Remote.Addr(), "held", "next")
}

// next renders the suggestion of what to call next for data. Where it
// names a loopback address while the loopback interface is down, no call
// reaches 127.0.0.1 or ::1, and ::1 cannot be bound, so no suggestion that
// names one would work: lodown.txt's next says so instead.
func (p *Prose) next(data any) string {
	next := p.Render("next", data)
	if !namesLoopback(next) {
		return next
	}
	if out := loopbackDownTold(loopbackDownData{}, "next", "").Why; out != "" {
		return out
	}
	return next
}

// namesLoopback says whether a suggestion names a loopback address, as a
// word of its own: "bind u ::1 0", "(… connect c 127.0.0.1 8081)". It runs
// on every suggestion, and most name none: those, and every word that
// cannot be one, are passed over without parsing, which costs an
// allocation for each word that is no address.
func namesLoopback(suggestion string) bool {
	if !mayBeLoopback(suggestion) {
		return false
	}
	for w := range strings.FieldsFuncSeq(suggestion, func(r rune) bool { return strings.ContainsRune(" \n(),;", r) }) {
		if !mayBeLoopback(w) {
			continue
		}
		if a, err := netip.ParseAddr(w); err == nil && a.Unmap().IsLoopback() {
			return true
		}
	}
	return false
}

// mayBeLoopback says whether s holds the beginning of 127.0.0.1 or ::1,
// as sockstep writes every loopback address (::ffff:127.0.0.1 included).
func mayBeLoopback(s string) bool {
	return strings.Contains(s, "127.") || strings.Contains(s, "::1")
}
