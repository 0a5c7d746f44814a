package steps

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

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
