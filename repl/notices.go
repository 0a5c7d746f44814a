package repl

import (
	"fmt"
	"strings"
	"sync"

	"sockstep/steps"
)

// watchInterval is how often the interactive shell looks for news while
// the learner sits at the prompt.
const watchInterval = 250 // milliseconds

// A watcher notices, without consuming anything, when a listener has a
// connection waiting (and when its queue is full), when a handshake under
// way finishes or fails, when data arrives or a datagram is dropped, and
// when a peer closes or resets, and says so once per change.
type watcher struct {
	mu   sync.Mutex
	seen map[*steps.Socket]seen
}

// seen is what was last said about one socket, or shown of its receive
// queue since (a report's state line, sockets, show).
type seen struct {
	queue, recvQ int
	datagram     bool // a datagram waits
	memory       int  // the memory the queued datagrams take
	dropped      int  // datagrams the kernel dropped, its receive buffer full
	state        steps.TCPState
	peerClosed   bool
	// bothShut: this side had shut down reading and writing while the
	// peer had not closed, so Linux resets the connection if data comes.
	bothShut bool
}

func newWatcher() *watcher { return &watcher{seen: map[*steps.Socket]seen{}} }

// saw records that the learner was shown sock as snap holds it: its
// receive queue, or a listener's accept queue, and its state (a peer's
// FIN, a reset), so that a notice tells only of what comes after.
func (w *watcher) saw(sock *steps.Socket, snap steps.Snapshot) {
	if !snap.QueuesKnown && !(snap.FromKernel && snap.State == steps.Listen) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen[sock] = seenOf(sock, snap)
}

// seenOf is what snap shows of a socket.
func seenOf(sock *steps.Socket, snap steps.Snapshot) seen {
	return seen{queue: snap.AcceptQueue, recvQ: snap.RecvQ, datagram: snap.DatagramWaiting(), memory: snap.QueueMemory, dropped: snap.Dropped, state: snap.State, peerClosed: snap.PeerClosed(),
		bothShut: sock.ResetsOnData(snap.State)}
}

// sawReport records the queues a step's report showed: of the socket it
// was made on (the call's result), and of the peer a send reached or the
// listener a connect reached. A recv that leaves bytes queued, or a send
// whose report shows them in the peer's queue, is not followed by news
// of them.
func (w *watcher) sawReport(rep *steps.Report) {
	if rep.Stopped {
		return
	}
	for _, c := range rep.State {
		if c.Queue != nil {
			w.saw(c.Queue.Socket, c.Queue.Snapshot)
		}
	}
}

// check reads every live socket and returns a line for each change worth
// telling; with suggest, the line for bytes that arrived names the recv
// that reads them.
func (w *watcher) check(lab *steps.Lab, suggest bool) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var notes []string
	alive := map[*steps.Socket]bool{}
	lab.Watch(func(live []*steps.Socket) {
		for _, sock := range live {
			alive[sock] = true
			snap := steps.Read(sock)
			notes = append(notes, w.news(sock, snap, suggest)...)
		}
	})
	for sock := range w.seen {
		if !alive[sock] {
			delete(w.seen, sock)
		}
	}
	return notes
}

func (w *watcher) news(sock *steps.Socket, snap steps.Snapshot, suggest bool) []string {
	was, known := w.seen[sock]
	now := seenOf(sock, snap)
	w.seen[sock] = now
	if !known {
		was = seen{state: snap.State}
	}
	var notes []string
	say := func(format string, a ...any) {
		notes = append(notes, sock.Label()+": "+fmt.Sprintf(format, a...))
	}
	switch {
	case snap.State == steps.Listen && now.queue > was.queue:
		from := ""
		if peers := steps.WaitingPeers(snap); len(peers) > 0 {
			var who []string
			for _, p := range peers {
				who = append(who, p.String())
			}
			from = " (from " + strings.Join(who, ", ") + ")"
			if len(peers) < now.queue {
				// A connection reset in the queue is in no table but its count.
				from = fmt.Sprintf(" (%d of them from %s)", len(peers), strings.Join(who, ", "))
			}
		}
		if now.queue > snap.Backlog {
			// Linux lets one more than the backlog wait (listen.txt).
			from += fmt.Sprintf("; the queue is full (backlog %d): the kernel ignores the SYNs of new clients, "+
				"whose handshakes wait until `accept %s` makes room", snap.Backlog, sock.Name)
		}
		if now.queue == 1 {
			say("a connection is waiting to be accepted%s", from)
		} else {
			say("%d connections are waiting to be accepted%s", now.queue, from)
		}
	case was.state == steps.SynSent && snap.State == steps.Established:
		say("the handshake has finished: %s is connected to %s (ESTABLISHED), and send and recv work on it now", sock.Name, steps.ShowAddr(snap.Remote))
	case was.state == steps.SynSent && snap.State == steps.Closed && snap.Error:
		// The error stays pending until a call takes it, which names it:
		// reading it (SO_ERROR) here would take it.
		say("the handshake failed: the connection attempt is over (CLOSED), and the next call on %s fails with the reason, such as "+
			"ECONNREFUSED (the server's kernel answered with a reset) or ETIMEDOUT (nothing answered)", sock.Name)
	case wasConnected(was.state) && snap.State == steps.Closed:
		// Only a reset leaves an error pending (poll's POLLERR). Linux
		// records EPIPE for a reset that comes after the peer's FIN, and
		// recv then keeps returning 0; before it, ECONNRESET. Without an
		// error, both sides closed, or a call has reported the reset
		// already: either way nothing more will come.
		switch {
		case snap.Error && was.bothShut:
			say("the connection was reset (RST): this side had shut down both directions, and Linux resets such a connection when the peer sends more (or the peer aborted); the next call on it fails with ECONNRESET, after that recv %s returns 0 bytes and send fails with EPIPE", sock.Name)
		case snap.Error && was.peerClosed:
			say("the peer's kernel answered with a reset (RST): the connection is over; recv %s returns what is queued, then 0 bytes, and send fails with EPIPE", sock.Name)
		case snap.Error:
			say("the peer reset the connection (RST): the next call on it fails with ECONNRESET (a recv returns what is queued first); after that recv %s returns 0 bytes and send fails with EPIPE", sock.Name)
		default:
			say(connectionOver, sock.Name)
		}
	case (was.state == steps.LastAck || was.state == steps.Closing) && snap.State == steps.Closed && !snap.Error:
		// Both sides had sent their FIN; this side's, perhaps held back
		// by the peer's closed window, was still to be acknowledged.
		say("the peer acknowledged this side's FIN: "+connectionOver, sock.Name)
	}
	switch {
	case sock.Kind == steps.Datagram:
		// For UDP the kernel reports only the next datagram's size, which
		// also grows when a recv leaves a larger one next: a queue that
		// was not empty grew if the memory its datagrams take did. How
		// many came is not known: the memory counts each datagram's
		// buffer, whose size is not the payload's.
		switch {
		case now.datagram && !was.datagram:
			next := steps.DatagramSize(now.recvQ)
			say("at least one datagram has arrived; the next is %s: each recvfrom %s reads one datagram", next, sock.Name)
		case now.datagram && now.memory > was.memory:
			// Only datagrams that join the queue make its memory grow.
			say("at least one more datagram has arrived, behind the next one: each recvfrom %s reads one datagram", sock.Name)
		}
		if n := now.dropped - was.dropped; n > 0 {
			say("the kernel dropped %s instead of queueing: those waiting fill the receive buffer (SO_RCVBUF), "+
				"and UDP tells no one, the sender neither", steps.Counted(n, "datagram"))
		}
	case snap.State != steps.Listen && now.recvQ > was.recvQ:
		// Bytes were waiting already: tell what came, and what waits.
		came := "1 byte has arrived"
		switch n := now.recvQ - was.recvQ; {
		case was.recvQ > 0 && n == 1:
			came = fmt.Sprintf("1 more byte has arrived, %d in all wait", now.recvQ)
		case was.recvQ > 0:
			came = fmt.Sprintf("%d more bytes have arrived, %d in all wait", n, now.recvQ)
		case n > 1:
			came = fmt.Sprintf("%d bytes have arrived", n)
		}
		switch {
		case !suggest: // a lesson's page says what to call next
		case now.recvQ == 1:
			came += ": recv " + sock.Name + " reads it"
		default:
			came += ": recv " + sock.Name + " reads them"
		}
		say("%s", came)
	}
	if now.peerClosed && !was.peerClosed && snap.State != steps.Closed && sock.Kind == steps.Stream {
		say("the peer closed its side: recv %s returns 0 bytes once the queue is read", sock.Name)
	}
	return notes
}

// connectionOver is the notice of a connection that ended with no
// reset, for the socket it names.
const connectionOver = "the connection is over (CLOSED): recv %s returns 0 bytes once what is queued is read, and send fails with EPIPE"

// wasConnected says whether a socket in state s had a connection that a
// reset could end, and whose end to CLOSED a notice tells.
func wasConnected(s steps.TCPState) bool {
	return s == steps.Established || s == steps.CloseWait || s == steps.FinWait1 || s == steps.FinWait2
}

// PrintNotices writes a line for each change since the last look,
// wrapped to the width under its first word.
func (s *Session) PrintNotices() {
	for _, n := range s.watcher.check(s.lab, s.render.suggests()) {
		var b strings.Builder
		paintWrapped(&b, n, s.render.width-2, "· ", "  ", s.render.st.notice)
		s.out.print(b.String())
	}
}
