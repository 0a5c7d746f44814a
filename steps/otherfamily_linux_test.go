package steps

import (
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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
// IPV6_V6ONLY set, listening, tied to an interface (SO_BINDTODEVICE),
// bound at a port (0: one the kernel chooses).
type outsideOptions struct {
	v6only, listens bool
	tie             string
	port            int
}

// outsideSocketOn is a TCP socket no lab holds, bound to addr (an IPv6
// socket for an IPv6 address, an IPv4-mapped one too), as o says; it is
// closed when the test ends. It returns the port.
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
	if err := unix.Bind(fd, sockaddr(family, netip.AddrPortFrom(addr, uint16(o.port)))); err != nil {
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

// vethPair makes, in the test's own network namespace (inNetns), a veth
// pair, v0 with the address 192.0.2.1/24 and v1 with none, both up; it
// skips the test where it cannot.
func vethPair(t *testing.T) {
	t.Helper()
	ip := ipOnPath(t, "no second interface can be made")
	for _, args := range [][]string{{"link", "add", "v0", "type", "veth", "peer", "name", "v1"},
		{"addr", "add", "192.0.2.1/24", "dev", "v0"}, {"link", "set", "v0", "up"}, {"link", "set", "v1", "up"}} {
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Skipf("ip %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
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
	vethPair(t)
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
				why := l.whyRefused(netip.AddrPortFrom(netip.MustParseAddr(tc.to), uint16(port)), time.Time{}, false)
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
// read, and a firewall in every case. It says that the listener takes
// the connection only where that is known: not where its tie is unknown,
// nor where it is outside the session and may have begun to listen after
// the SYN came.
func TestRefusedWordingOffersATieOnlyWhereUnknown(t *testing.T) {
	for _, tc := range []struct {
		name                string
		unknown, maybeAfter bool
	}{
		{name: "known untied or tied to the SYN's interface"},
		{name: "tie unknown", unknown: true},
		{name: "maybe begun after", maybeAfter: true},
		{name: "tie unknown, maybe begun after", unknown: true, maybeAfter: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := connectData{Name: "c", Remote: "127.0.0.1:47300", Port: 47300,
				Refused: refusal{Covering: coveringListener{Address: "0.0.0.0", TieUnknown: tc.unknown, MaybeAfter: tc.maybeAfter}}}
			for _, section := range []string{"ECONNREFUSED", "ECONNREFUSED fix"} {
				says := strings.Join(strings.Fields(connectProse.Render(section, data)), " ")
				if offers := strings.Contains(says, "SO_BINDTODEVICE") || strings.Contains(says, "%INTERFACE"); offers != tc.unknown {
					t.Errorf("[%s] got %q; want a tie to an interface offered as a cause: %v", section, says, tc.unknown)
				}
				if !strings.Contains(says, "firewall") {
					t.Errorf("[%s] got %q, want a firewall named", section, says)
				}
			}
			says := connectProse.Render("ECONNREFUSED", data)
			known := !tc.unknown && !tc.maybeAfter
			if takes := strings.Contains(says, "Yet a listener takes this connection:"); takes != known {
				t.Errorf("got %q; want it to say that the listener takes the connection: %v", says, known)
			}
			if covers := strings.Contains(says, "Yet a listener covers this address:"); covers == known {
				t.Errorf("got %q; want it to say only that the listener covers the address: %v", says, !known)
			}
			if after := strings.Contains(says, "may have begun after the SYN came"); after != tc.maybeAfter {
				t.Errorf("got %q; want it to say that the listener may have begun after the SYN: %v", says, tc.maybeAfter)
			}
		})
	}
}

// TestRefusalReportedLaterBlamesNoListenerThatBeganAfter makes a
// non-blocking TCP connect over loopback to a port where a socket is
// bound but nothing listens, which the kernel refuses with a reset, and
// only then a listener at that port: the lab's, or one outside it. The
// refusal, reported after by recv, send or a second connect, must not
// blame a firewall as if that listener had been there when the SYN came:
// of the lab's, it must say that nothing listened then and name the
// listener as begun after; of one outside, whose start the kernel does
// not give, that it may have begun after.
func TestRefusalReportedLaterBlamesNoListenerThatBeganAfter(t *testing.T) {
	for _, f := range families {
		for _, tc := range []struct {
			call    string
			outside bool
			// %s: the address and port connected to, %p the port, %l the
			// lab's listener.
			says    []string
			notSays []string
			fix     string
		}{
			{call: "recv", says: []string{"Nothing listened on %s when the SYN came", "%l began to listen at port %p after this connect was made"},
				notSays: []string{"firewall", "takes this connection"}, fix: "%l listens there now"},
			{call: "send", says: []string{"Nothing listened on %s when the SYN came", "%l began to listen at port %p after this connect was made"},
				notSays: []string{"firewall", "takes this connection"}, fix: "%l listens there now"},
			{call: "connect", says: []string{"Nothing listened on %s when the SYN came", "%l began to listen at port %p after this connect was made"},
				notSays: []string{"firewall", "takes this connection"}, fix: "%l listens there now"},
			{call: "recv", outside: true, says: []string{"Yet a listener covers this address: a socket outside this session",
				"it may have begun after the SYN came", "or a firewall rule rejected the SYN"},
				notSays: []string{"takes this connection", "Something else on this machine"}, fix: "If a new connect reaches the listener, it only began to listen after the SYN came."},
		} {
			name := f.name + " " + tc.call
			if tc.outside {
				name += " outside"
			}
			t.Run(name, func(t *testing.T) {
				l := newLab(t)
				run(t, l, "socket", "tcp", f.name, "as", "server")
				run(t, l, "bind", "server", f.loopback, "0")
				port := portOf(t, l, "server")
				fill := strings.NewReplacer("%s", net.JoinHostPort(f.loopback, port), "%p", port, "%l", sock(t, l, "server").Label())
				run(t, l, "socket", "tcp", f.name, "as", "c")
				run(t, l, "option", "c", "O_NONBLOCK", "on")
				if rep, err := try(t, l, "connect", "c", f.loopback, port); err != nil || !strings.HasSuffix(rep.Call, "= -1 EINPROGRESS") {
					t.Fatalf("connect: got %v, %v, want EINPROGRESS", rep, err)
				}
				c := sock(t, l, "c")
				for end := time.Now().Add(time.Second); !errorPending(c.FD); time.Sleep(10 * time.Millisecond) {
					if time.Now().After(end) {
						t.Fatalf("the connect to port %s has no error pending after a second", port)
					}
				}
				if tc.outside {
					run(t, l, "close", "server")
					n, _ := strconv.Atoi(port)
					outsideSocketOn(t, netip.MustParseAddr(f.loopback), outsideOptions{listens: true, port: n})
				} else {
					run(t, l, "listen", "server")
				}
				args := map[string][]string{"recv": {"c"}, "send": {"c", "x"}, "connect": {"c", f.loopback, port}}[tc.call]
				rep := refused(t, l, unix.ECONNREFUSED, tc.call, args...)
				says := strings.Join(strings.Fields(rep.Failure.ForStep), " ")
				fix := strings.Join(strings.Fields(rep.Failure.Fix), " ")
				for _, want := range tc.says {
					if want = fill.Replace(want); !strings.Contains(says, want) {
						t.Errorf("got %q, want it to say %q", says, want)
					}
				}
				for _, not := range tc.notSays {
					if strings.Contains(says, not) {
						t.Errorf("got %q, want no %q in it", says, not)
					}
				}
				if want := fill.Replace(tc.fix); !strings.Contains(fix, want) {
					t.Errorf("got fix %q, want it to say %q", fix, want)
				}
			})
		}
	}
}

// TestCoveringListenerIsTheOneTheKernelWouldGiveTheSYN makes, in a
// network namespace of its own with a veth pair (v0, 192.0.2.1, and v1),
// two TCP listeners outside the lab at one port, each tied to an
// interface (SO_BINDTODEVICE), and connects to 127.0.0.1 at that port,
// where a SYN comes in on lo. Where one of them is tied to lo, the kernel
// gives it the connection: the listener named as covering the address
// must be that one, not tied elsewhere, whatever its address. Where both
// are tied to other interfaces, the kernel refuses: the report must name
// one of them and the interface it is tied to.
func TestCoveringListenerIsTheOneTheKernelWouldGiveTheSYN(t *testing.T) {
	if !inNetns(t) {
		return
	}
	vethPair(t)
	type listener struct{ addr, tie string }
	for _, tc := range []struct {
		name      string
		listeners [2]listener
		// The listener named, and the interface it is named as tied to:
		// "" where the connect succeeds.
		address, tie string
	}{
		{name: "every interface tied to v0, loopback tied to lo",
			listeners: [2]listener{{"0.0.0.0", "v0"}, {"127.0.0.1", "lo"}}, address: "127.0.0.1"},
		{name: "loopback tied to v0, every interface tied to lo",
			listeners: [2]listener{{"127.0.0.1", "v0"}, {"0.0.0.0", "lo"}}, address: "0.0.0.0"},
		{name: "every interface tied to v0, loopback tied to v1",
			listeners: [2]listener{{"0.0.0.0", "v0"}, {"127.0.0.1", "v1"}}, address: "0.0.0.0", tie: "v0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, second := tc.listeners[0], tc.listeners[1]
			port := outsideSocketOn(t, netip.MustParseAddr(first.addr), outsideOptions{listens: true, tie: first.tie})
			outsideSocketOn(t, netip.MustParseAddr(second.addr), outsideOptions{listens: true, tie: second.tie, port: port})
			l := newLab(t)
			run(t, l, "socket", "tcp", "as", "c")
			if tc.tie == "" {
				run(t, l, "connect", "c", "127.0.0.1", strconv.Itoa(port))
				why := l.whyRefused(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), time.Time{}, false)
				if got := why.Covering; got.Address != tc.address || got.Interface != "" || got.TieUnknown {
					t.Errorf("got covering listener %+v, want the one on %s, known not to be tied elsewhere", got, tc.address)
				}
				return
			}
			rep := refused(t, l, unix.ECONNREFUSED, "connect", "c", "127.0.0.1", strconv.Itoa(port))
			says := strings.Join(strings.Fields(rep.Failure.ForStep), " ")
			for _, want := range []string{"on " + tc.address + ", which covers", "tied to interface " + tc.tie + " (SO_BINDTODEVICE)"} {
				if !strings.Contains(says, want) {
					t.Errorf("got %q, want it to say %q", says, want)
				}
			}
		})
	}
}
