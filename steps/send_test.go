package steps

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestEmptySend sends 0 bytes: on TCP nothing goes to the peer, whose recv
// must go on waiting, as the report says; on UDP an empty datagram goes,
// and the receiver's recv returns it, 0 bytes long.
func TestEmptySend(t *testing.T) {
	t.Run("tcp", func(t *testing.T) {
		l := newLab(t)
		pair(t, l, families[0])
		rep := run(t, l, "send", "conn", "")
		if want := "sent nothing"; !strings.Contains(rep.Says, want) || len(rep.Packets) != 0 {
			t.Errorf("got %q and packets %v, want %q and no packet", rep.Says, rep.Packets, want)
		}
		if rep.Next != `send conn "hello"` {
			t.Errorf("got next %q, want a send of some text", rep.Next)
		}
		start := time.Now()
		if got, err := try(t, l, "recv", "client", "--timeout", "100ms"); err != nil || !got.Stopped {
			t.Errorf("the peer's recv: got %v after %v, want it to wait until its timeout", err, time.Since(start))
		}
	})
	t.Run("udp", func(t *testing.T) {
		l := newLab(t)
		run(t, l, "socket", "udp", "as", "a")
		run(t, l, "bind", "a", "127.0.0.1", "0")
		run(t, l, "socket", "udp", "as", "b")
		run(t, l, "connect", "b", "127.0.0.1", portOf(t, l, "a"))
		rep := run(t, l, "send", "b", "")
		if want := "0 bytes as one datagram"; !strings.Contains(rep.Says, want) {
			t.Errorf("got %q, want %q", rep.Says, want)
		}
		if got := run(t, l, "recv", "a", "--timeout", "1s"); got.Stopped || len(got.Data) != 0 {
			t.Errorf("recv a: got %q, want the empty datagram", got.Call)
		}
	})
}

// TestDatagramWords checks sentences about single datagrams: a byte is
// one byte, and a recv on a UDP socket with no address, which nothing can
// reach, says so while it waits.
func TestDatagramWords(t *testing.T) {
	l := newLab(t)
	told := countWaiting(t, l)
	run(t, l, "socket", "udp", "as", "a")
	run(t, l, "bind", "a", "127.0.0.1", "0")
	run(t, l, "socket", "udp", "as", "b")
	port := portOf(t, l, "a")
	var said []*Report
	var bound netip.AddrPort // b's address once sendto has bound it
	for _, tt := range []struct {
		step []string
		says string
	}{
		{[]string{"sendto", "b", "127.0.0.1", port, "x"}, "one datagram of 1 byte to"},
		{[]string{"recvfrom", "a"}, ""},
		{[]string{"connect", "b", "127.0.0.1", port}, ""},
		{[]string{"send", "b", "y"}, "sent 1 byte as one datagram"},
	} {
		rep := run(t, l, tt.step[0], tt.step[1:]...)
		if !strings.Contains(rep.Says, tt.says) {
			t.Errorf("%s: got %q, want %q", tt.step, rep.Says, tt.says)
		}
		said = append(said, rep)
		if len(said) == 1 {
			bound = Read(sock(t, l, "b")).Local
		}
	}
	// b was bound to every interface (0.0.0.0) and a port: what the
	// receiver sees is that port, from the address the route chose.
	if want := fmt.Sprintf("bound it to %s: the receiver sees that port as the sender's", bound); !strings.Contains(said[0].Says, want) {
		t.Errorf("sendto: got %q, want %q", said[0].Says, want)
	}
	if want := fmt.Sprintf("from 127.0.0.1:%d", bound.Port()); !strings.HasSuffix(said[1].Call, want) {
		t.Errorf("recvfrom: got %q, want it to end %q", said[1].Call, want)
	}
	run(t, l, "socket", "udp", "as", "unbound")
	if rep, err := try(t, l, "recv", "unbound", "--timeout", "50ms"); err != nil || !rep.Stopped {
		t.Fatalf("recv on a socket with no address: got %v, want it to wait until its timeout", err)
	}
	if want := "none can come: the socket has no address"; len(*told) != 1 || !strings.Contains((*told)[0], want) {
		t.Errorf("got waiting %q, want %q", *told, want)
	}
}

// TestEPIPESaysWhy sends where the kernel answers EPIPE, for each reason
// the report can know, and wants that reason, from a send of text and
// from a bulk send (--bytes) alike.
func TestEPIPESaysWhy(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup []string
		on    string
		says  string
	}{
		{"a listener", nil, "server", "is a listening socket"},
		{"after shutdown write", []string{"shutdown conn write"}, "conn", "has shut down writing (shutdown)"},
		{"after the peer's reset was reported", []string{"close client", "send conn x", "recv conn"}, "conn", "has no connection: its connection is over"},
		{"a socket that never connected", []string{"socket as lonely"}, "lonely", "has never been connected"},
		{"a client whose connect was refused", []string{"socket as again", "connect again 127.0.0.1 1"}, "again", "its connect failed"},
	} {
		for _, what := range [][]string{{"more"}, {"--bytes", "100K"}} {
			t.Run(tt.name+" "+what[0], func(t *testing.T) {
				l := newLab(t)
				pair(t, l, families[0])
				for _, line := range tt.setup {
					words := strings.Fields(line)
					try(t, l, words[0], words[1:]...)
				}
				rep := refused(t, l, unix.EPIPE, "send", append([]string{tt.on}, what...)...)
				if !strings.Contains(rep.Failure.ForStep, tt.says) {
					t.Errorf("got %q, want %q", rep.Failure.ForStep, tt.says)
				}
				// The fix must not ask for a connect the kernel refuses.
				conn, err := try(t, l, "connect", tt.on, "127.0.0.1", portOf(t, l, "server"))
				if err != nil {
					t.Fatal(err)
				}
				if conn.Failure != nil && strings.Contains(strings.ToLower(rep.Failure.Fix), "connect first") {
					t.Errorf("connect on %s was refused, yet the fix says %q", tt.on, rep.Failure.Fix)
				}
			})
		}
	}
}

// TestNagleHoldsASmallSend sends a few bytes while bytes sent before are
// not acknowledged yet (the peer's kernel delays its ACK once it has sent
// data itself): with TCP_NODELAY off the kernel keeps them (TCP_INFO's
// tcpi_notsent_bytes, the peer's window open), and the report must blame
// Nagle's algorithm, not the window, and not say they go shortly; with it
// on they leave at once, and Nagle is not named. The option the report
// suggests is then set, and must send what was held.
func TestNagleHoldsASmallSend(t *testing.T) {
	for _, f := range families {
		for _, nodelay := range []bool{false, true} {
			for _, step := range [][]string{{"send", "conn", "hello"}, {"send", "conn", "--bytes", "5"}} {
				t.Run(fmt.Sprintf("%s nodelay %v %s", f.name, nodelay, step[2]), func(t *testing.T) {
					l := newLab(t)
					pair(t, l, f)
					run(t, l, "send", "conn", "hello")
					run(t, l, "send", "client", "hi")
					if nodelay {
						run(t, l, "option", "conn", "TCP_NODELAY", "on")
					}
					run(t, l, "send", "conn", "--bytes", "10")
					rep := run(t, l, step[0], step[1:]...)
					conn := sock(t, l, "conn")
					info, err := unix.GetsockoptTCPInfo(conn.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
					if err != nil {
						t.Fatal(err)
					}
					held := info.Notsent_bytes > 0
					if held == nodelay || info.Snd_wnd < 1000 {
						t.Fatalf("%d bytes not sent with TCP_NODELAY %v, window %d: want them held by Nagle alone", info.Notsent_bytes, nodelay, info.Snd_wnd)
					}
					says := strings.Join(strings.Fields(rep.Says), " ")
					if named := strings.Contains(says, "Nagle's algorithm"); named != held {
						t.Errorf("%d bytes not sent; the report names Nagle: %v, want %v: %q", info.Notsent_bytes, named, held, says)
					}
					if held && (strings.Contains(says, "shortly") || strings.Contains(says, "recv makes room") || strings.Contains(says, "window is full")) {
						t.Errorf("got %q, want the bytes to wait for an ACK, not for the window or shortly", says)
					}
					if !held {
						return
					}
					if want := "option conn TCP_NODELAY on"; step[2] == "hello" && !strings.Contains(says, want) {
						t.Errorf("got %q, want it to suggest %q", says, want)
					}
					run(t, l, "option", "conn", "TCP_NODELAY", "on")
					if info, err := unix.GetsockoptTCPInfo(conn.FD, unix.IPPROTO_TCP, unix.TCP_INFO); err != nil || info.Notsent_bytes != 0 {
						t.Errorf("after TCP_NODELAY on: %d bytes not sent (%v), want none", info.Notsent_bytes, err)
					}
				})
			}
		}
	}
}

// TestNonBlockingBulkSend fills the send buffer of a non-blocking socket
// whose peer does not read. What the report says comes next must be what
// the kernel does: once the peer's kernel has acknowledged the bytes in
// flight, a send is taken again though the peer has read nothing. The
// Python line must be what CPython does there: send returns, sendall
// raises BlockingIOError.
func TestNonBlockingBulkSend(t *testing.T) {
	python := needPython(t, "the Python line cannot be checked against CPython")
	out, err := exec.Command(python, "-c", `
import socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
c = socket.socket(); c.connect(l.getsockname()); conn, _ = l.accept()
conn.setblocking(False)
print(conn.send(b"x" * (10 << 20)) > 0, end=" ")
try:
    conn.sendall(b"x" * (10 << 20))
except Exception as e:
    print(type(e).__name__)
`).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v: %s", err, out)
	}
	sendReturned, raised, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			run(t, l, "option", "conn", "O_NONBLOCK", "on")
			rep := run(t, l, "send", "conn", "--bytes", "10M")
			if !strings.HasSuffix(rep.Call, "(then EAGAIN)") {
				t.Fatalf("got %q, want the buffer filled", rep.Call)
			}
			says := strings.Join(strings.Fields(rep.Says), " ")
			if sendReturned != "True" || !strings.HasPrefix(rep.Python, "conn.send(data)") || !strings.Contains(rep.Python, "sendall would raise "+raised) {
				t.Errorf("got python %q; CPython's send returned something: %s, its sendall raised %s", rep.Python, sendReturned, raised)
			}
			conn := sock(t, l, "conn")
			deadline := time.Now().Add(time.Second)
			for {
				outq, err := unix.IoctlGetInt(conn.FD, unix.SIOCOUTQ)
				info, err2 := unix.GetsockoptTCPInfo(conn.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
				if err != nil || err2 != nil {
					t.Fatal(err, err2)
				}
				if outq == int(info.Notsent_bytes) || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			again, err := try(t, l, "send", "conn", "--bytes", "1000")
			took := err == nil && again.Failure == nil
			if took && strings.Contains(says, "EAGAIN until the peer reads") {
				t.Errorf("a send was taken with the peer reading nothing (%q), yet the report said %q", again.Call, says)
			}
			if !took && strings.Contains(says, "acknowledges the") {
				t.Errorf("no send was taken once the bytes in flight were acknowledged, yet the report said %q", says)
			}
		})
	}
}
