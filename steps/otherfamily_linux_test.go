package steps

import (
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestConnectRefusedByAListenerOfTheOtherFamily connects over loopback to
// a port where a TCP listener takes the other family only, the lab's or
// one outside it, and the kernel refuses (ECONNREFUSED): the report must
// say which listener holds the port, on which address, and which family
// it takes, and its fix, followed, must reach that listener. Where no
// listener of the other family holds the port, it must say none does.
func TestConnectRefusedByAListenerOfTheOtherFamily(t *testing.T) {
	for _, tc := range []struct {
		name string
		// The listener: its address, whether IPV6_V6ONLY is set on it,
		// and whether it is the lab's (named server) or outside it.
		listenOn string
		v6only   bool
		inLab    bool
		listens  bool // false: bound only, as a port nobody listens at
		// The refused client, and whether a program (auto) drives the lab.
		client, host string
		played       bool
		// What the report must say (%s: the port), and the fix's connect,
		// from a socket of family fixFamily to fixHost, that must succeed.
		says, notSays []string
		fix           []string
		fixFamily     string
		fixHost       string
	}{
		{name: "ipv6 client, lab listener on 0.0.0.0", listenOn: "0.0.0.0", inLab: true, listens: true,
			client: "ipv6", host: "::1",
			says: []string{"Nothing that takes IPv6 listens on [::1]:%s", "server (fd", "on 0.0.0.0, the IPv4 address for every interface",
				"takes IPv4 clients only", "IPv6 SYN with a reset"},
			fix:       []string{"Connect to 127.0.0.1 %s from an IPv4 socket (socket tcp ipv4)", "a new IPv6 socket bound to ::"},
			fixFamily: "ipv4", fixHost: "127.0.0.1"},
		{name: "ipv6 client to ::, listener outside on 0.0.0.0", listenOn: "0.0.0.0", listens: true,
			client: "ipv6", host: "::",
			says: []string{"Nothing that takes IPv6 listens on [::1]:%s", "a socket outside this session", "on 0.0.0.0"},
			fix:  []string{"Connect to 127.0.0.1 %s", "sockstep auto server --host ::"}, fixFamily: "ipv4", fixHost: "127.0.0.1"},
		{name: "auto client to ::1, listener outside on 0.0.0.0", listenOn: "0.0.0.0", listens: true,
			client: "ipv6", host: "::1", played: true,
			says: []string{"a socket outside this session", "takes IPv4 clients only"},
			fix:  []string{"Connect to 127.0.0.1 %s (--host 127.0.0.1)", "sockstep auto server --host ::"}, fixFamily: "ipv4", fixHost: "127.0.0.1"},
		{name: "ipv6 client, listener outside on 127.0.0.1", listenOn: "127.0.0.1", listens: true,
			client: "ipv6", host: "::1",
			says: []string{"on 127.0.0.1, an IPv4 address", "takes IPv4 clients only"},
			fix:  []string{"Connect to 127.0.0.1 %s", "in place of 127.0.0.1"}, fixFamily: "ipv4", fixHost: "127.0.0.1"},
		{name: "ipv6 client, ipv6 listener outside on ::ffff:127.0.0.1", listenOn: "::ffff:127.0.0.1", listens: true,
			client: "ipv6", host: "::1",
			says: []string{"on ::ffff:127.0.0.1, an IPv4 address", "takes IPv4 clients only"},
			fix:  []string{"Connect to 127.0.0.1 %s"}, fixFamily: "ipv4", fixHost: "127.0.0.1"},
		{name: "ipv4 client, lab listener on ::1", listenOn: "::1", inLab: true, listens: true,
			client: "ipv4", host: "127.0.0.1",
			says: []string{"Nothing that takes IPv4 listens on 127.0.0.1:%s", "server (fd", "on ::1, an IPv6 address",
				"takes IPv6 clients only", "IPv4 SYN with a reset"},
			fix: []string{"Connect to ::1 %s from an IPv6 socket (socket tcp ipv6)", "in place of ::1"}, fixFamily: "ipv6", fixHost: "::1"},
		{name: "ipv4 client, listener outside on :: with IPV6_V6ONLY", listenOn: "::", v6only: true, listens: true,
			client: "ipv4", host: "127.0.0.1",
			says: []string{"a socket outside this session", "on ::, every interface, but its IPV6_V6ONLY is on", "takes IPv6 clients only"},
			fix:  []string{"Connect to ::1 %s", "leave IPV6_V6ONLY off"}, fixFamily: "ipv6", fixHost: "::1"},
		{name: "ipv6 client to ::ffff:127.0.0.1, listener outside on :: with IPV6_V6ONLY", listenOn: "::", v6only: true, listens: true,
			client: "ipv6", host: "::ffff:127.0.0.1",
			says: []string{"Nothing that takes IPv4 listens on 127.0.0.1:%s", "IPV6_V6ONLY is on", "IPv4 SYN with a reset"},
			fix:  []string{"Connect to ::1 %s"}, fixFamily: "ipv6", fixHost: "::1"},
		{name: "ipv6 client, port bound on 0.0.0.0 but not listening", listenOn: "0.0.0.0",
			client: "ipv6", host: "::1",
			says: []string{"Nothing listens on [::1]:%s"}, notSays: []string{"takes", "0.0.0.0"}},
		{name: "ipv4 client, ipv4 listener on 127.0.0.2 only", listenOn: "127.0.0.2", listens: true,
			client: "ipv4", host: "127.0.0.1",
			says: []string{"Nothing listens on 127.0.0.1:%s"}, notSays: []string{"takes", "127.0.0.2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			addr := netip.MustParseAddr(tc.listenOn)
			var port string
			if tc.inLab {
				family := "ipv6"
				if addr.Is4() {
					family = "ipv4"
				}
				run(t, l, "socket", "tcp", family, "as", "server")
				if tc.v6only {
					run(t, l, "option", "server", "IPV6_V6ONLY", "on")
				}
				run(t, l, "bind", "server", tc.listenOn, "0")
				run(t, l, "listen", "server")
				port = portOf(t, l, "server")
			} else {
				port = strconv.Itoa(outsideSocketOn(t, addr, outsideOptions{v6only: tc.v6only, listens: tc.listens}))
			}
			run(t, l, "socket", "tcp", tc.client, "as", "c")
			l.Driven = tc.played
			rep := refused(t, l, unix.ECONNREFUSED, "connect", "c", tc.host, port)
			l.Driven = false
			says := strings.Join(strings.Fields(rep.Failure.ForStep), " ")
			fix := strings.Join(strings.Fields(rep.Failure.Fix), " ")
			for _, want := range tc.says {
				if want = strings.ReplaceAll(want, "%s", port); !strings.Contains(says, want) {
					t.Errorf("got %q, want it to say %q", says, want)
				}
			}
			for _, not := range tc.notSays {
				if strings.Contains(says, not) || strings.Contains(fix, not) {
					t.Errorf("got %q, fix %q, want no %q in them", says, fix, not)
				}
			}
			for _, want := range tc.fix {
				if want = strings.ReplaceAll(want, "%s", port); !strings.Contains(fix, want) {
					t.Errorf("got fix %q, want it to say %q", fix, want)
				}
			}
			if tc.fixFamily != "" {
				// The fix is true: its connect reaches the listener.
				run(t, l, "socket", "tcp", tc.fixFamily, "as", "fixed")
				run(t, l, "connect", "fixed", tc.fixHost, port)
			}
		})
	}
}

// outsideOptions are how outsideSocketOn makes its socket: with
// IPV6_V6ONLY set, listening, tied to an interface (SO_BINDTODEVICE).
type outsideOptions struct {
	v6only, listens bool
	tie             string
}

// outsideSocketOn is a TCP socket no lab holds, bound to addr (an IPv6
// socket for an IPv6 address, an IPv4-mapped one too) at a port the kernel
// chooses, as o says; it is closed when the test ends. It returns the
// port.
func outsideSocketOn(t *testing.T, addr netip.Addr, o outsideOptions) int {
	t.Helper()
	family := IPv4
	if addr.Is6() {
		family = IPv6
	}
	fd, err := unix.Socket(family.domain(), unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if o.v6only {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			t.Fatal(err)
		}
	}
	if o.tie != "" {
		if err := unix.BindToDevice(fd, o.tie); err != nil {
			t.Fatalf("SO_BINDTODEVICE %s: %v", o.tie, err)
		}
	}
	if err := unix.Bind(fd, sockaddr(family, netip.AddrPortFrom(addr, 0))); err != nil {
		t.Fatal(err)
	}
	if o.listens {
		if err := unix.Listen(fd, 4); err != nil {
			t.Fatal(err)
		}
	}
	local, err := sockName(fd)
	if err != nil {
		t.Fatal(err)
	}
	return int(local.Port())
}

// TestCoveringListenerNamesTheInterfaceItIsTiedTo makes, in a network
// namespace of its own with a veth pair (v0, 192.0.2.1, and v1 there too),
// TCP listeners on 0.0.0.0 outside the lab, tied with SO_BINDTODEVICE to
// lo, to v0, or to nothing, and connects to 127.0.0.1 and to 192.0.2.1.
// sock_diag must give the index of the interface each is tied to (0 for
// none); where the kernel refuses the connect, the report must name that
// interface, and where it connects, the listener must be named as tied to
// no interface. Where it connects, the tie cannot be why a connect there
// is refused (no firewall is here to refuse it): the wording for such a
// refusal, and its fix, must not offer SO_BINDTODEVICE as a cause.
func TestCoveringListenerNamesTheInterfaceItIsTiedTo(t *testing.T) {
	if !inNetns(t) {
		return
	}
	ip := ipOnPath(t, "no second interface can be made")
	for _, args := range [][]string{{"link", "add", "v0", "type", "veth", "peer", "name", "v1"},
		{"addr", "add", "192.0.2.1/24", "dev", "v0"}, {"link", "set", "v0", "up"}, {"link", "set", "v1", "up"}} {
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Skipf("ip %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	for _, tc := range []struct {
		tie, to string
		named   string // the interface the report names, "" where the connect succeeds
	}{
		{tie: "", to: "127.0.0.1"},
		{tie: "", to: "192.0.2.1"},
		{tie: "lo", to: "127.0.0.1"},
		{tie: "lo", to: "192.0.2.1", named: "lo"},
		{tie: "v0", to: "127.0.0.1", named: "v0"},
		{tie: "v0", to: "192.0.2.1"},
	} {
		t.Run(tc.tie+" to "+tc.to, func(t *testing.T) {
			port := outsideSocketOn(t, netip.IPv4Unspecified(), outsideOptions{listens: true, tie: tc.tie})
			device := 0
			if tc.tie != "" {
				iface, err := net.InterfaceByName(tc.tie)
				if err != nil {
					t.Fatal(err)
				}
				device = iface.Index
			}
			conns, _, err := tcpListeners()
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(conns, func(c Connection) bool { return c.Local.Port() == uint16(port) })
			if i < 0 || conns[i].Device != device {
				t.Fatalf("got listeners %v, want one at port %d tied to interface %d", conns, port, device)
			}
			l := newLab(t)
			run(t, l, "socket", "tcp", "as", "c")
			if tc.named == "" {
				run(t, l, "connect", "c", tc.to, strconv.Itoa(port))
				why := l.whyRefused(netip.AddrPortFrom(netip.MustParseAddr(tc.to), uint16(port)))
				if got := why.Covering; got.Address != "0.0.0.0" || got.Interface != "" || got.TieUnknown {
					t.Errorf("got covering listener %+v, want one on 0.0.0.0 known not to be tied elsewhere", got)
				}
				data := connectData{Name: "c", Remote: tc.to, Port: port, Refused: why}
				for _, section := range []string{"ECONNREFUSED", "ECONNREFUSED fix"} {
					if says := connectProse.Render(section, data); strings.Contains(says, "SO_BINDTODEVICE") || strings.Contains(says, "%INTERFACE") {
						t.Errorf("[%s] got %q, want no tie to an interface offered as a cause", section, says)
					}
				}
				return
			}
			rep := refused(t, l, unix.ECONNREFUSED, "connect", "c", tc.to, strconv.Itoa(port))
			says := strings.Join(strings.Fields(rep.Failure.ForStep), " ")
			if want := "tied to interface " + tc.named + " (SO_BINDTODEVICE)"; !strings.Contains(says, want) {
				t.Errorf("got %q, want it to say %q", says, want)
			}
		})
	}
}

// TestRefusedWordingOffersATieOnlyWhereUnknown renders the wording of a
// connect refused while a listener covers the address, tied to no other
// interface: it offers the listener's tie to an interface
// (SO_BINDTODEVICE) as a cause only where whether it is tied could not be
// read, and a firewall in every case.
func TestRefusedWordingOffersATieOnlyWhereUnknown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		unknown bool
	}{
		{name: "known untied or tied to the SYN's interface"},
		{name: "tie unknown", unknown: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := connectData{Name: "c", Remote: "127.0.0.1:47300", Port: 47300,
				Refused: refusal{Covering: coveringListener{Address: "0.0.0.0", TieUnknown: tc.unknown}}}
			for _, section := range []string{"ECONNREFUSED", "ECONNREFUSED fix"} {
				says := strings.Join(strings.Fields(connectProse.Render(section, data)), " ")
				if offers := strings.Contains(says, "SO_BINDTODEVICE") || strings.Contains(says, "%INTERFACE"); offers != tc.unknown {
					t.Errorf("[%s] got %q; want a tie to an interface offered as a cause: %v", section, says, tc.unknown)
				}
				if !strings.Contains(says, "firewall") {
					t.Errorf("[%s] got %q, want a firewall named", section, says)
				}
			}
		})
	}
}
