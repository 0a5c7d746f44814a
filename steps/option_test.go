package steps

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOptionPythonLineDoesWhatTheStepDid runs each option's Python line
// in CPython, on a socket of the same kind, and reads the option back
// there: it must be what the step left in the kernel for sockstep's
// socket, and so must the socket's O_NONBLOCK, which Python's settimeout
// changes behind the program's back.
func TestOptionPythonLineDoesWhatTheStepDid(t *testing.T) {
	python := needPython(t, "the Python lines cannot be run")
	cases := []struct {
		socket string // the kind, as the socket step takes it
		set    string // option's words after the socket's name
	}{
		{"tcp", "SO_REUSEADDR on"},
		{"tcp", "SO_REUSEPORT on"},
		{"tcp", "keepalive on"},
		{"tcp", "keepidle 5"},
		{"tcp", "TCP_KEEPINTVL 2"},
		{"tcp", "keepcnt 3"},
		{"tcp", "SO_LINGER on 0"},
		{"tcp", "SO_LINGER on 5"},
		{"tcp", "SO_LINGER off"},
		{"tcp", "SO_LINGER 1 0"},
		{"tcp", "SO_LINGER 0 0"},
		{"tcp", "SO_RCVBUF 1000"},
		{"tcp", "SO_RCVBUF 4096"},
		{"tcp", "SO_RCVBUF 100000000"},
		{"tcp", "SO_SNDBUF 100"},
		{"tcp", "SO_RCVTIMEO 250ms"},
		{"tcp", "SO_RCVTIMEO 1500ms"},
		{"tcp", "SO_RCVTIMEO 0"},
		{"tcp", "SO_SNDTIMEO 2s"},
		{"tcp", "SO_SNDTIMEO 0"},
		{"udp", "SO_BROADCAST on"},
		{"tcp", "nodelay on"},
		{"tcp ipv6", "IPV6_V6ONLY on"},
		{"tcp", "nonblock on"},
		{"tcp", "nonblock off"},
	}
	var script strings.Builder
	script.WriteString("import fcntl, os, socket, struct\n")
	want := make([]string, len(cases))
	for i, c := range cases {
		l := newLab(t)
		run(t, l, "socket", append(strings.Fields(c.socket), "as", "sock")...)
		s := sock(t, l, "sock")
		words := strings.Fields(c.set)
		o, _ := findOption(words[0])
		rep := run(t, l, "option", append([]string{"sock"}, words...)...)
		if rep.Python == "" {
			t.Fatalf("option sock %s: no Python line", c.set)
		}
		want[i] = readBack(t, s.FD, o)
		// Reading the option back shows what setting it left, and gives
		// the Python that reads it, run below.
		read := run(t, l, "option", "sock", words[0])
		if shown := strings.Fields(read.Lines[0]); strings.Join(shown[1:], " ") != rep.State[0].After {
			t.Errorf("option sock %s left %q, and reading it shows %q", c.set, rep.State[0].After, read.Lines[0])
		}
		readLine, _, _ := strings.Cut(read.Python, " # ") // a comment would end print( too
		family, kind := "socket.AF_INET", "socket.SOCK_STREAM"
		if strings.Contains(c.socket, "ipv6") {
			family = "socket.AF_INET6"
		}
		if strings.HasPrefix(c.socket, "udp") {
			kind = "socket.SOCK_DGRAM"
		}
		fmt.Fprintf(&script, "sock = socket.socket(%s, %s)\n%s\n", family, kind, rep.Python)
		fmt.Fprintf(&script, "print(%s, bool(fcntl.fcntl(sock.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK))\n", readLine)
		script.WriteString("sock.close()\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", script.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s\nscript:\n%s", err, out, script.String())
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(got) != len(cases) {
		t.Fatalf("python3 printed %d lines, want %d:\n%s", len(got), len(cases), out)
	}
	for i, c := range cases {
		if got[i] != want[i] {
			t.Errorf("option sock %s: after its Python line CPython's socket has %s, sockstep's has %s", c.set, got[i], want[i])
		}
	}
}

// readBack reads an option of a socket as Python prints what option's
// Python line for reading it returns, and whether the socket is
// non-blocking, as Python's bool prints it.
func readBack(t *testing.T, fd int, o option) string {
	t.Helper()
	var v string
	switch o.kind {
	case linger:
		l, err := unix.GetsockoptLinger(fd, o.level, o.opt)
		if err != nil {
			t.Fatal(err)
		}
		v = fmt.Sprintf("(%d, %d)", l.Onoff, l.Linger)
	case duration:
		tv, err := unix.GetsockoptTimeval(fd, o.level, o.opt)
		if err != nil {
			t.Fatal(err)
		}
		v = fmt.Sprintf("(%d, %d)", tv.Sec, tv.Usec)
	case fileFlag:
		v = "False"
		if nonBlocking(fd) {
			v = "True"
		}
	default:
		n, err := unix.GetsockoptInt(fd, o.level, o.opt)
		if err != nil {
			t.Fatal(err)
		}
		v = fmt.Sprint(n)
	}
	if nonBlocking(fd) {
		return v + " True"
	}
	return v + " False"
}

// TestTimeoutOptionSaysWhatTheKernelHolds: a timeout option's report
// gives the timeout the kernel holds, which it rounds up to ticks of its
// clock, and says that a timeout of 0 waits for ever, and only then.
func TestTimeoutOptionSaysWhatTheKernelHolds(t *testing.T) {
	for _, tt := range []struct{ option, value string }{
		{"SO_RCVTIMEO", "250ms"}, {"SO_RCVTIMEO", "2s"}, {"SO_RCVTIMEO", "0"},
		{"SO_SNDTIMEO", "1ms"}, {"SO_SNDTIMEO", "1500ms"}, {"SO_SNDTIMEO", "0"},
	} {
		t.Run(tt.option+" "+tt.value, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "as", "sock")
			rep := run(t, l, "option", "sock", tt.option, tt.value)
			o, _ := findOption(tt.option)
			tv, err := unix.GetsockoptTimeval(sock(t, l, "sock").FD, o.level, o.opt)
			if err != nil {
				t.Fatal(err)
			}
			held := time.Duration(tv.Nano())
			asked, _ := time.ParseDuration(tt.value)
			says := foldParagraphs(rep.Says)
			switch {
			case held == 0:
				if !strings.Contains(says, "for ever") || strings.Contains(says, "gives up") {
					t.Errorf("the kernel holds 0, and the report says %q", says)
				}
			case !strings.Contains(says, "gives up after "+held.String()):
				t.Errorf("the kernel holds %v, and the report says %q", held, says)
			case held != asked && !strings.Contains(says, "holds "+held.String()+" where "+asked.String()+" was asked"):
				t.Errorf("the kernel holds %v where %v was asked, and the report says %q", held, asked, says)
			case held == asked && strings.Contains(says, "ticks"):
				t.Errorf("the kernel holds %v as asked, and the report says %q", held, says)
			}
		})
	}
}

// TestBufferOptionSaysWhatTheKernelDid asks for a buffer below the
// kernel's least, within its limit and above it, on TCP and UDP sockets:
// the report gives the size the kernel set and the limit it applied, read
// from the kernel, and speaks of TCP's window and of Linux's own sizing
// only for a TCP socket.
func TestBufferOptionSaysWhatTheKernelDid(t *testing.T) {
	limit, autotuned := bufferLimits(unix.SO_RCVBUF, Stream)
	if limit == 0 || autotuned == 0 {
		t.Skip("net.core.rmem_max or net.ipv4.tcp_rmem cannot be read here")
	}
	for _, kind := range []string{"tcp", "udp"} {
		for _, tt := range []struct {
			asked string
			says  func(got int) string
		}{
			{"1000", func(got int) string { return fmt.Sprintf("raises it to %d, the least it allows", got) }},
			{"4096", func(int) string { return "Linux doubles the value, to leave room for its own bookkeeping." }},
			{"100000000", func(int) string { return fmt.Sprintf("(%d here) and doubles it", limit) }},
		} {
			t.Run(kind+" "+tt.asked, func(t *testing.T) {
				l := newLab(t)
				run(t, l, "socket", kind, "as", "sock")
				says := foldParagraphs(run(t, l, "option", "sock", "SO_RCVBUF", tt.asked).Says)
				got, err := unix.GetsockoptInt(sock(t, l, "sock").FD, unix.SOL_SOCKET, unix.SO_RCVBUF)
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{"the kernel set " + strconv.Itoa(got) + ":", tt.says(got)} {
					if !strings.Contains(says, want) {
						t.Errorf("got %q, want %q in it", says, want)
					}
				}
				tcpOnly := []string{"TCP's window", fmt.Sprintf("up to %d bytes here", autotuned)}
				for _, phrase := range tcpOnly {
					if strings.Contains(says, phrase) != (kind == "tcp") {
						t.Errorf("a %s socket: got %q, want %q in it only for TCP", kind, says, phrase)
					}
				}
			})
		}
	}
}

// TestSettingABufferStopsLinuxSizingIt checks what SO_RCVBUF's report
// says of a TCP socket: left alone, Linux grows its receive buffer as
// data streams in; once SO_RCVBUF is set, it stays as set.
func TestSettingABufferStopsLinuxSizingIt(t *testing.T) {
	for _, set := range []bool{false, true} {
		t.Run(fmt.Sprintf("set %v", set), func(t *testing.T) {
			l := newLab(t)
			pair(t, l, families[0])
			conn, client := sock(t, l, "conn").FD, sock(t, l, "client").FD
			if set {
				run(t, l, "option", "conn", "SO_RCVBUF", "65536")
			}
			before, _ := unix.GetsockoptInt(conn, unix.SOL_SOCKET, unix.SO_RCVBUF)
			const total = 32 << 20
			wrote := make(chan error, 1)
			go func() {
				chunk := make([]byte, 64<<10)
				for sent := 0; sent < total; {
					// A signal can cut a blocking write short: count what went.
					n, err := unix.Write(client, chunk[:min(len(chunk), total-sent)])
					if err != nil {
						wrote <- err
						return
					}
					sent += n
				}
				wrote <- nil
			}()
			buf := make([]byte, 64<<10)
			deadline := time.Now().Add(20 * time.Second)
			for got := 0; got < total; {
				left := time.Until(deadline)
				ready, err := unix.Poll([]unix.PollFd{{Fd: int32(conn), Events: unix.POLLIN}}, max(0, int(left.Milliseconds())))
				switch {
				case err == unix.EINTR:
					continue
				case err != nil || ready == 0:
					t.Fatalf("only %d of %d bytes arrived within 20s (poll: %v)", got, total, err)
				}
				n, err := unix.Read(conn, buf)
				if err != nil || n == 0 {
					t.Fatalf("read after %d bytes: %d, %v", got, n, err)
				}
				got += n
			}
			if err := <-wrote; err != nil {
				t.Fatal(err)
			}
			after, _ := unix.GetsockoptInt(conn, unix.SOL_SOCKET, unix.SO_RCVBUF)
			if grew := after > before; grew == set {
				t.Errorf("SO_RCVBUF set: %v; receive buffer %d before 32 MB arrived, %d after", set, before, after)
			}
		})
	}
}

// TestDatagramsBeyondTheBufferAreDropped checks what a UDP socket's
// SO_RCVBUF report says: datagrams that arrive while the buffer is full
// are dropped.
func TestDatagramsBeyondTheBufferAreDropped(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "udp", "as", "u")
	says := foldParagraphs(run(t, l, "option", "u", "SO_RCVBUF", "5000").Says)
	if !strings.Contains(says, "the kernel drops those that arrive when it is full") {
		t.Fatalf("got %q, want it to say that datagrams beyond the buffer are dropped", says)
	}
	run(t, l, "bind", "u", "127.0.0.1", "0")
	run(t, l, "socket", "udp", "as", "sender")
	port := portOf(t, l, "u")
	const sent = 100
	for range sent {
		run(t, l, "sendto", "sender", "127.0.0.1", port, strings.Repeat("x", 100))
	}
	received := 0
	for received < sent {
		n, _, err := unix.Recvfrom(sock(t, l, "u").FD, make([]byte, 200), unix.MSG_DONTWAIT)
		if err != nil || n != 100 {
			break
		}
		received++
	}
	if received == 0 || received == sent {
		t.Errorf("got %d of %d datagrams through a 5000-byte buffer, want some and not all", received, sent)
	}
}

// TestLingerTakesNoBareNumber: "SO_LINGER 0" means off to some and a
// reset to others, so it is refused with both spelt out, as is "on"
// without seconds, and two numbers that are not a struct linger's;
// nothing changes.
func TestLingerTakesNoBareNumber(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "as", "sock")
	for _, words := range [][]string{{"0"}, {"1"}, {"5"}, {"on"}, {"on", "x"}, {"on", "-1"}, {"off", "3"}, {"2", "0"}, {"1", "-1"}, {"1", "0", "0"}} {
		before := viewLab(l)
		_, err := try(t, l, "option", append([]string{"sock", "SO_LINGER"}, words...)...)
		if !IsUsage(err) || !strings.Contains(err.Error(), "`on 0` makes close reset the connection") {
			t.Errorf("SO_LINGER %q: got %v, want a usage error that spells out on 0", words, err)
		}
		checkUnchanged(t, "SO_LINGER "+strings.Join(words, " "), before, l)
		if v, _ := (option{level: unix.SOL_SOCKET, opt: unix.SO_LINGER, kind: linger}).get(sock(t, l, "sock").FD); v != "off" {
			t.Errorf("SO_LINGER %q: the kernel has %s, want off", words, v)
		}
	}
}

// TestLingerTakesPythonsStruct: two numbers are the struct linger that
// Python packs, l_onoff then l_linger, and the kernel is left holding
// what the words say. Turned off, Linux keeps the seconds it had and
// ignores the new ones.
func TestLingerTakesPythonsStruct(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "as", "sock")
	for _, tt := range []struct {
		words      string
		onoff, sec int32
	}{{"1 0", 1, 0}, {"1 7", 1, 7}, {"0 0", 0, 7}, {"on 3", 1, 3}, {"0 9", 0, 3}} {
		run(t, l, "option", append([]string{"sock", "SO_LINGER"}, strings.Fields(tt.words)...)...)
		got, err := unix.GetsockoptLinger(sock(t, l, "sock").FD, unix.SOL_SOCKET, unix.SO_LINGER)
		if err != nil {
			t.Fatal(err)
		}
		if got.Onoff != tt.onoff || got.Linger != tt.sec {
			t.Errorf("SO_LINGER %s: the kernel has {on=%d, %ds}, want {on=%d, %ds}", tt.words, got.Onoff, got.Linger, tt.onoff, tt.sec)
		}
	}
}

// TestV6onlyAfterBind: the kernel refuses IPV6_V6ONLY on a socket that
// has a port, whether bind gave it or listen or sendto; the report says
// so, and the fix it gives, typed as it is, makes a socket with the
// option set that binds.
func TestV6onlyAfterBind(t *testing.T) {
	for _, tt := range []struct{ kind, port string }{
		{"udp", "bind u ::1 0"},
		{"udp", "sendto u ::1 9 x"},
		{"tcp", "bind u ::1 0"},
		{"tcp", "listen u"},
	} {
		t.Run(tt.kind+" after "+tt.port, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", tt.kind, "ipv6", "as", "u")
			words := strings.Fields(tt.port)
			run(t, l, words[0], words[1:]...)
			// Bound to ::1, the socket has IPV6_V6ONLY on already: Linux
			// sets it for a socket bound to an IPv6 address of its own.
			before, err := unix.GetsockoptInt(sock(t, l, "u").FD, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
			if err != nil {
				t.Fatal(err)
			}
			rep := refused(t, l, unix.EINVAL, "option", "u", "v6only", "on")
			if v, err := unix.GetsockoptInt(sock(t, l, "u").FD, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err != nil || v != before {
				t.Fatalf("IPV6_V6ONLY: %d before the refusal, %d after (%v)", before, v, err)
			}
			for _, want := range []string{"only before a socket has a port", "stays " + onOffWord(before != 0)} {
				if !strings.Contains(rep.Failure.ForStep, want) {
					t.Errorf("got %q, want %q in it", rep.Failure.ForStep, want)
				}
			}
			fix := regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(rep.Failure.Fix, -1)
			if len(fix) == 0 {
				t.Fatalf("the fix %q gives no command", rep.Failure.Fix)
			}
			for _, m := range fix {
				words := strings.Fields(m[1])
				run(t, l, words[0], words[1:]...)
			}
			run(t, l, "bind", "u", "::1", "0")
			if v, err := unix.GetsockoptInt(sock(t, l, "u").FD, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err != nil || v != 1 {
				t.Errorf("after the fix %q and bind, IPV6_V6ONLY is %d (%v); want 1", rep.Failure.Fix, v, err)
			}
		})
	}
}

// TestReadV6onlyWithAPort: once a socket has a port, reading IPV6_V6ONLY
// says it can no longer change, as setsockopt then says (EINVAL, tried
// here), and which bind turned it on; the next step suggested works when
// typed. Without a port, the read offers the setting that works.
func TestReadV6onlyWithAPort(t *testing.T) {
	for _, steps := range [][]string{
		{"socket tcp ipv6 as u"},
		{"socket tcp ipv6 as u", "bind u ::1 0"},
		{"socket udp ipv6 as u", "bind u ::1 0"},
		{"socket tcp ipv6 as u", "bind u :: 0"},
		{"socket tcp ipv6 as u", "bind u :: 0", "listen u"},
		{"socket udp ipv6 as u", "sendto u ::1 9 x"},
		{"socket tcp ipv6 as u", "bind u ::ffff:127.0.0.1 0"},
	} {
		t.Run(strings.Join(steps, "; "), func(t *testing.T) {
			l := newLab(t)
			for _, step := range steps {
				words := strings.Fields(step)
				run(t, l, words[0], words[1:]...)
			}
			rep := run(t, l, "option", "u", "IPV6_V6ONLY")
			fd := sock(t, l, "u").FD
			on, err := unix.GetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
			if err != nil {
				t.Fatal(err)
			}
			fixed := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, on) == unix.EINVAL
			says := strings.Join(strings.Fields(rep.Says), " ")
			if got := strings.Contains(says, "It can no longer change"); got != fixed {
				t.Errorf("setsockopt refused: %v; the read says %q", fixed, says)
			}
			if got := strings.Contains(says, "Set it with"); got == fixed {
				t.Errorf("setsockopt refused: %v; the read says %q", fixed, says)
			}
			local := Read(sock(t, l, "u")).Local.Addr()
			// Whether bind turned it on: the same bind on a fresh socket.
			turned := false
			if words := strings.Fields(steps[len(steps)-1]); words[0] == "bind" {
				fresh, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fresh)
				var sa unix.SockaddrInet6
				sa.Addr = local.As16()
				if err := unix.Bind(fresh, &sa); err != nil {
					t.Fatal(err)
				}
				v, _ := unix.GetsockoptInt(fresh, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
				turned = v == 1
			}
			if got := strings.Contains(says, "Binding to "+local.String()+" turned it on"); got != turned {
				t.Errorf("bind to %s turned IPV6_V6ONLY on: %v; the read says %q", local, turned, says)
			}
			next := strings.Fields(strings.SplitN(rep.Next, "(", 2)[0])
			if len(next) == 0 {
				t.Fatalf("no next step after %q", says)
			}
			if next[0] == "accept" || next[0] == "recvfrom" {
				return // it would wait for a peer this test has not got
			}
			run(t, l, next[0], next[1:]...)
		})
	}
}

// TestBroadcastOnTCP: the kernel stores SO_BROADCAST for a TCP socket,
// and the report says that it changes nothing for TCP, not that the
// socket may send datagrams to a broadcast address.
func TestBroadcastOnTCP(t *testing.T) {
	for _, tt := range []struct{ kind, says string }{
		{"tcp", "changes nothing for TCP"},
		{"udp", "may now send datagrams to a broadcast address"},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", tt.kind, "as", "s")
			rep := run(t, l, "option", "s", "broadcast", "on")
			if v, err := unix.GetsockoptInt(sock(t, l, "s").FD, unix.SOL_SOCKET, unix.SO_BROADCAST); err != nil || v != 1 {
				t.Fatalf("SO_BROADCAST reads %d (%v), want 1", v, err)
			}
			wantSays(t, "broadcast on", rep, tt.says)
			if tt.kind == "tcp" && strings.Contains(rep.Says, "may now send datagrams") {
				t.Errorf("a TCP socket: got %q", rep.Says)
			}
		})
	}
}

// TestSndbufOnUDP: a UDP socket's send buffer does not bound how much one
// send hands over. With it as small as the kernel allows, the largest
// datagram that loopback carries in one packet goes at once; one that
// must be cut into fragments fails with ENOBUFS. The report says both.
func TestSndbufOnUDP(t *testing.T) {
	for _, tt := range udpLimits(t) {
		t.Run(tt.f.name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", tt.f.name, "as", "sink")
			run(t, l, "bind", "sink", tt.f.loopback, "0")
			run(t, l, "option", "sink", "rcvbuf", "1000000")
			run(t, l, "socket", "udp", tt.f.name, "as", "u")
			rep := run(t, l, "option", "u", "sndbuf", "1000")
			u := sock(t, l, "u")
			got, err := unix.GetsockoptInt(u.FD, unix.SOL_SOCKET, unix.SO_SNDBUF)
			if err != nil {
				t.Fatal(err)
			}
			sink, err := unix.Getsockname(sock(t, l, "sink").FD)
			if err != nil {
				t.Fatal(err)
			}
			onePacket := tt.onePacket
			if onePacket <= got {
				t.Skipf("the kernel set a send buffer of %d, as large as a datagram in one packet", got)
			}
			if err := unix.Sendto(u.FD, make([]byte, onePacket), unix.MSG_DONTWAIT, sink); err != nil {
				t.Fatalf("a %d-byte datagram through a %d-byte send buffer: %v", onePacket, got, err)
			}
			wantSays(t, "sndbuf on UDP", rep, "one datagram may be larger than the buffer")
			if strings.Contains(rep.Says, "bounds how much send can hand over") {
				t.Errorf("a %d-byte datagram went through a %d-byte buffer at once, and the report says %q", onePacket, got, rep.Says)
			}
			if onePacket < tt.most && 2*got < onePacket {
				err := unix.Sendto(u.FD, make([]byte, onePacket+1), unix.MSG_DONTWAIT, sink)
				if err != unix.ENOBUFS {
					t.Fatalf("a %d-byte datagram, in fragments, through a %d-byte send buffer: %v, want ENOBUFS", onePacket+1, got, err)
				}
				wantSays(t, "sndbuf on UDP", rep, "fails with ENOBUFS if they need more than twice the buffer")
			}
		})
	}
}

// TestNonblockCallLine: O_NONBLOCK is set as C sets it, by reading the
// file's flags and setting them back with the bit changed. The call line
// shows the flags F_GETFL gave and the ones F_SETFL passed, which must be
// what the kernel holds after it, other flags (O_APPEND here) kept.
func TestNonblockCallLine(t *testing.T) {
	names := map[string]int{"O_RDONLY": unix.O_RDONLY, "O_WRONLY": unix.O_WRONLY, "O_RDWR": unix.O_RDWR,
		"O_APPEND": unix.O_APPEND, "O_ASYNC": unix.O_ASYNC, "O_NONBLOCK": unix.O_NONBLOCK}
	getfl := regexp.MustCompile(`F_GETFL\) = ([A-Z_|0-9a-fx]+);`)
	setfl := regexp.MustCompile(`F_SETFL, ([A-Z_|0-9a-fx]+)\)`)
	// flags reads the flags a call line shows, named or in hex.
	flags := func(t *testing.T, call string, re *regexp.Regexp) int {
		m := re.FindStringSubmatch(call)
		if m == nil {
			t.Fatalf("got %q, which does not match %s", call, re)
		}
		sum := 0
		for _, name := range strings.Split(m[1], "|") {
			n, ok := names[name]
			if !ok {
				v, err := strconv.ParseInt(name, 0, 64)
				if err != nil {
					t.Fatalf("%q in %q is not a flag", name, call)
				}
				n = int(v)
			}
			sum |= n
		}
		return sum
	}
	for _, extra := range []int{0, unix.O_APPEND} {
		for _, value := range []string{"on", "off"} {
			t.Run(fmt.Sprintf("%#x %s", extra, value), func(t *testing.T) {
				l := newLab(t)
				run(t, l, "socket", "as", "s")
				fd := sock(t, l, "s").FD
				preset := extra
				if value == "off" {
					preset |= unix.O_NONBLOCK
				}
				if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, preset); err != nil {
					t.Fatal(err)
				}
				before, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
				rep := run(t, l, "option", "s", "nonblock", value)
				after, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
				if got := flags(t, rep.Call, getfl); got != before {
					t.Errorf("got %q, which reads %#x; the kernel held %#x", rep.Call, got, before)
				}
				if passed := flags(t, rep.Call, setfl); passed != after {
					t.Errorf("got %q, which passes %#x; the kernel holds %#x", rep.Call, passed, after)
				}
				// Read alone, the flags are given in hex and by name.
				read := run(t, l, "option", "s", "nonblock").Call
				hex := regexp.MustCompile(`F_GETFL\) = (0x[0-9a-f]+) `).FindStringSubmatch(read)
				if hex == nil {
					t.Fatalf("read: got %q, with no flags in hex", read)
				}
				if v, err := strconv.ParseInt(hex[1], 0, 64); err != nil || int(v) != after {
					t.Errorf("read: got %q; the kernel holds %#x", read, after)
				}
				if named := flags(t, read, regexp.MustCompile(`\(([A-Z_|0-9a-fx]+)\)$`)); named != after {
					t.Errorf("read: got %q, whose names make %#x; the kernel holds %#x", read, named, after)
				}
			})
		}
	}
}

// TestEveryOptionHasHelp: `help option NAME` has a text of its own for
// each option, by its name or its short name in any case, and refuses a
// name sockstep does not know.
func TestEveryOptionHasHelp(t *testing.T) {
	for _, o := range options {
		for _, name := range []string{o.Name, strings.ToLower(o.Name[strings.Index(o.Name, "_")+1:])} {
			usage, about, err := optionTopic(name)
			if err != nil || !strings.Contains(usage, " "+o.Name+" ") || about == "" {
				t.Errorf("help option %s: got %q, %q, %v", name, usage, about, err)
			}
		}
	}
	if _, _, err := optionTopic("SO_FROBNICATE"); !IsUsage(err) {
		t.Errorf("help option SO_FROBNICATE: got %v, want a usage error", err)
	}
}

// TestOptionSuggestsTheCallItAffects: after listing options or setting
// one, the step suggested is the call the option matters for, or the
// socket's next call, never the list again; typed as it is, the kernel
// does it. A suggested bind's port (FREE) is the first from where
// suggestions start (moved by the test off the tutorial's 8081 and 9090,
// which other tests' transcripts show) that a socket with s's options can
// bind, as the kernel shows, once the test holds the first that a plain
// socket can, so that no fixed port would do.
func TestOptionSuggestsTheCallItAffects(t *testing.T) {
	suggestFromFreePorts(t)
	pairLines := []string{"socket as server", "bind server 127.0.0.1 0", "listen server",
		"socket as client", "connect client 127.0.0.1 PORT", "accept server as conn", "send client hi"}
	for _, tt := range []struct {
		setup  []string
		option string
		next   string
	}{
		{[]string{"socket as s"}, "option s", "option s SO_REUSEADDR on"},
		{[]string{"socket as s"}, "option s reuseaddr on", "bind s 127.0.0.1 FREE"},
		{[]string{"socket udp as s"}, "option s reuseport on", "bind s 127.0.0.1 FREE"},
		{[]string{"socket udp ipv6 as s"}, "option s v6only on", "bind s :: FREE"},
		{[]string{"socket as s"}, "option s nodelay on", "bind s 127.0.0.1 FREE"},
		{[]string{"socket udp as s"}, "option s rcvbuf 9000", "bind s 127.0.0.1 FREE"},
		{[]string{"socket as s", "bind s 127.0.0.1 0"}, "option s", "listen s"},
		{[]string{"socket udp as s", "bind s 127.0.0.1 0", "socket udp as u", "sendto u 127.0.0.1 PORT hi"}, "option s rcvbuf 9000", "recvfrom s"},
		{pairLines[:5], "option server", "accept server"},
		{pairLines, "option conn rcvtimeo 1s", "recv conn"},
		{pairLines, "option client nodelay on", `send client "hello"`},
		{pairLines, "option client linger on 5", "close client"},
		{pairLines, "option client keepalive on", "option client TCP_KEEPIDLE 5"}, // net.ipv4.tcp_keepalive_time is over 5 seconds
		{pairLines, "option client keepcnt 3", "option client SO_KEEPALIVE on"},
	} {
		t.Run(tt.option+" after "+tt.setup[len(tt.setup)-1], func(t *testing.T) {
			l := newLab(t)
			port := ""
			for _, line := range tt.setup {
				words := strings.Fields(strings.ReplaceAll(line, "PORT", port))
				run(t, l, words[0], words[1:]...)
				if port == "" && words[0] == "bind" {
					port = portOf(t, l, words[1])
				}
			}
			want := tt.next
			var bindAt func(fd int, port int) error
			if strings.HasSuffix(want, " FREE") {
				s := sock(t, l, "s")
				host := strings.Fields(want)[2]
				from := suggestedFrom[s.Kind]
				bindAt = func(fd int, port int) error {
					return unix.Bind(fd, sockaddr(s.Family, netip.AddrPortFrom(netip.MustParseAddr(host), uint16(port))))
				}
				holdFirstFree(t, s, from, bindAt)
			}
			words := strings.Fields(tt.option)
			rep := run(t, l, "option", words[1:]...)
			if bindAt != nil {
				// s has its options now: the port is the first it can bind.
				s := sock(t, l, "s")
				want = strings.Replace(want, "FREE", strconv.Itoa(firstBindable(t, s, suggestedFrom[s.Kind], bindAt)), 1)
			}
			next := regexp.MustCompile(`\s+\(.*\)$`).ReplaceAllString(rep.Next, "") // an aside, for reading
			if next != want {
				t.Fatalf("got next %q, want %q", rep.Next, want)
			}
			words = strings.Fields(next)
			for i, w := range words {
				words[i] = strings.Trim(w, `"`)
			}
			run(t, l, words[0], words[1:]...)
		})
	}
}

// holdFirstFree holds, until the test ends, the first port from `from`
// that a new socket of s's family and kind, with no options, can bind
// with bindAt: a TCP one listens there, which stops any other bind.
func holdFirstFree(t *testing.T, s *Socket, from int, bindAt func(fd, port int) error) {
	t.Helper()
	for p := from; p < from+100; p++ {
		fd, err := unix.Socket(s.Family.domain(), s.Kind.number(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if bindAt(fd, p) == nil && (s.Kind != Stream || unix.Listen(fd, 1) == nil) {
			t.Cleanup(func() { unix.Close(fd) })
			return
		}
		unix.Close(fd)
	}
	t.Fatalf("no port from %d to %d is free", from, from+99)
}

// firstBindable is the first port from `from` that a new socket of s's
// family and kind, with the SO_REUSEADDR, SO_REUSEPORT and IPV6_V6ONLY
// that the kernel reports for s, can bind with bindAt.
func firstBindable(t *testing.T, s *Socket, from int, bindAt func(fd, port int) error) int {
	t.Helper()
	for p := from; p < from+100; p++ {
		fd, err := unix.Socket(s.Family.domain(), s.Kind.number(), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range [][2]int{{unix.SOL_SOCKET, unix.SO_REUSEADDR}, {unix.SOL_SOCKET, unix.SO_REUSEPORT}, {unix.IPPROTO_IPV6, unix.IPV6_V6ONLY}} {
			if v, err := unix.GetsockoptInt(s.FD, o[0], o[1]); err == nil {
				unix.SetsockoptInt(fd, o[0], o[1], v)
			}
		}
		err = bindAt(fd, p)
		unix.Close(fd)
		if err == nil {
			return p
		}
	}
	t.Fatalf("no port from %d to %d is free for %s", from, from+99, s.Name)
	return 0
}

// TestV6onlyNamesWhatArrives: what IPV6_V6ONLY says an IPv6 socket bound
// to :: takes from IPv4 is what it takes: datagrams on UDP, connections
// on TCP. With the option off, a UDP socket bound to [::] receives an
// IPv4 socket's datagram, its sender shown as ::ffff:127.0.0.1.
func TestV6onlyNamesWhatArrives(t *testing.T) {
	for _, tt := range []struct{ kind, want, not string }{
		{"udp", "datagrams", "connections"},
		{"tcp", "connections", "datagrams"},
	} {
		for _, setting := range []string{"on", "off"} {
			t.Run(tt.kind+" "+setting, func(t *testing.T) {
				l := newLab(t)
				run(t, l, "socket", tt.kind, "ipv6", "as", "u")
				rep := run(t, l, "option", "u", "IPV6_V6ONLY", setting)
				if !strings.Contains(rep.Says, "IPv4 "+tt.want) || strings.Contains(rep.Says, tt.not) {
					t.Errorf("a %s socket: got %q, want IPv4 %s and no %s", tt.kind, rep.Says, tt.want, tt.not)
				}
				if tt.kind != "udp" || setting != "off" {
					return
				}
				run(t, l, "bind", "u", "::", "0")
				run(t, l, "socket", "udp", "as", "v4")
				run(t, l, "sendto", "v4", "127.0.0.1", portOf(t, l, "u"), "hi")
				got := run(t, l, "recvfrom", "u", "--timeout", "1s")
				if string(got.Data) != "hi" || !strings.Contains(got.Call, "from [::ffff:127.0.0.1]:") {
					t.Errorf("recvfrom on [::]: %s took %q, want \"hi\" from an ::ffff: address", got.Call, got.Data)
				}
			})
		}
	}
}
