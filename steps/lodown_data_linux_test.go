package steps

import (
	"cmp"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLoopbackTakenDownHoldsTheBytes: on a TCP connection over loopback,
// once lo is taken down, send (and send --bytes) still returns at once,
// and the peer's recv finds nothing. The kernel keeps the bytes: over IPv4
// (::ffff:127.0.0.1 included) it sends the first send's again and again
// and lo drops each copy, and later ones wait unsent behind them; over
// ::1, which went with lo, it cannot send them at all. A send that leaves
// bytes queued, and every way a recv can end with nothing (--timeout, a
// stopped wait, --all, SO_RCVTIMEO, non-blocking), says lo is down, what
// the kernel does with the bytes, and names the command that brings lo
// up, and the send suggests that command rather than a recv that would
// wait; while lo is up none of them says a word of it. What the sends say
// is checked against the kernel's queue, and once lo is up the bytes
// arrive.
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
	sends := []struct {
		name string
		args []string
		n    int    // the bytes it sends
		next string // what it suggests while lo is up ("" for a recv at the peer)
	}{
		{"send", []string{"hello"}, 5, ""},
		{"send --bytes", []string{"--bytes", "1000"}, 1000, "sockets"},
	}
	recvs := []struct {
		name   string
		option []string // set on the receiving socket first; it stays set
		args   []string
		stop   bool // the wait is stopped, as Ctrl-C stops it
		all    bool // it returns what it found without waiting: nothing
	}{
		{"--timeout", nil, []string{"--timeout", "100ms"}, false, false},
		{"stopped", nil, nil, true, false},
		{"--all", nil, []string{"--all"}, false, true},
		{"SO_RCVTIMEO", []string{"SO_RCVTIMEO", "100ms"}, nil, false, false},
		{"non-blocking", []string{"O_NONBLOCK", "on"}, nil, false, false},
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

			queued := 0 // the bytes sent while lo is down
			for _, sn := range sends {
				rep := run(t, l, "send", append([]string{c}, sn.args...)...)
				checkSays(sn.name, rep.Says)
				checkNext(t, f.name+", lo "+round+", "+sn.name, rep.Next, down, cmp.Or(sn.next, "recv "+a), lo)
				if !down {
					if got := run(t, l, "recv", a, "--all").DataTotal; got != sn.n {
						t.Fatalf("%s, lo up, %s: recv --all got %d bytes; want %d", f.name, sn.name, got, sn.n)
					}
					continue
				}
				// What send says the kernel does, read back from it.
				queued += sn.n
				snap := Read(sock(t, l, c))
				wantNotSent := queued
				if f.resends { // the first send's bytes left; the later wait behind them
					wantNotSent -= sends[0].n
				}
				if snap.SendQ != queued || snap.NotSent != wantNotSent {
					t.Errorf("%s, lo down, %s: send-q %d, %d not sent; want %d queued, %d not sent", f.name, sn.name, snap.SendQ, snap.NotSent, queued, wantNotSent)
				}
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
				if rep.Sent != 0 || rep.DataTotal != 0 || len(rep.Data) != 0 || !rep.Stopped && (rep.Failure == nil) != r.all {
					t.Fatalf("%s, lo %s, recv %s: %q; want nothing received", f.name, round, r.name, rep.Call)
				}
				text := rep.Says
				if rep.Failure != nil {
					text += " " + rep.Failure.ForStep
				}
				checkSays("recv "+r.name, text)
				what := f.name + ", lo " + round + ", recv " + r.name
				switch {
				case rep.Failure != nil:
					if told := strings.Contains(rep.Failure.Fix, "Bring the loopback interface up first"); told != down {
						t.Errorf("%s: fix %q; want bringing lo up told: %v", what, rep.Failure.Fix, down)
					}
				case down:
					checkNext(t, what, rep.Next, down, "", lo)
				}
			}
		}
	}

	// What they say last, checked: once lo is up, the bytes arrive.
	ip("link", "set", lo, "up")
	sentDown := 0
	for _, sn := range sends {
		sentDown += sn.n
	}
	for i, f := range families {
		_, conn := lodownEnds(i, "down")
		a := sock(t, l, conn)
		for deadline := time.Now().Add(10 * time.Second); Read(a).RecvQ != sentDown; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s has %d bytes queued 10s after ip link set %s up; want the %d sent while it was down", f.name, a.Name, Read(a).RecvQ, lo, sentDown)
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

// checkNext checks the suggestion a send or recv made on a loopback
// connection: while lo is down, the way out (bringing lo up) rather than
// a recv that would wait for bytes that cannot arrive; while it is up,
// want.
func checkNext(t *testing.T, what, next string, down bool, want, lo string) {
	t.Helper()
	switch {
	case !down && next != want:
		t.Errorf("%s: suggests %q; want %q", what, next, want)
	case down && (!strings.Contains(next, "ip link set "+lo+" up") || strings.Contains(next, "recv ")):
		t.Errorf("%s: suggests %q; want the way out, ip link set %s up, and no recv, which would wait", what, next, lo)
	}
}

// TestLoopbackTakenDownBulkSendWaits: a send --bytes larger than the
// buffers waits for room, which only the peer's acknowledgements make.
// While lo is up that is flow control: the peer does not read. Once lo is
// down no acknowledgement comes, so the wait ends at --timeout, and send
// --bytes says why and suggests bringing lo up, over IPv4 and IPv6 alike.
func TestLoopbackTakenDownBulkSendWaits(t *testing.T) {
	if !inNetns(t) {
		return
	}
	lo := loopbackOnly(t).Name
	rows := []struct {
		name, family, addr string
		down               bool
	}{
		{"IPv4, lo up", "ipv4", "127.0.0.1", false},
		{"IPv6, lo up", "ipv6", "::1", false},
		{"IPv4, lo down", "ipv4", "127.0.0.1", true},
		{"IPv6, lo down", "ipv6", "::1", true},
	}
	l := newLab(t)
	// Every connection is made while lo is up: once it is down, ::1 is gone.
	for i, r := range rows {
		n := strconv.Itoa(i)
		run(t, l, "socket", "tcp", r.family, "as", "server"+n)
		run(t, l, "bind", "server"+n, r.addr, "0")
		run(t, l, "listen", "server"+n)
		run(t, l, "socket", "tcp", r.family, "as", "client"+n)
		run(t, l, "connect", "client"+n, r.addr, portOf(t, l, "server"+n))
		run(t, l, "accept", "server"+n, "as", "conn"+n)
	}
	for i, r := range rows {
		if r.down && !rows[i-1].down {
			takeLoopbackDown(t, lo)
		}
		rep := fill(t, l, "client"+strconv.Itoa(i), "--bytes", "64M", "--timeout", "200ms")
		if !rep.Unfinished {
			t.Fatalf("%s: %q; want the wait for room to time out", r.name, rep.Call)
		}
		checkNext(t, r.name, rep.Next, r.down, "sockets", lo)
		if !r.down {
			if !strings.Contains(rep.Says, "flow control") || strings.Contains(rep.Says, "loopback interface") {
				t.Errorf("%s: says %q; want flow control, and nothing of lo", r.name, rep.Says)
			}
			continue
		}
		saysLoopbackDown(t, r.name, rep.Says, lo)
		if !strings.Contains(rep.Says, "none came") || strings.Contains(rep.Says, "flow control") {
			t.Errorf("%s: says %q; want that no acknowledgement came, and nothing of flow control", r.name, rep.Says)
		}
	}
}
