package steps

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAddressPythonLinesRunInCPython runs the Python line of bind and
// connect, for each way of writing a host, in python3 on a socket of the
// same family, and holds what CPython's call did to what the kernel did
// for the step: the same local address after bind, the same peer after
// connect. Every line runs in one python3, each in a program of its own.
func TestAddressPythonLinesRunInCPython(t *testing.T) {
	python := needPython(t, "the address in bind's and connect's Python lines cannot be checked against CPython")
	cases := []struct {
		family string
		host   string
		server family // where connect's server listens
	}{
		{"ipv4", "127.0.0.1", families[0]},
		{"ipv4", "localhost", families[0]},
		{"ipv4", "::ffff:127.0.0.1", families[0]},
		{"ipv6", "::1", families[1]},
		{"ipv6", "[::1]", families[1]},
		{"ipv6", "::ffff:127.0.0.1", families[0]},
		{"ipv6", "[::ffff:127.0.0.1]", families[0]},
	}
	// A check is a step's Python line, the program that runs it in
	// CPython on a socket of s's family called as s is and prints the host
	// of the address end gives (getsockname or getpeername), and the host
	// the kernel gave the step's socket.
	type check struct {
		name, call, did, line, program, want string
	}
	var checks []check
	add := func(name, call, did string, s *Socket, line, end, want string) {
		program := strings.Join([]string{
			"import socket",
			s.Py() + " = socket.socket(" + strconv.Itoa(s.Family.domain()) + ", socket.SOCK_STREAM)",
			line,
			"print(" + s.Py() + "." + end + "()[0])",
		}, "\n")
		checks = append(checks, check{name, call, did, line, program, want})
	}
	for _, c := range cases {
		name := c.family + " " + c.host
		l := newLab(t) // its listener waits for CPython's connect
		run(t, l, "socket", "tcp", c.family, "as", "s")
		rep := run(t, l, "bind", "s", c.host, "0")
		add(name, "bind", "bound", sock(t, l, "s"), rep.Python, "getsockname", Read(sock(t, l, "s")).Local.Addr().String())
		port := listener(t, l, c.server, "server")
		run(t, l, "socket", "tcp", c.family, "as", "c")
		rep = run(t, l, "connect", "c", c.host, port)
		add(name, "connect", "connected", sock(t, l, "c"), rep.Python, "getpeername", Read(sock(t, l, "c")).Remote.Addr().String())
	}
	programs := make([]string, len(checks))
	for i, c := range checks {
		programs[i] = c.program
	}
	input, err := json.Marshal(programs)
	if err != nil {
		t.Fatal(err)
	}
	// Each program runs in a namespace of its own; its line of output,
	// or the exception that stopped it, is printed as a JSON string.
	const runner = `import contextlib, io, json, sys
for program in json.load(sys.stdin):
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(program, {})
        said = out.getvalue().strip()
    except Exception as e:
        said = "raised " + repr(e)
    print(json.dumps(said))
`
	cmd := exec.Command(python, "-c", runner)
	cmd.Stdin = bytes.NewReader(input)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 ran the lines: %v\n%s", err, out)
	}
	said := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(said) != len(checks) {
		t.Fatalf("python3 printed %d lines for %d programs:\n%s", len(said), len(checks), out)
	}
	for i, c := range checks {
		var got string
		if err := json.Unmarshal([]byte(said[i]), &got); err != nil {
			t.Fatalf("%s: python3 printed %q: %v", c.name, said[i], err)
		}
		if got != c.want {
			t.Errorf("%s: %s's %q %s CPython's socket to %s; the kernel %s the step's to %s", c.name, c.call, c.line, c.did, got, c.did, c.want)
		}
	}
}

// TestConnectToIPv4MappedFromAnIPv6OnlySocket: an IPv6 socket whose
// IPV6_V6ONLY is on, because it was bound to an IPv6 address or set by
// option, can neither connect nor send a datagram to an IPv4-mapped
// address (ENETUNREACH). The report says that, not that a route or network
// is missing, and its fix's IPv4 socket reaches the same server.
func TestConnectToIPv4MappedFromAnIPv6OnlySocket(t *testing.T) {
	for _, kind := range []string{"tcp", "udp"} {
		for _, how := range [][]string{{"bind", "six", "::1", "0"}, {"option", "six", "IPV6_V6ONLY", "on"}} {
			t.Run(kind+" "+how[0], func(t *testing.T) {
				l := newLab(t)
				var port string
				call := func(name, host string) []string { return []string{"connect", name, host, port} }
				if kind == "tcp" {
					port = listener(t, l, families[0], "server")
				} else {
					run(t, l, "socket", "udp", "ipv4", "as", "server")
					run(t, l, "bind", "server", "127.0.0.1", "0")
					port = portOf(t, l, "server")
					call = func(name, host string) []string { return []string{"sendto", name, host, port, "hi"} }
				}
				run(t, l, "socket", kind, "ipv6", "as", "six")
				run(t, l, how[0], how[1:]...)
				if v, err := unix.GetsockoptInt(sock(t, l, "six").FD, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err != nil || v != 1 {
					t.Fatalf("after %q the kernel has IPV6_V6ONLY %d (%v); the test needs it on", how, v, err)
				}
				words := call("six", "::ffff:127.0.0.1")
				rep := refused(t, l, unix.ENETUNREACH, words[0], words[1:]...)
				for _, want := range []string{"IPV6_V6ONLY is on", "127.0.0.1"} {
					if !strings.Contains(rep.Failure.ForStep, want) {
						t.Errorf("%q: got %q, want it to say %q", how, rep.Failure.ForStep, want)
					}
				}
				if strings.Contains(rep.Failure.Meaning+rep.Failure.ForStep, "route") || !strings.Contains(rep.Failure.Fix, "IPv4 one, to 127.0.0.1") {
					t.Errorf("%q: got %q, %q, fix %q; want the option named, no missing route, and the IPv4 socket that reaches the server", how, rep.Failure.Meaning, rep.Failure.ForStep, rep.Failure.Fix)
				}
				run(t, l, "socket", kind, "ipv4", "as", "four")
				words = call("four", "127.0.0.1")
				if rep := run(t, l, words[0], words[1:]...); rep.Failure != nil {
					t.Errorf("the fix's IPv4 socket: %s", rep.Call)
				}
			})
		}
	}
}

// TestBindToALinkLocalAddress: the kernel refuses a link-local address
// without an interface with EINVAL, and the report says so, not that the
// socket is bound already; CPython's line, with no interface either, is
// refused the same way. An address with a zone, which sockstep does not
// give the kernel, is refused before any call.
func TestBindToALinkLocalAddress(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "tcp", "ipv6", "as", "six")
	rep := refused(t, l, unix.EINVAL, "bind", "six", "fe80::1", "0")
	if !strings.Contains(rep.Failure.ForStep, "link-local") || strings.Contains(rep.Failure.ForStep, "already") {
		t.Errorf("got %q, want the link-local address to be why, not an address the socket has", rep.Failure.ForStep)
	}
	if Read(sock(t, l, "six")).Bound() {
		t.Errorf("the kernel bound six, yet the report says it refused")
	}
	python := needPython(t, "bind's Python line cannot be run in CPython")
	out, err := exec.Command(python, "-c", "import socket\nsix = socket.socket(socket.AF_INET6)\ntry:\n    "+rep.Python+"\nexcept OSError as e:\n    print(e.errno)").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != strconv.Itoa(int(unix.EINVAL)) {
		t.Errorf("CPython ran %q: %s %v; want errno %d, as the kernel gave the step", rep.Python, out, err, unix.EINVAL)
	}
	for _, host := range []string{"fe80::1%lo", "::1%lo", "[fe80::1%1]"} {
		if _, err := try(t, l, "bind", "six", host, "0"); err == nil || !strings.Contains(err.Error(), "zone") {
			t.Errorf("bind six %s 0: got %v, want the zone refused", host, err)
		}
	}
}

// TestConnectToALinkLocalAddress: the kernel refuses, with EINVAL and
// before it sends anything, a connect to a link-local address without an
// interface, TCP and UDP alike, and the report says why as bind's does,
// naming connect; CPython's line is refused the same way. The UDP socket
// was bound on the way, and the report says so.
func TestConnectToALinkLocalAddress(t *testing.T) {
	for _, kind := range []string{"tcp", "udp"} {
		t.Run(kind, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", kind, "ipv6", "as", "six")
			rep := refused(t, l, unix.EINVAL, "connect", "six", "fe80::1", "80")
			if !strings.Contains(rep.Failure.ForStep, "fe80::1 is a link-local address") || !strings.Contains(rep.Failure.ForStep, "refuses a connect that does not say") ||
				!strings.Contains(rep.Failure.Fix, "connect to ::1") {
				t.Errorf("got %q, fix %q; want the link-local address to be why, for connect", rep.Failure.ForStep, rep.Failure.Fix)
			}
			six := sock(t, l, "six")
			if Read(six).Connected() || segmentsSent(six.FD) != 0 {
				t.Errorf("the kernel connected six or sent a segment (%d), yet the report says it refused and sent nothing", segmentsSent(six.FD))
			}
			if kind == "udp" { // bound on the way, as every UDP connect binds first
				wantBoundAnyway(t, l, rep, "six", families[1])
			} else if Read(six).Bound() || len(rep.State) > 0 {
				t.Errorf("the refused TCP connect: got state %v, bound %v; want it unbound and no state line", rep.State, Read(six).Bound())
			}
			python := needPython(t, "connect's Python line cannot be run in CPython")
			typ := map[string]string{"tcp": "SOCK_STREAM", "udp": "SOCK_DGRAM"}[kind]
			out, err := exec.Command(python, "-c", "import socket\nsix = socket.socket(socket.AF_INET6, socket."+typ+")\ntry:\n    "+rep.Python+"\nexcept OSError as e:\n    print(e.errno)").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != strconv.Itoa(int(unix.EINVAL)) {
				t.Errorf("CPython ran %q: %s %v; want errno %d, as the kernel gave the step", rep.Python, out, err, unix.EINVAL)
			}
		})
	}
}

// TestBindToEveryIPv6AddressOnly: an IPv6 socket with IPV6_V6ONLY on,
// bound to ::, takes nothing that comes over IPv4, as the kernel shows
// (an IPv4 client refused, an IPv4 datagram not queued), and bind says so;
// with it off, bind says IPv4 comes too.
func TestBindToEveryIPv6AddressOnly(t *testing.T) {
	for _, kind := range []string{"tcp", "udp"} {
		for _, v6only := range []string{"on", "off"} {
			t.Run(kind+" "+v6only, func(t *testing.T) {
				l := newLab(t)
				run(t, l, "socket", kind, "ipv6", "as", "six")
				run(t, l, "option", "six", "IPV6_V6ONLY", v6only)
				rep := run(t, l, "bind", "six", "::", "0")
				port := portOf(t, l, "six")
				run(t, l, "socket", kind, "ipv4", "as", "four")
				var reached bool
				if kind == "tcp" {
					run(t, l, "listen", "six")
					c, err := try(t, l, "connect", "four", "127.0.0.1", port)
					if err != nil {
						t.Fatal(err)
					}
					reached = !c.Failed()
				} else {
					run(t, l, "sendto", "four", "127.0.0.1", port, "hi")
					reached = Read(sock(t, l, "six")).RecvQ > 0
				}
				says := strings.Join(strings.Fields(rep.Says), " ")
				if strings.Contains(says, "IPV6_V6ONLY is on") == reached || strings.Contains(says, "also takes IPv4") != reached {
					t.Errorf("IPv4 reached the socket: %v; bind said %q", reached, says)
				}
			})
		}
	}
}

// TestConnectRefusedByAnIPv6OnlyListener: an IPv4 client is refused by
// the kernel at a port where the lab's IPv6 socket listens on :: with
// IPV6_V6ONLY on; the report names that listener and why, and its fix, an
// IPv6 socket connecting to ::1, reaches it.
func TestConnectRefusedByAnIPv6OnlyListener(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "tcp", "ipv6", "as", "server")
	run(t, l, "option", "server", "IPV6_V6ONLY", "on")
	run(t, l, "bind", "server", "::", "0")
	run(t, l, "listen", "server")
	port := portOf(t, l, "server")
	run(t, l, "socket", "tcp", "ipv4", "as", "four")
	rep := refused(t, l, unix.ECONNREFUSED, "connect", "four", "127.0.0.1", port)
	for _, want := range []string{sock(t, l, "server").Label(), "IPV6_V6ONLY is on"} {
		if !strings.Contains(rep.Failure.ForStep, want) {
			t.Errorf("got %q, want it to say %q", rep.Failure.ForStep, want)
		}
	}
	if !strings.Contains(rep.Failure.Fix, "::1 "+port) {
		t.Fatalf("got fix %q, want a connect to ::1 %s", rep.Failure.Fix, port)
	}
	run(t, l, "socket", "tcp", "ipv6", "as", "six")
	run(t, l, "connect", "six", "::1", port)
	if got := Read(sock(t, l, "server")).AcceptQueue; got != 1 {
		t.Errorf("after the fix's connect, the listener's queue holds %d, want 1", got)
	}
}
