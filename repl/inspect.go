package repl

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"sockstep/steps"
)

// runSockets prints the table of live sockets, each read from the kernel
// as the table is printed.
func runSockets(s *Session, _ context.Context, args []string) error {
	if len(args) > 0 {
		return &steps.UsageError{Problem: "sockets takes no arguments; `show NAME` shows one socket"}
	}
	live := s.lab.Sockets()
	if len(live) == 0 {
		text := "no sockets open: make one with `socket as server`"
		if slices.ContainsFunc(s.lab.History(), func(e steps.Event) bool { return !e.Failed }) {
			// A call succeeded, so a socket was made, and none is open now.
			text = "no sockets open: every socket of this session is closed, and `diagram` draws what they did; " +
				"make a new one with `socket as server`"
		}
		var b strings.Builder
		s.render.prose(&b, text)
		s.out.print(b.String())
		return nil
	}
	var b strings.Builder
	listeners, datagrams, finQueued, failing, shut, peerFIN := false, false, false, false, false, false
	var shown []netip.AddrPort // the addresses on screen, for mappedNote
	var rows [][]string
	for _, sock := range live {
		snap := steps.Read(sock)
		s.watcher.saw(sock, snap)
		recvQ, sendQ := "—", "—"
		if snap.QueuesKnown {
			recvQ, sendQ = fmt.Sprint(snap.RecvQ), fmt.Sprint(rawSendQ(snap))
		}
		local := "—"
		if snap.Bound() {
			local = snap.Local.String()
		}
		if snap.State == steps.Listen {
			listeners = true
		}
		datagrams = datagrams || sock.Kind == steps.Datagram
		peerFIN = peerFIN || snap.State == steps.CloseWait
		finQueued = finQueued || finSent(snap)
		calls := ready(sock, snap)
		failing = failing || calls == "error"
		shut = shut || (snap.State.SentFIN() || snap.State == steps.Closed) && strings.Contains(calls, "send")
		remote := remoteOf(sock, snap)
		rows = append(rows, []string{sock.Label(), sock.Proto(), local, steps.ShowAddr(remote), tableState(sock, snap), recvQ, sendQ, calls})
		shown = append(shown, snap.Local, remote)
	}
	r := &s.render
	r.table(&b, socketColumns, rows, [][]int{{0, 1, 4, 5, 6, 7}, {2, 3}})
	if note := mappedNote(shown); note != "" {
		r.legend(&b, note)
	}
	if listeners {
		r.legend(&b, "LISTEN n/m: n connections wait in the accept queue; m is the backlog, and Linux lets m+1 wait.")
	}
	if datagrams {
		r.legend(&b, "For UDP, RECV-Q is the size of the next datagram only (SIOCINQ); ss gives the memory of all queued datagrams instead.")
	}
	if peerFIN {
		r.legend(&b, "In CLOSE_WAIT, RECV-Q counts bytes only (SIOCINQ); `ports` and ss count the peer's FIN as 1 more, until recv has returned 0.")
	}
	if finQueued {
		r.legend(&b, "After this side's FIN, SEND-Q counts it as 1 until the peer acknowledges it.")
	}
	if shut {
		r.legend(&b, "READY send after this side's FIN (shutdown write), or once the connection is over: "+
			"send returns at once, failing with EPIPE.")
	}
	if failing {
		r.legend(&b, "READY error: an error is pending (poll's POLLERR), and no call waits: `show SOCK` tells which returns it.")
	}
	r.legend(&b, "READY: the calls that would return at once now instead of waiting. All read from the kernel now.")
	s.out.print(b.String())
	return nil
}

// socketColumns are the columns of `sockets`. Where they do not fit the
// width, each socket is a record: its name, protocol, state, queues and
// READY on a line, its addresses on the next.
var socketColumns = []column{{"SOCKET", false}, {"PROTO", false}, {"LOCAL", true}, {"REMOTE", true},
	{"STATE", false}, {"RECV-Q", true}, {"SEND-Q", true}, {"READY", true}}

// remoteOf is the peer `sockets` and `show` give a socket: for one in
// SYN_SENT, which getpeername refuses (ENOTCONN) until the handshake is
// done, the address it is connecting to. The snapshot keeps no peer for
// it, as the socket is not connected.
func remoteOf(sock *steps.Socket, snap steps.Snapshot) netip.AddrPort {
	if snap.State == steps.SynSent {
		if to, ok := steps.Destination(sock); ok {
			return to
		}
	}
	return snap.Remote
}

// legend writes a table's note, dim, wrapped to the width.
func (r *renderer) legend(b *strings.Builder, text string) {
	paintWrapped(b, text, r.width-2, "  ", "  ", r.st.dim)
}

// mappedNote says what an IPv4-mapped address is, naming the first among
// addrs, or is "" when none of them is one.
func mappedNote(addrs []netip.AddrPort) string {
	for _, a := range addrs {
		if a.Addr().Is4In6() {
			v4 := a.Addr().Unmap()
			return fmt.Sprintf("::ffff:%s is an IPv4-mapped address: the IPv4 address %s written for an IPv6 socket; packets to and from it go over IPv4.", v4, v4)
		}
	}
	return ""
}

// tableState is the state column: a listener's queue as n/m.
func tableState(sock *steps.Socket, snap steps.Snapshot) string {
	if snap.State == steps.Listen {
		return fmt.Sprintf("LISTEN %d/%d", snap.AcceptQueue, snap.Backlog)
	}
	return snap.StateWord(sock.Kind)
}

// ready names the calls that would not block now, from poll.
func ready(sock *steps.Socket, snap steps.Snapshot) string {
	var calls []string
	switch {
	case snap.State == steps.Listen:
		if snap.Readable {
			calls = append(calls, "accept")
		}
	case snap.Error && (sock.Kind == steps.Datagram || snap.State == steps.Closed):
		return "error"
	case snap.State == steps.Closed && snap.ReadShut:
		// The connection is over: recv returns 0 and send fails, at once.
		return "recv send"
	case sock.Kind == steps.Datagram || snap.Connected():
		if snap.Readable {
			calls = append(calls, "recv")
		}
		if snap.Writable {
			calls = append(calls, "send")
		}
	}
	if len(calls) == 0 {
		return "—"
	}
	return strings.Join(calls, " ")
}

// runShow prints one socket in depth, or with --states its place in
// TCP's state machine.
func runShow(s *Session, _ context.Context, args []string) error {
	args, states := takeStates(args)
	if len(args) != 1 {
		return &steps.UsageError{Problem: "show takes one socket: its name or fd number, and may take --states"}
	}
	sock, err := s.lab.Find(args[0])
	if err != nil {
		return err
	}
	if states {
		showStates(s, sock)
		return nil
	}
	snap := steps.Read(sock)
	s.watcher.saw(sock, snap)
	r := &s.render
	var b strings.Builder
	origin := "made by socket"
	if sock.AcceptedFrom != "" {
		origin = "made by accept on " + sock.AcceptedFrom
	}
	// The name, in bold, and the rest as it fits.
	label := sock.Label()
	breakInto(&b, fmt.Sprintf("  %s over %s, %s", sock.Kind, sock.Family, origin), r.width-2-utf8.RuneCountInString(label), r.width-4,
		"  "+r.st.call(label), "    ", plain, false)
	local := steps.ShowAddr(snap.Local)
	if snap.Bound() && snap.Local.Addr().IsUnspecified() {
		local += "  (every interface" + reachedOver(sock) + ")"
	} else if snap.Bound() && snap.Local.Addr().IsLoopback() {
		local += "  (this machine only)"
	} else if !snap.Bound() {
		local = "none yet"
	}
	taken := snap.Released.IsValid() && steps.PortTaken(sock.Family, steps.Stream, snap.Released)
	switch {
	case taken:
		local = fmt.Sprintf("none: the socket let go of port %d when it became CLOSED, but the port is not free:", snap.Released.Port())
	case snap.Released.IsValid():
		local = fmt.Sprintf("none: port %d went back to the kernel when the socket became CLOSED,", snap.Released.Port())
	}
	r.field(&b, "local", plain, local, false)
	switch {
	case taken:
		r.field(&b, "", plain, fmt.Sprintf("`ports %d` lists what holds it (getsockname still says %s)", snap.Released.Port(), steps.ShowAddr(snap.Released)), false)
	case snap.Released.IsValid():
		r.field(&b, "", plain, fmt.Sprintf("and another socket may take it (getsockname still says %s)", steps.ShowAddr(snap.Released)), false)
	}
	remote := remoteOf(sock, snap)
	r.field(&b, "remote", plain, steps.ShowAddr(remote), false)
	r.field(&b, "state", r.st.state, snap.StateWord(sock.Kind), false)
	shown := []netip.AddrPort{snap.Local, remote} // for mappedNote
	if snap.State == steps.Listen {
		queue := fmt.Sprintf("accept queue %d of backlog %d", snap.AcceptQueue, snap.Backlog)
		if peers := steps.WaitingPeers(snap); len(peers) > 0 {
			var who []string
			for _, p := range peers {
				who = append(who, p.String())
			}
			shown = append(shown, peers...)
			// /proc/net/tcp lists them in the order of its hash table,
			// which says nothing of the order accept takes them in.
			queue += ", from " + strings.Join(who, ", ") + " (in no particular order)"
		}
		r.field(&b, "", plain, queue, false)
	} else if snap.QueuesKnown && sock.Kind == steps.Datagram {
		next := "no datagram waiting"
		if snap.DatagramWaiting() {
			next = "the next datagram waiting is " + steps.DatagramSize(snap.RecvQ) + "; SIOCINQ gives its size, not the whole queue's"
		}
		if snap.Dropped > 0 {
			next += fmt.Sprintf("; %d dropped by the kernel instead of queued (SO_MEMINFO)", snap.Dropped)
		}
		r.field(&b, "queues", plain, fmt.Sprintf("%s; send-q %s of memory held by datagrams the network device has not sent yet (SIOCOUTQ)", next, steps.Counted(snap.SendQ, "byte")), false)
	}
	timer, timerKnown := steps.TimerOf(sock, snap, remote)
	if snap.QueuesKnown && sock.Kind == steps.Stream && snap.State != steps.Listen {
		r.field(&b, "queues", plain, fmt.Sprintf("recv-q %s not yet read by recv; send-q %s", steps.Counted(snap.RecvQ, "byte"), unacknowledged(snap)), false)
		if snap.NotSent > 0 || steps.FINHeld(snap.State, snap.NotSent, timer) {
			r.field(&b, "", plain, "of the send-q, "+notSent(snap)+" (TCP_INFO)"+stalled(snap, timer), false)
		}
	}
	if says := timerSays(timer); says != "" {
		r.field(&b, "timer", plain, says, false)
	}
	if timer.Resent > 0 {
		r.field(&b, "resent", plain, fmt.Sprintf("TCP has sent %s again over this connection, each because the peer had not acknowledged it (TCP_INFO)",
			steps.Counted(timer.Resent, "segment")), false)
	}
	r.field(&b, "blocks?", plain, wouldBlock(sock, snap), false)
	switch {
	case snap.PeerClosed():
		r.field(&b, "peer", plain, "has closed its side: recv returns 0 bytes once the queue is read", false)
	case snap.ReadShut && snap.State != steps.Closed && sock.Kind == steps.Stream:
		r.field(&b, "reading", plain, "shut down on this side (SHUT_RD): recv returns 0 bytes whenever the queue is empty", false)
	}
	mode := "blocking (calls wait)"
	if snap.NonBlocking {
		mode = "non-blocking (calls return EAGAIN instead of waiting)"
	}
	r.field(&b, "mode", plain, mode, false)
	if note := mappedNote(shown); note != "" {
		r.legend(&b, note)
	}
	r.legend(&b, steps.KernelNote(snap, timerKnown))
	s.out.print(b.String())
	return nil
}

// reachedOver says, for a socket bound to every interface, which IP it
// takes packets over when that is not its family alone: an IPv6 socket
// bound to :: takes IPv4 too, unless IPV6_V6ONLY is on.
func reachedOver(sock *steps.Socket) string {
	on, known := steps.OptionOn(sock, "IPV6_V6ONLY")
	switch {
	case !known:
		return ""
	case on:
		return ", IPv6 only: IPV6_V6ONLY is on"
	}
	return ", IPv4 too: IPV6_V6ONLY is off"
}

// wouldBlock says, call by call, whether it would wait now. A
// non-blocking socket never waits: where a blocking one would, its call
// fails with EAGAIN.
func wouldBlock(sock *steps.Socket, snap steps.Snapshot) string {
	yesNo := func(call string, ready bool) string {
		switch {
		case ready:
			return call + ": no"
		case snap.NonBlocking:
			return call + ": would fail with EAGAIN"
		}
		return call + ": would wait"
	}
	switch {
	case snap.State == steps.Listen:
		return yesNo("accept", snap.Readable)
	case snap.Error && sock.Kind == steps.Datagram:
		return "an error is pending (poll's POLLERR): the next recv or send fails with it at once"
	case sock.Kind == steps.Datagram || snap.Connected():
		send := yesNo("send", snap.Writable)
		switch {
		case snap.State.SentFIN():
			send = "send: fails with EPIPE at once (this side has sent its FIN: shutdown write)"
		case snap.PollNotWritable:
			send += ", though poll and select call it not writable until a third of the send buffer is free"
		case !snap.Writable && sock.Kind == steps.Stream:
			// Bytes may still join the last segment queued, which has not
			// left and is not yet as large as TCP makes them.
			send += ": the send buffer is full (a few bytes may still fit in the last segment queued)"
		}
		return yesNo("recv", snap.Readable) + "   " + send
	case snap.State == steps.Closed && snap.Error:
		return "no call waits, and an error is pending (poll's POLLERR): recv returns the bytes still queued, " +
			"then 0 if the peer's FIN had come, else the error; send fails with the error"
	case snap.State == steps.Closed && snap.ReadShut:
		return "the connection is over: recv returns 0 bytes at once, send fails with EPIPE"
	case snap.State == steps.SynSent && snap.NonBlocking:
		return "the handshake is not finished: recv and send would fail with EAGAIN; accept fails with EINVAL at once (not a listener)"
	case snap.State == steps.SynSent:
		return "the handshake is not finished: recv and send would wait until it is; accept fails with EINVAL at once (not a listener)"
	}
	return "not connected: accept, recv and send would fail at once"
}

// unacknowledged explains a TCP socket's send-q: the kernel's count
// (rawSendQ), and what is in it.
func unacknowledged(snap steps.Snapshot) string {
	switch {
	case !finSent(snap):
		return steps.Counted(snap.SendQ, "byte") + " not yet acknowledged by the peer"
	case snap.SendQ == 0:
		return "1: the FIN, not yet acknowledged by the peer"
	}
	return fmt.Sprintf("%d: %s and the FIN, not yet acknowledged by the peer", rawSendQ(snap), steps.Counted(snap.SendQ, "byte"))
}

// rawSendQ is a TCP socket's send-q as the kernel counts it (SIOCOUTQ,
// ss's Send-Q): the Snapshot counts bytes only, and once this side has
// sent its FIN (finSent), the kernel counts the FIN as 1 more until the
// peer acknowledges it, since a FIN takes one sequence number.
func rawSendQ(snap steps.Snapshot) int {
	if finSent(snap) {
		return snap.SendQ + 1
	}
	return snap.SendQ
}

// finSent says whether this side has sent a FIN that may still wait for
// its acknowledgement.
func finSent(snap steps.Snapshot) bool {
	return snap.State == steps.FinWait1 || snap.State == steps.Closing || snap.State == steps.LastAck
}

// notSent says how much of a TCP socket's send queue TCP has not sent.
// Once this side has closed or shut down writing, the FIN goes after the
// last byte: while bytes wait, it waits too, and with none waiting, it is
// not sent only while the kernel holds it back (steps.FINHeld).
func notSent(snap steps.Snapshot) string {
	switch {
	case !finSent(snap):
		return steps.Counted(snap.NotSent, "byte") + " not yet sent"
	case snap.NotSent == 0:
		return "the FIN not yet sent"
	}
	return steps.Counted(snap.NotSent, "byte") + " not yet sent, and the FIN after them"
}

// stalled says why TCP holds back bytes it has not sent: a zero window
// the peer advertised, which the persist timer probes; segments sent and
// not acknowledged, which the retransmission timer sends again, each time
// after twice the wait; or what is in flight filling the peer's window.
func stalled(snap steps.Snapshot, t steps.Timer) string {
	switch steps.StallOf(snap, t) {
	case steps.WindowClosed:
		return ": the peer advertised a zero window, no room at all, until it reads (the persist timer below)"
	case steps.Resending:
		full := ""
		if snap.PeerWindowFull {
			full = ", and the peer's receive window is full"
		}
		return ": a segment went unacknowledged, and TCP sends nothing new while it sends that again (the retransmission timer below)" + full
	case steps.WindowFull:
		return ": the bytes in flight fill the peer's receive window; TCP sends more as the peer's kernel acknowledges them and makes room, which, once the peer's receive buffer is full, takes its recv"
	}
	return ""
}

// timerSays explains the timer the kernel runs for a TCP connection, as
// `ss -o` shows it, in plain words; "" when none runs.
func timerSays(t steps.Timer) string {
	in := fmt.Sprintf("%d ms", t.Expires.Milliseconds())
	if t.Expires >= 10*time.Second {
		in = fmt.Sprintf("%d s", int(t.Expires.Seconds()))
	}
	switch t.Kind {
	case steps.RetransmitTimer:
		says := "retransmission (ss: on), fires in " + in + ": unless the peer acknowledges what is in flight before, " +
			"TCP then sends again the oldest segment not acknowledged"
		if t.Count > 0 {
			says += fmt.Sprintf("; it has done so %s already", steps.Counted(t.Count, "time"))
		}
		switch {
		case t.Backoff > 0 && t.Count > t.Backoff:
			// Linux keeps the wait the same for a SYN's first few resends
			// (net.ipv4.tcp_syn_linear_timeouts), and doubles it after.
			says += fmt.Sprintf("; the wait stayed the same for the first %d of them, then doubled %s (backoff %d): it is now %d ms (RTO)",
				t.Count-t.Backoff, steps.Counted(t.Backoff, "time"), t.Backoff, t.RTO.Milliseconds())
		case t.Backoff > 0:
			says += fmt.Sprintf("; the wait doubles each time: doubled %s (backoff %d), it is now %d ms (RTO)",
				steps.Counted(t.Backoff, "time"), t.Backoff, t.RTO.Milliseconds())
		}
		return says
	case steps.PersistTimer:
		says := "zero-window probe (ss: persist), fires in " + in + ": the peer offers no room, so TCP sends no data " +
			"but, when this timer fires, a probe the peer must answer with the room it has"
		if t.Backoff > 0 {
			says += fmt.Sprintf("; the wait doubles after each probe (backoff %d)", t.Backoff)
		}
		return says
	case steps.KeepaliveTimer:
		says := "keepalive (ss: keepalive), fires in " + in + ": if the connection is still idle then, nothing in flight and nothing from the peer, " +
			"TCP sends a keepalive probe, an empty segment the peer's kernel must acknowledge, to learn whether the peer is still there"
		if t.Count > 0 {
			says += fmt.Sprintf("; %s unanswered so far", steps.Counted(t.Count, "probe"))
		}
		return says
	}
	return ""
}
