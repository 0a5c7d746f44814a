package steps

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestShutdownOnUDP shuts down each direction of a UDP socket, with a
// default peer and without one, and checks what the report says against
// what the kernel then does: Linux refuses a socket with no peer with
// ENOTCONN and shuts it down all the same; shut for writing, the socket's
// sends fail with EPIPE; shut for reading, poll calls it readable for
// ever, yet recv still waits for a datagram (its --timeout bounding the
// wait, with few calls) and reads the one that comes.
func TestShutdownOnUDP(t *testing.T) {
	for _, connected := range []bool{true, false} {
		for _, how := range []string{"read", "write", "both"} {
			t.Run(fmt.Sprintf("%s, connected %v", how, connected), func(t *testing.T) {
				l := newLab(t)
				run(t, l, "socket", "udp", "as", "u")
				run(t, l, "bind", "u", "127.0.0.1", "0")
				run(t, l, "socket", "udp", "as", "peer")
				run(t, l, "bind", "peer", "127.0.0.1", "0")
				port := int(Read(sock(t, l, "u")).Local.Port())
				if connected {
					run(t, l, "connect", "u", "127.0.0.1", portOf(t, l, "peer"))
				}
				var says string
				if connected {
					rep := run(t, l, "shutdown", "u", how)
					says = rep.Says
					if len(rep.Packets) != 0 {
						t.Errorf("got packets %+v, want none: UDP sends no FIN", rep.Packets)
					}
				} else {
					says = foldParagraphs(refused(t, l, unix.ENOTCONN, "shutdown", "u", how).Failure.ForStep)
				}
				if strings.Contains(says, "sent FIN") {
					t.Errorf("got %q, which says a FIN was sent", says)
				}
				if !connected && !strings.Contains(says, "and yet does the shutdown all the same") {
					t.Errorf("got %q, want it to say the shutdown was done despite ENOTCONN", says)
				}

				writeShut := how != "read"
				if connected {
					if want := map[bool]string{true: "a later send fails with EPIPE", false: "recv still waits for them and reads them"}[writeShut]; !strings.Contains(says, want) {
						t.Errorf("got %q, want %q", says, want)
					}
				}
				if writeShut {
					rep := refused(t, l, unix.EPIPE, "sendto", "u", "127.0.0.1", portOf(t, l, "peer"), "x")
					if !strings.Contains(rep.Failure.ForStep, "has shut down writing") || !strings.Contains(rep.Failure.Fix, "Nothing undoes a shutdown") {
						t.Errorf("sendto after shutdown: got %q, fix %q, want the shutdown named", rep.Failure.ForStep, rep.Failure.Fix)
					}
				} else {
					run(t, l, "sendto", "u", "127.0.0.1", portOf(t, l, "peer"), "x")
				}
				if how == "write" {
					return
				}

				if pollNow(t, sock(t, l, "u"), unix.POLLRDHUP) == 0 {
					t.Fatal("poll: no POLLRDHUP, want it: the read side is shut")
				}
				if Read(sock(t, l, "u")).Readable {
					t.Errorf("the state calls u readable with no datagram waiting; poll does, recv would wait")
				}
				saveHooks(t)
				recvs, realRecv := 0, recvCall
				recvCall = func(fd int, p []byte, flags int) (int, unix.Sockaddr, error) {
					recvs++
					return realRecv(fd, p, flags)
				}
				start := time.Now()
				rep := run0(t, l, "recv", "u", "--timeout", "300ms")
				if took := time.Since(start); !rep.Stopped || !strings.Contains(rep.Call, "timed out after 300ms") || took > 2*time.Second {
					t.Errorf("recv --timeout 300ms: got %q after %v, want it timed out after 300ms", rep.Call, took)
				}
				if recvs > 30 {
					t.Errorf("recv made %d calls in 300ms: it should pause while poll calls the socket ready and recv finds nothing", recvs)
				}

				// A datagram from the peer that comes during the wait is read.
				peer := sock(t, l, "peer").FD
				go func() {
					time.Sleep(100 * time.Millisecond)
					unix.Sendto(peer, []byte("late"), 0, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
				}()
				ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
				defer cancel()
				rep, err := tryCtx(ctx, t, l, "recv", "u", "--timeout", "3s")
				if err != nil || string(rep.Data) != "late" {
					t.Errorf("recv while a datagram comes: got %v, %v, want %q", rep, err, "late")
				}
			})
		}
	}
}

// TestShutdownTakesCsNames shuts a connection down with each name C gives a
// direction (SHUT_WR, or wr, in any case) and checks what the kernel did
// with it: the call line names the constant, and the kernel's poll agrees.
// Shut for writing, the peer reads the end of the stream (POLLIN, and a
// recv of 0); shut for reading, the socket itself is readable at once
// (POLLRDHUP). A word that is no direction changes nothing.
func TestShutdownTakesCsNames(t *testing.T) {
	for _, tc := range []struct {
		word, constant string
		write, read    bool
	}{
		{"wr", "SHUT_WR", true, false},
		{"SHUT_WR", "SHUT_WR", true, false},
		{"shut_rd", "SHUT_RD", false, true},
		{"RDWR", "SHUT_RDWR", true, true},
		{"both", "SHUT_RDWR", true, true},
	} {
		t.Run(tc.word, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, families[0])
			rep := run(t, l, "shutdown", "client", tc.word)
			if want := fmt.Sprintf("shutdown(%d, %s) = 0", sock(t, l, "client").FD, tc.constant); rep.Call != want {
				t.Errorf("got call %q, want %q", rep.Call, want)
			}
			if got := pollNow(t, sock(t, l, "conn"), unix.POLLIN) != 0; got != tc.write {
				t.Errorf("the peer can read the end of the stream: got %v, want %v", got, tc.write)
			}
			if got := pollNow(t, sock(t, l, "client"), unix.POLLRDHUP) != 0; got != tc.read {
				t.Errorf("the socket reads no more (POLLRDHUP): got %v, want %v", got, tc.read)
			}
		})
	}
	l := newLab(t)
	pair(t, l, families[0])
	before := viewLab(l)
	if _, err := try(t, l, "shutdown", "client", "wrx"); err == nil || !strings.Contains(err.Error(), "SHUT_WR") {
		t.Errorf(`shutdown client wrx: got %v, want a usage error that names C's constants`, err)
	}
	checkUnchanged(t, "shutdown client wrx", before, l)
}

// pollNow asks the kernel, without waiting, which of events s has.
func pollNow(t *testing.T, s *Socket, events int16) int16 {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(s.FD), Events: events}}
	if _, err := unix.Poll(fds, 0); err != nil {
		t.Fatal(err)
	}
	return fds[0].Revents & events
}

// TestShutdownAListener shuts down a listener with a client's connection
// in its queue, and holds what shutdown says against the kernel: shut for
// writing, nothing changes, and the connection can still be accepted;
// shut for reading, the listener stops (CLOSED), the client is reset, a
// new client is refused, and the port stays the listener's only if bind
// named it.
func TestShutdownAListener(t *testing.T) {
	for _, how := range []string{"write", "read", "both"} {
		for _, named := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, port named %v", how, named), func(t *testing.T) {
				l := newLab(t)
				port := "0"
				if named {
					port = strconv.Itoa(freePort(t))
				}
				run(t, l, "socket", "tcp", "as", "server")
				run(t, l, "bind", "server", "127.0.0.1", port)
				run(t, l, "listen", "server")
				port = portOf(t, l, "server")
				run(t, l, "socket", "tcp", "as", "client")
				run(t, l, "connect", "client", "127.0.0.1", port)
				rep := run(t, l, "shutdown", "server", how)

				if how == "write" {
					wantKernelState(t, "the listener", sock(t, l, "server"), Listen)
					wantSays(t, how, rep, "nothing was sent, and on Linux nothing changed")
					if rep.Next != "accept server" || len(rep.Packets) != 0 {
						t.Errorf("got next %q, packets %v, want accept server and none", rep.Next, rep.Packets)
					}
					run(t, l, "accept", "server", "as", "conn")
					wantKernelState(t, "the accepted connection", sock(t, l, "conn"), Established)
					return
				}
				wantKernelState(t, "the listener", sock(t, l, "server"), Closed)
				wantKernelState(t, "the queued client", sock(t, l, "client"), Closed)
				if want := []Packet{{From: "server", To: "client", What: "RST"}}; !slices.Equal(rep.Packets, want) {
					t.Errorf("got packets %v, want %v", rep.Packets, want)
				}
				run(t, l, "socket", "tcp", "as", "late")
				refused(t, l, unix.ECONNREFUSED, "connect", "late", "127.0.0.1", port)

				p, _ := strconv.Atoi(port)
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fd)
				held := unix.Bind(fd, &unix.SockaddrInet4{Port: p, Addr: [4]byte{127, 0, 0, 1}}) != nil
				if held != named {
					t.Errorf("the listener still holds its port: got %v, want %v", held, named)
				}
				wantSays(t, how, rep, "stop listening", "the connection that waited in its accept queue was reset")
				if held {
					wantSays(t, how, rep, "It still holds 127.0.0.1:"+port)
					run(t, l, "listen", "server")
					if got := portOf(t, l, "server"); got != port {
						t.Errorf("listen again: the kernel gave port %s, want %s", got, port)
					}
				} else {
					wantSays(t, how, rep, "Its port went back to the kernel")
				}
			})
		}
	}
}

// TestRepeatedShutdownSendsNoFIN: shutting down writing a second time
// (write, or both) sends nothing: the FIN went with the first. The report
// says so, draws no FIN, and the kernel's count of segments the socket
// sent (TCP_INFO's segs_out) does not move; the state stays as it was,
// whether the peer's ACK of the first FIN has come (FIN_WAIT2) or not yet
// (FIN_WAIT1, its ACK delayed).
func TestRepeatedShutdownSendsNoFIN(t *testing.T) {
	for _, f := range families {
		for _, again := range []string{"write", "both"} {
			for _, acked := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s, %s again, first FIN acknowledged %v", f.name, again, acked), func(t *testing.T) {
					l := newLab(t)
					pair(t, l, f)
					client := sock(t, l, "client")
					run(t, l, "shutdown", "client", "write")
					if acked {
						for deadline := time.Now().Add(2 * time.Second); Read(client).State != FinWait2; time.Sleep(5 * time.Millisecond) {
							if time.Now().After(deadline) {
								t.Fatalf("client is %s 2s after its FIN, want FIN_WAIT2", Read(client).State)
							}
						}
					}
					before, sent := Read(client).State, segmentsSent(client.FD)
					rep := run(t, l, "shutdown", "client", again)
					if got := segmentsSent(client.FD); got != sent {
						t.Fatalf("the second shutdown sent %d segments; the test expects none", got-sent)
					}
					// The peer's delayed ACK of the first FIN may come
					// meanwhile (FIN_WAIT1 to FIN_WAIT2); nothing else
					// may move the state.
					after := Read(client).State
					if after != before && (before != FinWait1 || after != FinWait2) {
						t.Fatalf("the second shutdown moved client from %s to %s; the test expects no change", before, after)
					}
					says := foldParagraphs(rep.Says)
					if !strings.Contains(says, "This call sends no FIN: client (fd") || !strings.Contains(says, "its FIN went then") || strings.Contains(says, "The kernel sent FIN") {
						t.Errorf("the second shutdown says:\n%s\nwant that it sent no FIN, the first having sent it", says)
					}
					// The report reads the state between the test's two reads.
					said := "changes nothing: client (fd " + strconv.Itoa(client.FD) + ") is "
					if again == "write" && !strings.Contains(says, said+before.String()) && !strings.Contains(says, said+after.String()) {
						t.Errorf("the second shutdown says:\n%s\nwant %q and the state, %s or %s", says, said, before, after)
					}
					if len(rep.Packets) != 0 {
						t.Errorf("the second shutdown drew %+v; want nothing drawn", rep.Packets)
					}
				})
			}
		}
	}
}

// TestShutdownSuggestsReadingWhatWaits: after a shutdown that leaves
// bytes unread on a TCP socket, the next command suggested is a recv, not
// a close, which with bytes unread resets the connection (the peer's recv
// then fails with ECONNRESET, measured here).
func TestShutdownSuggestsReadingWhatWaits(t *testing.T) {
	for _, how := range []string{"read", "both"} {
		for _, unread := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, bytes unread %v", how, unread), func(t *testing.T) {
				l := newLab(t)
				pair(t, l, families[0])
				if unread {
					run(t, l, "send", "client", "before")
					for deadline := time.Now().Add(2 * time.Second); Read(sock(t, l, "conn")).RecvQ == 0; time.Sleep(time.Millisecond) {
						if time.Now().After(deadline) {
							t.Fatal("the bytes did not arrive within 2s")
						}
					}
				}
				rep := run(t, l, "shutdown", "conn", how)
				want := "close conn"
				if unread {
					want = "recv conn"
				}
				if !strings.HasPrefix(rep.Next, want) {
					t.Errorf("next %q; want %q", rep.Next, want)
				}
				if !unread || how != "read" {
					return // after shutdown both, the peer has this side's FIN before the reset
				}
				// What the close not suggested would do.
				run(t, l, "close", "conn")
				if _, _, err := unix.Recvfrom(sock(t, l, "client").FD, make([]byte, 16), unix.MSG_DONTWAIT); err != unix.ECONNRESET {
					t.Errorf("the peer's recv after a close with bytes unread: %v; want ECONNRESET", err)
				}
			})
		}
	}
}
