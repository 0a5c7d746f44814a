package steps

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
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
			saveHooks(t)
			calls, real := 0, sendCall
			sendCall = func(fd int, p, oob []byte, to unix.Sockaddr, flags int) (int, error) {
				calls++
				return real(fd, p, oob, to, flags)
			}
			rep := run(t, l, "send", "conn", "--bytes", "10M")
			sendCall = real
			if !strings.HasSuffix(rep.Call, "(then EAGAIN)") {
				t.Fatalf("got %q, want the buffer filled", rep.Call)
			}
			says := strings.Join(strings.Fields(rep.Says), " ")
			if want := fmt.Sprintf("in %d send calls", calls); calls < 2 || !strings.Contains(says, want) {
				t.Errorf("the step made %d send calls; its report says %q, want %q in it", calls, says, want)
			}
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

// TestSendErrnoSections makes send fail in each way it can on a TCP or
// UDP socket, over both families, and wants each [ERRNO] section of
// send.txt to be one of the errnos the kernel gave: a section no send can
// reach says what is never true here. (Linux's TCP send on a socket with no
// connection gives EPIPE, its UDP send with no peer EDESTADDRREQ: neither
// gives ENOTCONN.)
func TestSendErrnoSections(t *testing.T) {
	met := map[string]bool{}
	for _, f := range families {
		for _, tc := range []struct {
			name  string
			setup func(t *testing.T, l *Lab) // leaves the socket named sock, whose send fails
			sock  string
			args  []string
			want  unix.Errno
		}{
			{"new TCP socket", func(t *testing.T, l *Lab) { run(t, l, "socket", "tcp", f.name, "as", "s") }, "s", nil, unix.EPIPE},
			{"bound TCP socket", func(t *testing.T, l *Lab) {
				run(t, l, "socket", "tcp", f.name, "as", "s")
				run(t, l, "bind", "s", f.loopback, "0")
			}, "s", nil, unix.EPIPE},
			{"listener", func(t *testing.T, l *Lab) { listener(t, l, f, "s") }, "s", nil, unix.EPIPE},
			{"after a refused connect", func(t *testing.T, l *Lab) {
				port := listener(t, l, f, "gone")
				run(t, l, "close", "gone")
				run(t, l, "socket", "tcp", f.name, "as", "s")
				refused(t, l, unix.ECONNREFUSED, "connect", "s", f.loopback, port)
			}, "s", nil, unix.EPIPE},
			{"TCP shut for writing", func(t *testing.T, l *Lab) {
				pair(t, l, f)
				run(t, l, "shutdown", "client", "write")
			}, "client", nil, unix.EPIPE},
			{"TCP reset by the peer", func(t *testing.T, l *Lab) {
				pair(t, l, f)
				run(t, l, "option", "conn", "SO_LINGER", "on", "0")
				run(t, l, "close", "conn")
			}, "client", nil, unix.ECONNRESET},
			{"TCP buffer full, non-blocking", func(t *testing.T, l *Lab) {
				pair(t, l, f)
				run(t, l, "option", "conn", "O_NONBLOCK", "on")
				run(t, l, "send", "conn", "--bytes", "1G")
				// Once the peer's kernel acknowledges the bytes in flight,
				// their memory is free: fill it again, and nothing moves.
				waitAcknowledged(t, sock(t, l, "conn"))
				run(t, l, "send", "conn", "--bytes", "1G")
			}, "conn", nil, unix.EAGAIN},
			{"UDP with no peer", func(t *testing.T, l *Lab) { run(t, l, "socket", "udp", f.name, "as", "s") }, "s", nil, unix.EDESTADDRREQ},
			{"UDP shut for writing", func(t *testing.T, l *Lab) {
				run(t, l, "socket", "udp", f.name, "as", "s")
				run(t, l, "connect", "s", f.loopback, "9")
				run(t, l, "shutdown", "s", "write")
			}, "s", nil, unix.EPIPE},
			{"UDP refused", func(t *testing.T, l *Lab) {
				run(t, l, "socket", "udp", f.name, "as", "gone")
				run(t, l, "bind", "gone", f.loopback, "0")
				port := portOf(t, l, "gone")
				run(t, l, "close", "gone")
				run(t, l, "socket", "udp", f.name, "as", "s")
				run(t, l, "connect", "s", f.loopback, port)
				run(t, l, "send", "s", "ping")
			}, "s", nil, unix.ECONNREFUSED},
			{"UDP too large", func(t *testing.T, l *Lab) {
				run(t, l, "socket", "udp", f.name, "as", "s")
				run(t, l, "connect", "s", f.loopback, "9")
			}, "s", []string{"--bytes", "70000"}, unix.EMSGSIZE},
			{"UDP in fragments, smallest buffer", func(t *testing.T, l *Lab) {
				if f.name == "ipv4" {
					t.Skip("over IPv4, loopback carries the largest datagram in one packet")
				}
				run(t, l, "socket", "udp", f.name, "as", "s")
				run(t, l, "connect", "s", f.loopback, "9")
				run(t, l, "option", "s", "SO_SNDBUF", "1")
			}, "s", []string{"--bytes", "65527"}, unix.ENOBUFS},
		} {
			t.Run(f.name+" "+tc.name, func(t *testing.T) {
				l := newLab(t)
				tc.setup(t, l)
				args := tc.args
				if args == nil {
					args = []string{"hello"}
				}
				refused(t, l, tc.want, "send", append([]string{tc.sock}, args...)...)
				help, _ := ExplainErrno(tc.want)
				met[help.Name] = true
			})
		}
	}
	for section := range sendProse.sections {
		name, _ := strings.CutSuffix(section, " fix")
		if _, isErrno := errnoByName[name]; isErrno && !met[name] {
			t.Errorf("send.txt has [%s], which no send above met: the kernel gave %v", section, met)
		}
	}
}

// waitAcknowledged waits, for a second at most, until the peer's kernel
// has acknowledged every byte the socket has sent, so that only what TCP
// has not sent yet is in its send queue.
func waitAcknowledged(t *testing.T, s *Socket) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		outq, err := unix.IoctlGetInt(s.FD, unix.SIOCOUTQ)
		info, err2 := unix.GetsockoptTCPInfo(s.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil || err2 != nil {
			t.Fatal(err, err2)
		}
		if outq == int(info.Notsent_bytes) {
			return
		}
	}
}

// TestEPIPESaysSIGPIPEOnlyWhereItComes shuts a socket for writing, and
// then writes on it without MSG_NOSIGNAL, as a C program would: Linux
// raises SIGPIPE with the EPIPE of a TCP socket, but not of a UDP one.
// send's and sendto's EPIPE must speak of SIGPIPE only where it came.
func TestEPIPESaysSIGPIPEOnlyWhereItComes(t *testing.T) {
	pipes := make(chan os.Signal, 1)
	signal.Notify(pipes, unix.SIGPIPE)
	defer signal.Stop(pipes)
	for _, tc := range []struct {
		kind string
		port string // where the UDP socket connects; nothing need listen
	}{{"tcp", ""}, {"udp", "23186"}} {
		for _, step := range []string{"send", "sendto"} {
			t.Run(tc.kind+" "+step, func(t *testing.T) {
				l := newLab(t)
				name := "s"
				if tc.kind == "tcp" {
					pair(t, l, families[0])
					name = "client"
				} else {
					run(t, l, "socket", "udp", "as", "s")
					run(t, l, "connect", "s", "127.0.0.1", tc.port)
				}
				run(t, l, "shutdown", name, "write")
				select {
				case <-pipes: // one left from before
				default:
				}
				if _, err := unix.Write(sock(t, l, name).FD, []byte("x")); err != unix.EPIPE {
					t.Fatalf("write after shutdown: got %v, want EPIPE", err)
				}
				var raised bool
				select {
				case <-pipes:
					raised = true
				case <-time.After(200 * time.Millisecond):
				}
				args := []string{name, "x"}
				if step == "sendto" {
					args = []string{name, "127.0.0.1", "23187", "x"}
				}
				rep := refused(t, l, unix.EPIPE, step, args...)
				if says := strings.Contains(rep.Failure.ForStep, "SIGPIPE"); says != raised {
					t.Errorf("the kernel raised SIGPIPE: %v; got %q, which speaks of it: %v", raised, rep.Failure.ForStep, says)
				}
			})
		}
	}
}
