package steps

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSendto sends with an address: on UDP to the socket bound there, on
// a connected TCP socket down its connection whatever the address, and
// checks what the report names as the receiver against what recvfrom
// then reads there.
func TestSendto(t *testing.T) {
	t.Run("udp", func(t *testing.T) {
		l := newLab(t)
		run(t, l, "socket", "udp", "as", "rx")
		run(t, l, "bind", "rx", "127.0.0.1", "0")
		run(t, l, "socket", "udp", "as", "tx")
		rep := run(t, l, "sendto", "tx", "127.0.0.1", portOf(t, l, "rx"), "ping")
		wantSays(t, "sendto", rep, "one datagram of 4 bytes", "It is now in rx (fd")
		if rep.Next != "recvfrom rx" || len(rep.Packets) != 1 || rep.Packets[0].To != "rx" {
			t.Errorf("got next %q and packets %+v, want the datagram to rx", rep.Next, rep.Packets)
		}
		if got := run(t, l, "recvfrom", "rx"); string(got.Data) != "ping" {
			t.Errorf("recvfrom rx: got %q, want %q", got.Data, "ping")
		}

		// A datagram longer than the buffer: recvfrom says how long it
		// was and that the rest is lost, and the next recvfrom finds
		// nothing of it.
		run(t, l, "sendto", "tx", "127.0.0.1", portOf(t, l, "rx"), "hello")
		rep = run(t, l, "recvfrom", "rx", "2")
		if string(rep.Data) != "he" {
			t.Errorf("recvfrom rx 2: got %q, want %q", rep.Data, "he")
		}
		wantSays(t, "recvfrom rx 2", rep, "one datagram of 5 bytes", "Only 2 of them fit the 2-byte buffer; the rest are lost")
		if rest := run0(t, l, "recvfrom", "rx", "--timeout", "200ms"); !rest.Stopped {
			t.Errorf("recvfrom after a cut datagram: got %q (%q), want nothing left to read", rest.Call, rest.Data)
		}
	})
	for _, to := range []string{"the listener's port", "port 9"} {
		t.Run("tcp to "+to, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, families[0])
			port := portOf(t, l, "server")
			if to == "port 9" {
				port = "9"
			}
			rep := run(t, l, "sendto", "client", "127.0.0.1", port, "hi")
			wantSays(t, "sendto", rep, "the address is ignored", "the 2 bytes go down its connection", "wait in conn (fd")
			if rep.Next != "recvfrom conn" || len(rep.Packets) != 1 || rep.Packets[0].To != "conn" || strings.Contains(rep.Packets[0].What, "datagram") {
				t.Errorf("got next %q and packets %+v, want 2 bytes to conn", rep.Next, rep.Packets)
			}
			for _, c := range rep.State {
				if strings.HasPrefix(c.Who, "server") {
					t.Errorf("got a state line for the listener, %q, which the bytes never reach", c.Who+" "+c.After)
				}
			}
			if got := run(t, l, "recvfrom", "conn"); string(got.Data) != "hi" {
				t.Errorf("recvfrom conn: got %q, want %q", got.Data, "hi")
			}
		})
	}
}

// TestSendtoAConnectedReceiver sends to a UDP socket that is connected to
// another peer: the kernel drops the datagram and answers with a port
// unreachable (on Linux, counted in /proc/net/snmp), which an unconnected
// sender never hears of, as the report says, and the receiver's recv
// finds nothing; a sender connected there hears of it with
// ECONNREFUSED, whether it sends with sendto or send, and the error names
// the receiver's peer as the reason. From its peer, the same socket
// receives, and from the sender once it is connected to it.
func TestSendtoAConnectedReceiver(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "udp", "as", "peer")
	run(t, l, "bind", "peer", "127.0.0.1", "0")
	run(t, l, "socket", "udp", "as", "c")
	run(t, l, "bind", "c", "127.0.0.1", "0")
	run(t, l, "connect", "c", "127.0.0.1", portOf(t, l, "peer"))
	port := portOf(t, l, "c")

	run(t, l, "socket", "udp", "as", "stranger")
	unreachables, counted := snmpCounter(t, "Icmp", "OutDestUnreachs")
	rep := run(t, l, "sendto", "stranger", "127.0.0.1", port, "hi")
	for _, want := range []string{"is connected to", "the kernel dropped this one", `ICMP "port unreachable"`, "nothing tells the sender"} {
		if !strings.Contains(rep.Says, want) {
			t.Errorf("sendto from a stranger: got %q, want %q", rep.Says, want)
		}
	}
	// The kernel's count of port unreachables sent is the whole machine's,
	// so it may grow by more; it must not stay still.
	if after, _ := snmpCounter(t, "Icmp", "OutDestUnreachs"); counted && after <= unreachables {
		t.Errorf("Icmp OutDestUnreachs stayed at %d: the kernel sent no port unreachable", after)
	}
	if errno, err := unix.GetsockoptInt(sock(t, l, "stranger").FD, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || errno != 0 {
		t.Errorf("SO_ERROR on the unconnected stranger: %d (%v), want no error waiting", errno, err)
	}
	if got, err := try(t, l, "recv", "c", "--timeout", "100ms"); err != nil || !got.Stopped {
		t.Errorf("recv c after the stranger's datagram: got %v (%v), want nothing to come", got.Call, err)
	}

	run(t, l, "socket", "udp", "as", "caller")
	run(t, l, "connect", "caller", "127.0.0.1", port)
	if rep := run(t, l, "sendto", "caller", "127.0.0.1", port, "hi"); !strings.Contains(rep.Says, "fails with ECONNREFUSED") {
		t.Errorf("sendto from a socket connected there: got %q, want the ECONNREFUSED to come", rep.Says)
	}
	refused(t, l, unix.ECONNREFUSED, "recv", "caller", "--timeout", "1s")
	rep = run(t, l, "send", "caller", "hi") // send says the same as sendto
	wantSays(t, "send from a socket connected there", rep, "is connected to", "the kernel dropped this one", "the next call on caller (fd")
	if strings.Contains(rep.Says, "It is now in") {
		t.Errorf("send: got %q, which says the dropped datagram was queued", rep.Says)
	}
	refused(t, l, unix.ECONNREFUSED, "send", "caller", "again")

	if rep := run(t, l, "sendto", "peer", "127.0.0.1", port, "yo"); !strings.Contains(rep.Says, "It is now in c (fd") {
		t.Errorf("sendto from c's peer: got %q, want it queued at c", rep.Says)
	}
	if got := run(t, l, "recv", "c", "--timeout", "1s"); string(got.Data) != "yo" {
		t.Errorf("recv c: got %q, want the peer's datagram", got.Data)
	}

	// The ECONNREFUSED that caller then meets, sending or receiving,
	// names c as the reason, and its fix, done, lets c take caller's
	// datagrams.
	callerAt, cPeer := Read(sock(t, l, "caller")).Local.String(), Read(sock(t, l, "c")).Remote.String()
	for _, step := range [][]string{{"send", "caller", "hi"}, {"sendto", "caller", "127.0.0.1", port, "hi"},
		{"recv", "caller", "--timeout", "1s"}, {"recvfrom", "caller", "--timeout", "1s"}} {
		run(t, l, "send", "caller", "hi") // refused: the error waits for the next call
		rep := refused(t, l, unix.ECONNREFUSED, step[0], step[1:]...)
		if want := "c (fd " + strconv.Itoa(sock(t, l, "c").FD) + "), bound"; !strings.Contains(rep.Failure.ForStep, want) ||
			!strings.Contains(rep.Failure.ForStep, "is connected to "+cPeer) || strings.Contains(rep.Failure.ForStep, "nothing listen") {
			t.Errorf("%s: got %q, want it to say that c, bound there, is connected to %s", step[0], rep.Failure.ForStep, cPeer)
		}
		if want := "connect c to caller's address, " + callerAt; !strings.Contains(rep.Failure.Fix, want) {
			t.Errorf("%s: got fix %q, want %q", step[0], rep.Failure.Fix, want)
		}
	}
	host, cport, _ := net.SplitHostPort(callerAt)
	run(t, l, "connect", "c", host, cport)
	wantSays(t, "send after the fix", run(t, l, "send", "caller", "now"), "It is now in c (fd")
	if got := run(t, l, "recv", "c", "--timeout", "1s"); string(got.Data) != "now" {
		t.Errorf("recv c: got %q, want caller's datagram", got.Data)
	}
}

// TestDatagramSizeLimit sends the largest datagram UDP carries, and one
// byte more, over IPv4 and IPv6, and from an IPv6 socket to an IPv4
// address in IPv6 form (::ffff:127.0.0.1), which goes over IPv4, with
// sendto --bytes: the kernel takes the first whole and refuses the second
// with EMSGSIZE, and the reports give the limit of the IP version the
// datagram goes over (with the address the kernel gave the socket on the
// way) and the buffer recvfrom needs. Connected there, send meets the
// same limit and says the same.
func TestDatagramSizeLimit(t *testing.T) {
	for _, tt := range []struct {
		name     string
		from, to family // the sender's family, and the receiver's with its address
		host     string // where the sender sends
		largest  int    // 65535, less the IP header (IPv4 only) and UDP's 8 bytes
		says     []string
	}{
		{"ipv4", families[0], families[0], "127.0.0.1", 65507, []string{"UDP over IPv4 carries at most 65,507"}},
		{"ipv6", families[1], families[1], "::1", 65527, []string{"UDP over IPv6 carries at most 65,527"}},
		{"ipv6 to ipv4", families[1], families[0], "::ffff:127.0.0.1", 65507, []string{"UDP over IPv4 carries at most 65,507",
			"v (fd", "is an IPv6 socket, but ::ffff:127.0.0.1 is an IPv4 address in IPv6 form"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", tt.to.name, "as", "u")
			run(t, l, "bind", "u", tt.to.loopback, "0")
			run(t, l, "socket", "udp", tt.from.name, "as", "v")
			port := portOf(t, l, "u")
			wantLimit := func(rep *Report) {
				t.Helper()
				for _, want := range tt.says {
					if !strings.Contains(foldParagraphs(rep.Failure.ForStep), want) {
						t.Errorf("got %q, want %q in it", rep.Failure.ForStep, want)
					}
				}
			}

			rep := refused(t, l, unix.EMSGSIZE, "sendto", "v", tt.host, port, "--bytes", strconv.Itoa(tt.largest+1))
			wantLimit(rep)
			wantBoundAnyway(t, l, rep, "v", tt.from)

			rep = run(t, l, "sendto", "v", tt.host, port, "--bytes", strconv.Itoa(tt.largest))
			if rep.Call != fmt.Sprintf("sendto(%d, %d bytes, %s) = %d", sock(t, l, "v").FD, tt.largest, net.JoinHostPort(tt.host, port), tt.largest) {
				t.Errorf("got %q, want the whole datagram sent", rep.Call)
			}
			if want := fmt.Sprintf("recvfrom u %d", tt.largest); rep.Next != want {
				t.Errorf("got next %q, want %q, a buffer that takes the datagram whole", rep.Next, want)
			}
			rep = run(t, l, "recvfrom", "u", strconv.Itoa(tt.largest))
			if len(rep.Data) != tt.largest || !bytes.HasPrefix(rep.Data, []byte("sockstep bulk data")) {
				t.Errorf("got %d bytes starting %q, want %d of the pattern", len(rep.Data), rep.Data[:min(20, len(rep.Data))], tt.largest)
			}

			run(t, l, "connect", "v", tt.host, port)
			wantLimit(refused(t, l, unix.EMSGSIZE, "send", "v", "--bytes", strconv.Itoa(tt.largest+1)))
			run(t, l, "send", "v", "--bytes", strconv.Itoa(tt.largest))
		})
	}
}

// wantBoundAnyway checks the report of a refused sendto or connect on
// name, a socket of family f that had no address, against the kernel: if
// it is bound now, the report shows the address in its state line and says
// the kernel gave it on the way to the call it made, and a bind then fails
// with EINVAL, as the report says it will.
func wantBoundAnyway(t *testing.T, l *Lab, rep *Report, name string, f family) {
	t.Helper()
	call, _, _ := strings.Cut(rep.Call, "(")
	s := sock(t, l, name)
	now := Read(s)
	if !now.Bound() {
		t.Fatalf("%s is not bound after the refused %s: nothing to check", name, call)
	}
	wantState(t, "refused "+call, rep, s, "bound, "+now.Local.String())
	verb := map[string]string{"sendto": "sends", "send": "sends", "connect": "connects"}[call]
	if want := "the kernel gave " + s.Label() + " an address all the same, " + now.Local.String() + ", as it does for any unbound socket that " + verb; !strings.Contains(rep.Failure.ForStep, want) {
		t.Errorf("got %q, want %q", rep.Failure.ForStep, want)
	}
	refused(t, l, unix.EINVAL, "bind", name, f.loopback, "0")
}

// TestBroadcastNeedsSO_BROADCAST sends and connects a UDP socket to the
// broadcast address: the kernel refuses both with EACCES until
// SO_BROADCAST is on (checked for connect only, which sends nothing), and
// the reports say so, with a fix for this and not the one for EACCES from
// bind (a port below 1024). Each refused call still binds the socket, and
// its report says where.
func TestBroadcastNeedsSO_BROADCAST(t *testing.T) {
	for _, call := range [][]string{
		{"sendto", "u", "255.255.255.255", "9", "hello"},
		{"connect", "u", "255.255.255.255", "9"},
	} {
		t.Run(call[0], func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", "as", "u")
			rep := refused(t, l, unix.EACCES, call[0], call[1:]...)
			wantBoundAnyway(t, l, rep, "u", families[0])
			if !strings.Contains(rep.Failure.ForStep, "SO_BROADCAST") {
				t.Errorf("got %q, want SO_BROADCAST named", rep.Failure.ForStep)
			}
			if want := "option u broadcast on"; !strings.Contains(rep.Failure.Fix, want) || strings.Contains(rep.Failure.Fix, "1024") {
				t.Errorf("got fix %q, want %q and nothing of ports below 1024", rep.Failure.Fix, want)
			}
			if call[0] == "connect" { // a UDP connect sends nothing; a sendto now would go out on the network
				run(t, l, "option", "u", "broadcast", "on")
				run(t, l, call[0], call[1:]...)
			}
		})
	}
}

// TestSendBytesOnADatagramSocket sends --bytes (with --timeout, which a
// send that finds room never needs) on a connected UDP socket:
// one datagram of N bytes of the pattern, narrated as a datagram (not as
// a bulk TCP send), with the buffer recv needs and a Python line that
// sends the data once; one byte past UDP's limit, the kernel's EMSGSIZE;
// and a size that no datagram could have is refused before any call.
func TestSendBytesOnADatagramSocket(t *testing.T) {
	l := newLab(t)
	udpPair(t, l)

	rep := run(t, l, "send", "u", "--bytes", "3k", "--timeout", "1s")
	if want := fmt.Sprintf("send(%d, 3072 bytes) = 3072", sock(t, l, "u").FD); rep.Call != want {
		t.Errorf("got %q, want %q", rep.Call, want)
	}
	wantSays(t, "send --bytes", rep, "3072 bytes as one datagram", "It is now in r (fd", "give it 3072 bytes, for the default 1024 would lose the rest")
	for _, tcp := range []string{"send call", "64 KiB", "flow control"} {
		if strings.Contains(rep.Says, tcp) {
			t.Errorf("got %q, which speaks of TCP's bulk send (%q)", rep.Says, tcp)
		}
	}
	if py := rep.Code("python"); !strings.HasPrefix(py, "u.send(data)") || !strings.Contains(py, "3072 bytes of sockstep's pattern") {
		t.Errorf("got python %q, want one send of the data", py)
	}
	if rep.Next != "recv r 3072" {
		t.Errorf("got next %q, want a buffer that takes the datagram whole", rep.Next)
	}
	got := run(t, l, "recv", "r", "5000")
	if len(got.Data) != 3072 || !bytes.HasPrefix(got.Data, []byte("sockstep bulk data")) {
		t.Errorf("recv r: got %d bytes, want one datagram of 3072 bytes of the pattern", len(got.Data))
	}
	// r has no default peer: it answers with sendto, to the sender.
	if want := `sendto r 127.0.0.1 ` + portOf(t, l, "u") + ` "Hello back"`; got.Next != want {
		t.Errorf("recv r: got next %q, want %q", got.Next, want)
	}

	rep = refused(t, l, unix.EMSGSIZE, "send", "u", "--bytes", "65508")
	if !strings.Contains(foldParagraphs(rep.Failure.ForStep), "UDP over IPv4 carries at most 65,507") {
		t.Errorf("got %q, want the limit of UDP over IPv4", rep.Failure.ForStep)
	}
	if _, err := try(t, l, "send", "u", "--bytes", "2M"); err == nil || !strings.Contains(err.Error(), "send --bytes sends one datagram") {
		t.Errorf("send --bytes 2M on UDP: got %v, want a usage error before any call", err)
	}
}

// udpPair makes a UDP socket r bound to 127.0.0.1, and a UDP socket u
// connected to it.
func udpPair(t *testing.T, l *Lab) {
	t.Helper()
	run(t, l, "socket", "udp", "as", "r")
	run(t, l, "bind", "r", "127.0.0.1", "0")
	run(t, l, "socket", "udp", "as", "u")
	run(t, l, "connect", "u", "127.0.0.1", portOf(t, l, "r"))
}

// connectedToNobody makes u, a UDP socket connected to a loopback port
// that no socket holds (gone's, bound and closed), and returns the
// arguments of step (send or sendto) that send "hi" there.
func connectedToNobody(t *testing.T, l *Lab, step string) []string {
	t.Helper()
	run(t, l, "socket", "udp", "as", "gone")
	run(t, l, "bind", "gone", "127.0.0.1", "0")
	port := portOf(t, l, "gone")
	run(t, l, "close", "gone")
	run(t, l, "socket", "udp", "as", "u")
	run(t, l, "connect", "u", "127.0.0.1", port)
	if step == "sendto" {
		return []string{"u", "127.0.0.1", port, "hi"}
	}
	return []string{"u", "hi"}
}

// TestSendToAPortNobodyHolds sends, with send and with sendto to the same
// address, on a UDP socket connected to a loopback port no socket holds:
// the kernel's ICMP "port unreachable" leaves an error on the socket,
// which poll shows and the report names, in its prose and its state line,
// and which the next call returns, once. A sendto from it to another such port leaves no error,
// and its report promises none.
func TestSendToAPortNobodyHolds(t *testing.T) {
	for _, step := range []string{"send", "sendto"} {
		t.Run(step, func(t *testing.T) {
			l := newLab(t)
			args := connectedToNobody(t, l, step)
			fds := []unix.PollFd{{Fd: int32(sock(t, l, "u").FD)}}
			if step == "sendto" {
				// To another port nobody holds: u is not connected there,
				// and never hears of it.
				run(t, l, "socket", "udp", "as", "gone2")
				run(t, l, "bind", "gone2", "127.0.0.1", "0")
				other := portOf(t, l, "gone2")
				run(t, l, "close", "gone2")
				rep := run(t, l, "sendto", "u", "127.0.0.1", other, "hi")
				if n, err := unix.Poll(fds, 0); err != nil || n != 0 {
					t.Fatalf("poll u after a datagram to port %s: %d %v, revents %#x, want no error waiting", other, n, err, fds[0].Revents)
				}
				wantSays(t, "sendto another port", rep, "Nothing says whether anyone received it", "which only a socket connected there hears of")
				if len(rep.Packets) != 1 {
					t.Errorf("sendto another port: got packets %v, want the datagram alone: u heard of no ICMP", rep.Packets)
				}
				if strings.Contains(rep.Says, "ECONNREFUSED") {
					t.Errorf("sendto another port: got %q, which promises an error", rep.Says)
				}
				if after := rep.State[0].After; strings.Contains(after, "error pending") {
					t.Errorf("sendto another port: got state %q, with an error poll does not show", after)
				}
			}
			rep := run(t, l, step, args...)
			if n, err := unix.Poll(fds, 0); err != nil || n != 1 || fds[0].Revents&unix.POLLERR == 0 {
				t.Fatalf("poll u: %d %v, revents %#x: the kernel shows no error waiting", n, err, fds[0].Revents)
			}
			wantSays(t, "send to a port nobody holds", rep, `ICMP "port unreachable"`, "The next call on u (fd", "fails with ECONNREFUSED, once")
			// The state line, which brief narration shows without the
			// prose, shows the error too.
			if after := rep.State[0].After; !strings.Contains(after, "error pending (poll's POLLERR)") {
				t.Errorf("got state %q, want the error poll shows pending", after)
			}
			// The diagram draws the ICMP that came back, whose error poll shows.
			if n := len(rep.Packets); n != 2 || rep.Packets[1].What != icmpUnreachable || rep.Packets[1].To != "u" {
				t.Errorf("got packets %v, want the datagram and the ICMP that came back to u", rep.Packets)
			}
			for _, wrong := range []string{"Nothing tells you", "Nothing says", "never hears of"} {
				if strings.Contains(rep.Says, wrong) {
					t.Errorf("got %q, which says nothing came back", rep.Says)
				}
			}
			if strings.Contains(rep.Next, "answer") {
				t.Errorf("got next %q, which waits for an answer", rep.Next)
			}
			refused(t, l, unix.ECONNREFUSED, step, args...)
			run(t, l, step, args...) // the error was taken: this one goes
		})
	}
}

// TestDatagramToASharedPort sends datagrams, with sendto and with send,
// to a port that several of the lab's UDP sockets hold: both with
// SO_REUSEADDR (the kernel picks the one bound last), both with
// SO_REUSEPORT (it picks by a hash of the sender's address, so each new
// sender may reach another), an IPv4 socket beside an IPv6 one that takes
// IPv6 only, and two IPv6-only sockets that an IPv4 datagram cannot
// reach. Each report, and its diagram's packet, must name the socket
// where the kernel then shows the datagram waiting, and no socket when
// none shows it.
func TestDatagramToASharedPort(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup [][]string // the sockets, bound to PORT
	}{
		{"SO_REUSEADDR", [][]string{
			{"socket", "udp", "as", "a"}, {"option", "a", "reuseaddr", "on"}, {"bind", "a", "127.0.0.1", "PORT"},
			{"socket", "udp", "as", "b"}, {"option", "b", "reuseaddr", "on"}, {"bind", "b", "127.0.0.1", "PORT"},
		}},
		{"SO_REUSEPORT", [][]string{
			{"socket", "udp", "as", "a"}, {"option", "a", "reuseport", "on"}, {"bind", "a", "127.0.0.1", "PORT"},
			{"socket", "udp", "as", "b"}, {"option", "b", "reuseport", "on"}, {"bind", "b", "127.0.0.1", "PORT"},
		}},
		{"IPV6_V6ONLY", [][]string{
			{"socket", "udp", "ipv6", "as", "a"}, {"option", "a", "v6only", "on"}, {"bind", "a", "::", "PORT"},
			{"socket", "udp", "as", "b"}, {"bind", "b", "0.0.0.0", "PORT"},
		}},
		{"IPv6 only, none", [][]string{
			{"socket", "udp", "ipv6", "as", "a"}, {"option", "a", "v6only", "on"}, {"option", "a", "reuseaddr", "on"}, {"bind", "a", "::", "PORT"},
			{"socket", "udp", "ipv6", "as", "b"}, {"option", "b", "v6only", "on"}, {"option", "b", "reuseaddr", "on"}, {"bind", "b", "::", "PORT"},
		}},
	} {
		for _, step := range []string{"sendto", "send"} {
			t.Run(tt.name+"/"+step, func(t *testing.T) {
				l := newLab(t)
				port := "0"
				for _, c := range tt.setup {
					if c[len(c)-1] == "PORT" {
						c = append(slices.Clone(c[:len(c)-1]), port)
						run(t, l, c[0], c[1:]...)
						port = portOf(t, l, c[1])
						continue
					}
					run(t, l, c[0], c[1:]...)
				}
				holders := []*Socket{sock(t, l, "a"), sock(t, l, "b")}
				reached := map[string]bool{}
				for i := range 8 { // new senders, from new ports
					name := fmt.Sprintf("s%d", i)
					run(t, l, "socket", "udp", "as", name)
					var rep *Report
					next := "recvfrom "
					if step == "send" {
						run(t, l, "connect", name, "127.0.0.1", port)
						rep, next = run(t, l, "send", name, "hi"), "recv "
					} else {
						rep = run(t, l, "sendto", name, "127.0.0.1", port, "hi")
					}
					var got *Socket
					for _, h := range holders {
						if Read(h).RecvQ > 0 {
							got = h
						}
					}
					// The datagram, and an ICMP back only if its error waits on
					// the sender, as it does on a connected one that nobody took.
					icmp := errorPending(sock(t, l, name).FD)
					if want := map[bool]int{false: 1, true: 2}[icmp]; len(rep.Packets) != want || icmp && rep.Packets[1].What != icmpUnreachable {
						t.Fatalf("%s: got packets %+v, want the datagram, and the ICMP back: %v", name, rep.Packets, icmp)
					}
					if got == nil {
						if strings.Contains(rep.Says, "It is now in") || rep.Next == next+"a" || rep.Next == next+"b" || rep.Packets[0].To == "a" || rep.Packets[0].To == "b" {
							t.Errorf("%s: the kernel shows the datagram at neither a nor b, but got %q, next %q, packet to %s", name, rep.Says, rep.Next, rep.Packets[0].To)
						}
						continue
					}
					reached[got.Name] = true
					wantSays(t, name, rep, "It is now in "+got.Label()+"'s receive queue")
					if rep.Next != next+got.Name || rep.Packets[0].To != got.Name {
						t.Errorf("%s: got next %q and a packet to %s, want %q and %s", name, rep.Next, rep.Packets[0].To, next+got.Name, got.Name)
					}
					run(t, l, "recvfrom", got.Name)
				}
				if len(reached) == 0 && !strings.HasSuffix(tt.name, "none") {
					t.Errorf("no datagram reached a or b, so nothing was checked")
				}
			})
		}
	}
}

// TestDatagramBytesSizes gives send and sendto on a UDP socket a size
// --bytes cannot take: the usage error must offer sizes instead, and every
// size it offers must be one the step takes and one datagram carries, as
// the kernel then shows by sending it whole.
func TestDatagramBytesSizes(t *testing.T) {
	sizes := regexp.MustCompile(`such as ((?:\w+, )*\w+ or \w+)`)
	for _, step := range []string{"send", "sendto"} {
		for _, bad := range []string{"0", "lots"} {
			t.Run(step+" "+bad, func(t *testing.T) {
				l := newLab(t)
				udpPair(t, l)
				to := []string{"u"}
				if step == "sendto" {
					to = []string{"u", "127.0.0.1", portOf(t, l, "r")}
				}
				_, err := try(t, l, step, append(to, "--bytes", bad)...)
				var usage *UsageError
				if !errors.As(err, &usage) {
					t.Fatalf("%s --bytes %s: got %v, want a usage error", step, bad, err)
				}
				m := sizes.FindStringSubmatch(usage.Problem)
				if m == nil {
					t.Fatalf("got %q, which offers no sizes", usage.Problem)
				}
				offered := strings.FieldsFunc(m[1], func(r rune) bool { return r == ',' || r == ' ' })
				offered = slices.DeleteFunc(offered, func(w string) bool { return w == "or" })
				for _, size := range offered {
					rep, err := try(t, l, step, append(to, "--bytes", size)...)
					if err != nil || rep.Failed() {
						t.Errorf("%s --bytes %s, a size %q offers: got %v %v", step, size, usage.Problem, err, rep)
						continue
					}
					n := len(run(t, l, "recv", "r", "70000").Data)
					if n == 0 || !strings.Contains(rep.Call, fmt.Sprintf("%d bytes", n)) || !strings.HasSuffix(rep.Call, fmt.Sprintf(" = %d", n)) {
						t.Errorf("%s --bytes %s: got %q, and r received %d bytes: want the whole datagram sent and received", step, size, rep.Call, n)
					}
				}
			})
		}
	}
}

// TestUDPSendtoNeverWaits holds what sendto says when given --timeout: a
// UDP datagram to this machine is queued for its receiver or dropped at
// once. A sender with the smallest send buffer sends large datagrams,
// with MSG_DONTWAIT, to a receiver that never reads and to a port nobody
// holds: an EAGAIN would say that without it the kernel would have waited
// for room. One of 65,000 bytes goes in one packet over loopback, and is
// sent; one of 65,507 bytes goes over IPv6 in fragments, which so small a
// buffer refuses with ENOBUFS, at once too.
func TestUDPSendtoNeverWaits(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", f.name, "as", "r")
			run(t, l, "bind", "r", f.loopback, "0")
			_, holder := f.at(t, portOf(t, l, "r"))
			nobody, nobodyPort := outsideSocket(t, unix.SOCK_DGRAM) // bound, and closed: a port nobody holds
			unix.Close(nobody)
			_, nowhere := f.at(t, strconv.Itoa(nobodyPort))
			run(t, l, "socket", "udp", f.name, "as", "u")
			run(t, l, "option", "u", "SO_SNDBUF", "1")
			u := sock(t, l, "u")
			for _, size := range []int{65000, 65507} {
				big := make([]byte, size)
				for i := range 1000 {
					for _, to := range []unix.Sockaddr{holder, nowhere} {
						err := unix.Sendto(u.FD, big, unix.MSG_DONTWAIT, to)
						if errors.Is(err, unix.EAGAIN) || err != nil && size == 65000 {
							t.Fatalf("datagram %d of %d bytes: sendto returned %v, want it sent or dropped at once", i+1, size, err)
						}
					}
				}
			}
		})
	}
}

// TestENOBUFSSaysWhy holds what sendto, and send on a connected socket,
// say of a datagram too large for one packet on loopback, sent through
// the smallest send buffer: the kernel cuts it into fragments and refuses
// it with ENOBUFS, every time, so waiting is not the fix; a datagram that
// fits in one packet, or a larger buffer, is. The boundary is measured here with plain sendto
// calls. Over IPv4 the largest datagram fits in loopback's one packet,
// and goes.
func TestENOBUFSSaysWhy(t *testing.T) {
	for _, tt := range udpLimits(t) {
		t.Run(tt.f.name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", tt.f.name, "as", "u")
			run(t, l, "bind", "u", tt.f.loopback, "0")
			run(t, l, "option", "u", "SO_SNDBUF", "1")
			u := sock(t, l, "u")
			_, to := tt.f.at(t, portOf(t, l, "u"))
			onePacket := tt.onePacket
			for range 3 { // the same send, again: the kernel's answer does not change
				if err := unix.Sendto(u.FD, make([]byte, onePacket), unix.MSG_DONTWAIT, to); err != nil {
					t.Fatalf("a %d-byte datagram, in one packet: %v", onePacket, err)
				}
			}
			size := strconv.Itoa(onePacket + 1)
			if onePacket == tt.most {
				rep := run(t, l, "sendto", "u", tt.f.loopback, portOf(t, l, "u"), "--bytes", strconv.Itoa(tt.most))
				wantSays(t, "the largest datagram, in one packet", rep, "one datagram of "+strconv.Itoa(tt.most)+" bytes")
				return
			}
			for range 3 {
				if err := unix.Sendto(u.FD, make([]byte, onePacket+1), unix.MSG_DONTWAIT, to); err != unix.ENOBUFS {
					t.Fatalf("a %d-byte datagram, in fragments, through the smallest send buffer: %v, want ENOBUFS", onePacket+1, err)
				}
			}
			// sendto says it, and so does send on the socket connected
			// there (a connected UDP socket may still use sendto).
			port := portOf(t, l, "u")
			run(t, l, "connect", "u", tt.f.loopback, port)
			for _, args := range [][]string{{"sendto", "u", tt.f.loopback, port, "--bytes", size}, {"send", "u", "--bytes", size}} {
				run(t, l, "option", "u", "SO_SNDBUF", "1")
				rep := refused(t, l, unix.ENOBUFS, args[0], args[1:]...)
				f := rep.Failure
				for _, want := range []string{"does not fit in one packet", fmt.Sprintf("at most %d bytes (its MTU)", tt.mtu),
					fmt.Sprintf("leaves %d bytes for data", onePacket), "Waiting does not help"} {
					if !strings.Contains(foldParagraphs(f.ForStep), want) {
						t.Errorf("%s ENOBUFS: the report does not say %q:\n%s", args[0], want, f.ForStep)
					}
				}
				if !strings.Contains(foldParagraphs(f.Fix), fmt.Sprintf("at most %d bytes in one datagram", onePacket)) || strings.Contains(f.Fix, "Wait") {
					t.Errorf("%s ENOBUFS: the fix is %q", args[0], f.Fix)
				}
				// The fix's command makes the same datagram go.
				_, command, ok := strings.Cut(f.Fix, "`")
				command, _, _ = strings.Cut(command, "`")
				words := strings.Fields(command)
				if !ok || len(words) < 2 {
					t.Fatalf("%s ENOBUFS: the fix gives no command: %q", args[0], f.Fix)
				}
				run(t, l, words[0], words[1:]...)
				run(t, l, args[0], args[1:]...)
				run(t, l, "recv", "u", "--all") // room for the next
			}
		})
	}
}
