package steps

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestBindNamesTheHolder binds where a socket of the session already holds
// the port, to the same address and to every interface: the refusal names
// that socket, which is the one to close. Its fix is tried as written:
// SO_REUSEADDR, which it says does not get past a listener, does not, and
// the close it gives frees the port.
func TestBindNamesTheHolder(t *testing.T) {
	for _, host := range []string{"127.0.0.1", ""} {
		t.Run("host "+host, func(t *testing.T) {
			l := newLab(t)
			port := listener(t, l, families[0], "server")
			run(t, l, "socket", "as", "other")
			rep := refused(t, l, unix.EADDRINUSE, "bind", "other", host, port)
			if want := "server (fd"; !strings.Contains(rep.Failure.ForStep, want) || !strings.Contains(rep.Failure.ForStep, "it listens there") {
				t.Errorf("got %q, want it to name %s and its state", rep.Failure.ForStep, want)
			}
			fix := foldParagraphs(rep.Failure.Fix)
			if want := "SO_REUSEADDR does not help"; !strings.Contains(fix, want) {
				t.Errorf("got fix %q, want %q in it", fix, want)
			}
			run(t, l, "option", "server", "SO_REUSEADDR", "on")
			run(t, l, "option", "other", "SO_REUSEADDR", "on")
			refused(t, l, unix.EADDRINUSE, "bind", "other", host, port)
			command := regexp.MustCompile("`([^`]*)`").FindStringSubmatch(fix)
			if command == nil {
				t.Fatalf("got fix %q, want a command in it", fix)
			}
			words := strings.Fields(command[1])
			run(t, l, words[0], words[1:]...)
			run(t, l, "bind", "other", host, port)
		})
	}
	// The way past a listener the fix gives: SO_REUSEPORT on both.
	l := newLab(t)
	for _, name := range []string{"first", "second"} {
		run(t, l, "socket", "as", name)
		run(t, l, "option", name, "SO_REUSEPORT", "on")
	}
	run(t, l, "bind", "first", "127.0.0.1", "0")
	run(t, l, "listen", "first")
	run(t, l, "bind", "second", "127.0.0.1", portOf(t, l, "first"))
}

// TestBindNamesTheConnectionThatHoldsThePort closes a listener whose
// accepted connection is still open: that connection holds the port, and
// bind says so.
func TestBindNamesTheConnectionThatHoldsThePort(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	port := portOf(t, l, "server")
	run(t, l, "close", "server")
	run(t, l, "socket", "as", "again")
	rep := refused(t, l, unix.EADDRINUSE, "bind", "again", "127.0.0.1", port)
	if want := "its connection uses that port (ESTABLISHED)"; !strings.Contains(rep.Failure.ForStep, "conn (fd") || !strings.Contains(rep.Failure.ForStep, want) {
		t.Errorf("got %q, want conn named and %q", rep.Failure.ForStep, want)
	}
}

// TestBindEACCESReadsTheReservedPorts: EACCES from bind (the fault seam;
// this process may bind any port) is explained by the first port any
// program may bind on this machine, read from the kernel, for a port
// below it and a port above it.
func TestBindEACCESReadsTheReservedPorts(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		t.Skipf("ip_unprivileged_port_start cannot be read here: %v", err)
	}
	first, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	for _, tt := range []struct {
		port     int
		says     string
		fix      string
		reserved bool
	}{
		{max(first-1, 0), fmt.Sprintf("Ports below %d are reserved", first), fmt.Sprintf("Use a port from %d up", first), true},
		{65000, "Port 65000 is not reserved here", "security policy", false},
	} {
		if tt.reserved && first == 0 {
			continue // no port is reserved here
		}
		t.Run(strconv.Itoa(tt.port), func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "as", "s")
			saveHooks(t)
			bindCall = func(int, unix.Sockaddr) error { return unix.EACCES }
			rep := refused(t, l, unix.EACCES, "bind", "s", "127.0.0.1", strconv.Itoa(tt.port))
			if says := foldParagraphs(rep.Failure.ForStep); !strings.Contains(says, tt.says) {
				t.Errorf("got %q, want %q in it", says, tt.says)
			}
			if !strings.Contains(rep.Failure.Fix, tt.fix) {
				t.Errorf("got fix %q, want %q in it", rep.Failure.Fix, tt.fix)
			}
		})
	}
}

// TestBindUDPToEveryInterface binds UDP sockets to every interface: bind
// says datagrams can come at once, not after a listen, which UDP has none
// of, and a socket outside the session that holds the port is found with
// the ss command the refusal gives, which lists UDP sockets.
func TestBindUDPToEveryInterface(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "udp", "as", "u")
	rep := run(t, l, "bind", "u", "", "0")
	wantSays(t, "bind", rep, "from now on any machine that can reach this one over the network can send it datagrams")
	if strings.Contains(rep.Says, "listen") {
		t.Errorf("got %q, want no word of listening for UDP", rep.Says)
	}

	fd, p := outsideSocket(t, unix.SOCK_DGRAM)
	defer unix.Close(fd)
	port := strconv.Itoa(p)
	run(t, l, "socket", "udp", "as", "late")
	rep = refused(t, l, unix.EADDRINUSE, "bind", "late", "127.0.0.1", port)
	command := "ss -uanp 'sport = :" + port + "'"
	if !strings.Contains(rep.Failure.ForStep, "`"+command+"`") || strings.Contains(rep.Failure.ForStep, "TIME_WAIT") {
		t.Fatalf("got %q, want it to give %s and no TIME_WAIT, which UDP has none of", rep.Failure.ForStep, command)
	}
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss is not installed: the command bind gives could not be tried")
	}
	out, err := exec.Command("sh", "-c", command).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "127.0.0.1:"+port) {
		t.Errorf("%s: got %v\n%s\nwant the socket that holds 127.0.0.1:%s", command, err, out, port)
	}
}

// TestBindWhereASocketIsOnlyBound: a TCP socket outside the session that
// is bound, and neither listens nor connects, holds the port; ss does
// not list it (it lists sockets that listen or are connected), so the
// refusal does not say ss shows who, and gives the ports command.
func TestBindWhereASocketIsOnlyBound(t *testing.T) {
	fd, p := outsideSocket(t, unix.SOCK_STREAM)
	defer unix.Close(fd)
	port := strconv.Itoa(p)
	l := newLab(t)
	run(t, l, "socket", "as", "late")
	says := foldParagraphs(refused(t, l, unix.EADDRINUSE, "bind", "late", "127.0.0.1", port).Failure.ForStep)
	if !strings.Contains(says, "`ports "+port+"` lists what holds it") {
		t.Errorf("got %q, want the ports command", says)
	}
	if strings.Contains(says, "shows who") {
		t.Errorf("got %q, which says ss shows who", says)
	}
}

// TestBindToAnAddressNotHere binds to an address this machine does not
// have: the refusal points to this machine's loopback address in the
// socket's own family, and a bind there works.
func TestBindToAnAddressNotHere(t *testing.T) {
	for _, tt := range []struct {
		f        family
		notHere  string
		notThere string // the other family's loopback, which the socket refuses
	}{
		{families[0], "203.0.113.7", "::1"},
		{families[1], "2001:db8::7", "127.0.0.1"},
	} {
		t.Run(tt.f.name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "tcp", tt.f.name, "as", "s")
			says := refused(t, l, unix.EADDRNOTAVAIL, "bind", "s", tt.notHere, "0").Failure.ForStep
			if !strings.Contains(says, tt.f.loopback) || strings.Contains(says, tt.notThere) {
				t.Errorf("got %q, want %s and no %s in it", says, tt.f.loopback, tt.notThere)
			}
			run(t, l, "bind", "s", tt.f.loopback, "0")
		})
	}
}

// TestBindToANameOfTheOtherFamily binds a socket to a name this machine
// knows in the other family only (localhost is often 127.0.0.1 alone): the
// refusal says what the name is here, not that it may be misspelt.
func TestBindToANameOfTheOtherFamily(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range []string{"localhost", "ip6-localhost", "ip6-loopback"} {
		v4, _ := Resolver.LookupNetIP(ctx, "ip4", name)
		v6, _ := Resolver.LookupNetIP(ctx, "ip6", name)
		var family string
		var known netip.Addr
		switch {
		case len(v4) > 0 && len(v6) == 0:
			family, known = "ipv6", v4[0].Unmap()
		case len(v6) > 0 && len(v4) == 0:
			family, known = "ipv4", v6[0]
		default:
			continue // known in both families, or in neither
		}
		l := newLab(t)
		run(t, l, "socket", "tcp", family, "as", "s")
		_, err := try(t, l, "bind", "s", name, "0")
		if err == nil || !strings.Contains(err.Error(), known.String()) || strings.Contains(err.Error(), "spelling") {
			t.Errorf("bind s %s on an %s socket: %v; want it to say %s is %s here", name, family, err, name, known)
		}
		return
	}
	t.Skip("no name on this machine resolves in one family only (tried localhost, ip6-localhost, ip6-loopback)")
}

// TestBoundUDPSocketSuggestsASender: a bound UDP socket is told to make a
// recvfrom, which waits for a datagram and tells who sent it, the address
// an answer goes to (recv would drop it); so the suggestion also says how
// to send one. Its commands, typed as given, deliver a datagram that
// recvfrom reads, from the sender's port as the kernel gave it.
func TestBoundUDPSocketSuggestsASender(t *testing.T) {
	for _, tc := range []struct{ family, host string }{
		{"ipv4", "127.0.0.1"}, {"ipv4", ""}, {"ipv6", "::1"}, {"ipv6", ""},
	} {
		t.Run(tc.family+" "+tc.host, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", tc.family, "as", "u")
			next := run(t, l, "bind", "u", tc.host, "0").Next
			_, sender, ok := strings.Cut(next, "from a new socket: ")
			if !strings.HasPrefix(next, "recvfrom u ") || !ok {
				t.Fatalf("next %q: want recvfrom u, and how to send it a datagram", next)
			}
			var name string
			for _, line := range strings.Split(strings.TrimSuffix(sender, ")"), ", then ") {
				words := strings.Fields(line)
				run(t, l, words[0], words[1:]...)
				name = words[1]
			}
			rep := run(t, l, "recvfrom", "u", "--timeout", "2s")
			if from := ":" + portOf(t, l, name); string(rep.Data) != "hello" || !strings.Contains(rep.Call, from) {
				t.Errorf("after %q, recvfrom u read %q (%s); want hello, from port %s", sender, rep.Data, rep.Call, from)
			}
		})
	}
}

// A bound UDP socket's option is followed by the same recvfrom.
func TestOptionOnBoundUDPSocketSuggestsRecvfrom(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "udp", "as", "u")
	run(t, l, "bind", "u", "127.0.0.1", "0")
	if next := run(t, l, "option", "u", "SO_RCVBUF", "4096").Next; next != "recvfrom u" {
		t.Errorf("next %q, want recvfrom u", next)
	}
}

// TestBindIPv6AddressOnIPv4Socket: the refusal's way out makes a socket of
// the same kind, and that socket binds the address.
func TestBindIPv6AddressOnIPv4Socket(t *testing.T) {
	for _, kind := range []string{"tcp", "udp"} {
		l := newLab(t)
		run(t, l, "socket", kind, "as", "four")
		_, err := try(t, l, "bind", "four", "::1", "0")
		command := regexp.MustCompile("`(socket [^`]*)`").FindStringSubmatch(fmt.Sprint(err))
		if command == nil {
			t.Fatalf("%s: bind four ::1 0 said %v; want the socket to make", kind, err)
		}
		words := append(strings.Fields(command[1]), "as", "six")
		run(t, l, words[0], words[1:]...)
		run(t, l, "bind", "six", "::1", "0")
		if got := sock(t, l, "six").Kind; got != sock(t, l, "four").Kind {
			t.Errorf("%s: the suggested %q makes a %s socket", kind, command[1], got)
		}
	}
}
