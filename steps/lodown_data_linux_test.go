package steps

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLoopbackTakenDownHoldsTheBytes: on a TCP connection over loopback,
// once lo is taken down, send still returns at once, and the peer's recv
// finds nothing. The kernel keeps the bytes: over IPv4 (::ffff:127.0.0.1
// included) it sends them again and again and lo drops each copy; over
// ::1, which went with lo, it cannot send them at all. A send that leaves
// bytes queued, and every way a recv can end with nothing (--timeout, a
// stopped wait, SO_RCVTIMEO, non-blocking), says lo is down, what the
// kernel does with the bytes, and names the command that brings lo up;
// while lo is up neither says a word of it. What the send says is checked
// against the kernel's queue, and once lo is up the bytes arrive.
func TestLoopbackTakenDownHoldsTheBytes(t *testing.T) {
	if !inNetns(t) {
		return
	}
	lo := loopbackOnly(t).Name
	families := []struct {
		name, family, listen, to string
		says                     string // what the kernel does with the bytes, in the sentences
		resends                  bool   // the bytes leave and are dropped; else they stay unsent
	}{
		{"IPv4", "ipv4", "127.0.0.1", "127.0.0.1", "again and again", true},
		{"IPv6", "ipv6", "::1", "::1", "unsent", false},
		{"IPv4 mapped", "ipv6", "::", "::ffff:127.0.0.1", "again and again", true},
	}
	recvs := []struct {
		name   string
		option []string // set on the receiving socket first; it stays set
		args   []string
		stop   bool // the wait is stopped, as Ctrl-C stops it
	}{
		{"--timeout", nil, []string{"--timeout", "100ms"}, false},
		{"stopped", nil, nil, true},
		{"SO_RCVTIMEO", []string{"SO_RCVTIMEO", "100ms"}, nil, false},
		{"non-blocking", []string{"O_NONBLOCK", "on"}, nil, false},
	}
	l := newLab(t)
	// Every connection is made while lo is up: once it is down, ::1 is gone.
	for i, f := range families {
		server := "server" + strconv.Itoa(i)
		run(t, l, "socket", "tcp", f.family, "as", server)
		run(t, l, "bind", server, f.listen, "0")
		run(t, l, "listen", server)
		port := portOf(t, l, server)
		for _, round := range []string{"up", "down"} {
			c, a := lodownEnds(i, round)
			run(t, l, "socket", "tcp", f.family, "as", c)
			run(t, l, "connect", c, f.to, port)
			run(t, l, "accept", server, "as", a)
		}
	}
	var ip func(args ...string) string
	for _, round := range []string{"up", "down"} {
		down := round == "down"
		if down {
			ip = takeLoopbackDown(t, lo)
		}
		for i, f := range families {
			c, a := lodownEnds(i, round)
			checkSays := func(what, text string) {
				t.Helper()
				what = f.name + ", lo " + round + ", " + what
				if !down {
					if strings.Contains(text, "loopback interface") || strings.Contains(text, "`ip link set") {
						t.Errorf("%s: says %q; want nothing of lo, which is up", what, text)
					}
					return
				}
				saysLoopbackDown(t, what, text, lo)
				if !strings.Contains(text, f.says) {
					t.Errorf("%s: says %q; want %q", what, text, f.says)
				}
			}

			rep := run(t, l, "send", c, "hello")
			checkSays("send", rep.Says)
			if down {
				// What send says the kernel does, read back from it.
				snap := Read(sock(t, l, c))
				wantNotSent := 5
				if f.resends {
					wantNotSent = 0
				}
				if snap.SendQ != 5 || snap.NotSent != wantNotSent {
					t.Errorf("%s, lo down: send-q %d, %d not sent; want 5 queued, %d not sent", f.name, snap.SendQ, snap.NotSent, wantNotSent)
				}
			} else if got := run(t, l, "recv", a).Data; string(got) != "hello" {
				t.Fatalf("%s, lo up: recv got %q; want hello", f.name, got)
			}

			for _, r := range recvs {
				if r.option != nil {
					run(t, l, "option", append([]string{a}, r.option...)...)
				}
				ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
				if r.stop {
					ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
				}
				rep, err := tryCtx(ctx, t, l, "recv", append([]string{a}, r.args...)...)
				cancel()
				if err != nil {
					t.Fatalf("%s, lo %s, recv %s: %v", f.name, round, r.name, err)
				}
				if rep.Sent != 0 || len(rep.Data) != 0 || !rep.Stopped && rep.Failure == nil {
					t.Fatalf("%s, lo %s, recv %s: %q; want nothing received", f.name, round, r.name, rep.Call)
				}
				text := rep.Says
				if rep.Failure != nil {
					text += " " + rep.Failure.ForStep
				}
				checkSays("recv "+r.name, text)
			}
		}
	}

	// What they say last, checked: once lo is up, the bytes arrive.
	ip("link", "set", lo, "up")
	for i, f := range families {
		_, conn := lodownEnds(i, "down")
		a := sock(t, l, conn)
		for deadline := time.Now().Add(10 * time.Second); Read(a).RecvQ != 5; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s has %d bytes queued 10s after ip link set %s up; want the 5 sent while it was down", f.name, a.Name, Read(a).RecvQ, lo)
			}
		}
	}
}

// lodownEnds names the two ends of the connection that
// TestLoopbackTakenDownHoldsTheBytes makes for family i and round (lo up,
// or down): the client, and the socket accept gave the server.
func lodownEnds(i int, round string) (client, conn string) {
	n := strconv.Itoa(i)
	return "client" + n + round, "conn" + n + round
}
