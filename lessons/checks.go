package lessons

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"sockstep/auto"
	"sockstep/repl"
	"sockstep/steps"
)

// A Check is one `check:` line of a lesson: a named test of the live state,
// with its argument. A step is done when all its checks pass.
type Check struct {
	def  *checkDef
	Op   string // a count's comparison: ">=", "==" or "<="
	N    int    // a count's number
	Word string // a word's argument: an errno, a command, a side
	Side string // a wordArg check's second word, from its def's sides
}

func (c Check) String() string {
	switch c.def.arg {
	case countArg:
		return strings.Join(strings.Fields(fmt.Sprintf("%s %s %s %d", c.def.name, c.Word, c.Op, c.N)), " ")
	case wordArg:
		return strings.Join(strings.Fields(c.def.name+" "+c.Word+" "+c.Side), " ")
	}
	return c.def.name
}

// What a check's name is followed by.
type argKind int

const (
	noArg    argKind = iota
	countArg         // a comparison: `accept-queue >= 1`; alone, it means >= 1; a word from words may come first
	wordArg          // a word: `failed ECONNREFUSED`
)

// A checkDef is one named check: what it takes and how it judges.
type checkDef struct {
	name string
	arg  argKind
	// words are the words a wordArg check takes, or a countArg check
	// before its comparison; "" among them means the word may be left
	// out. A nil list takes what valid says.
	words []string
	valid func(word string) error
	// sides are the words a wordArg check may take after its word.
	sides []string
	judge func(w *world, c Check) verdict
	// A count of the lesson's state (countCheck) has what it is called,
	// what to do for one more, and how it is measured.
	subject, more string
	measure       func(w *world) (int, string)
}

// A verdict is a check's answer: whether it passed, and a sentence that
// says what was seen, or what is missing and how to get it.
type verdict struct {
	ok   bool
	text string
	// stuck says that the step's answer cannot reach the goal from here:
	// what the text says to do comes first.
	stuck bool
}

// A world is what checks look at: the lesson's sockets read from the
// kernel now, what the learner's last command did, and what the lesson
// remembers of its connections.
type world struct {
	sockets    []live
	last       repl.Evaluation
	memory     *memory
	knows      func(command string) bool
	kernel     []steps.Connection // the kernel's table of TCP connections, read once when needed
	kernelRead bool
}

// live is one socket of the lesson and what the kernel says of it now.
type live struct {
	sock *steps.Socket
	snap steps.Snapshot
}

// connections reads /proc/net/tcp and tcp6 once per judgement.
func (w *world) connections() []steps.Connection {
	if !w.kernelRead {
		w.kernel, _ = steps.Connections()
		w.kernelRead = true
	}
	return w.kernel
}

// memory is what a lesson remembers of its sockets between commands:
// which were connected, the two ends of each connection (to find it in the
// kernel's table after its sockets are closed), the ports its listeners
// had, and its UDP sockets.
type memory struct {
	wasConnected map[*steps.Socket]bool
	ends         []ends
	listenPorts  []uint16
	// listenBound are the sockets that had no address when listen ran on
	// them: the kernel bound them to every interface and a port it chose.
	listenBound map[*steps.Socket]bool
	lastPort    uint16 // the port a listener of the lesson, or auto's server, had last
	// sent are the bytes the learner's `send` commands handed to the
	// kernel on each socket, in order.
	sent map[*steps.Socket][]byte
	// udp are the lesson's UDP sockets in the order they were made, each
	// with the port it has or had last: kept once closed, unless its port
	// is not settled. A socket made with the name of a closed one takes its
	// place: the answer that closes a socket and makes it again makes the
	// same socket of the lesson.
	udp []udpSocket
	// named are the names the lesson's sockets have had.
	named map[string]bool
}

type ends struct{ local, remote netip.AddrPort }

type udpSocket struct {
	sock *steps.Socket
	port uint16
	// settled says that port is the one the lesson goes on with: bind
	// gave it, or a step was done with the socket there. A port the
	// kernel chose at a first sendto is not, until a step is done: before,
	// the lesson still asks for the port it chose.
	settled bool
}

func newMemory() *memory {
	return &memory{wasConnected: map[*steps.Socket]bool{}, sent: map[*steps.Socket][]byte{}, listenBound: map[*steps.Socket]bool{}, named: map[string]bool{}}
}

// remember notes what the lesson's sockets are now.
func (m *memory) remember(sockets []live) {
	m.rememberUDP(sockets)
	for _, s := range sockets {
		m.named[s.sock.Name] = true
		if s.snap.State == steps.Listen {
			m.lastPort = s.snap.Local.Port()
			if !m.isListenPort(m.lastPort) {
				m.listenPorts = append(m.listenPorts, m.lastPort)
			}
		}
		if s.sock.Kind != steps.Stream || !s.snap.Connected() {
			continue
		}
		m.wasConnected[s.sock] = true
		e := ends{s.snap.Local, s.snap.Remote}
		known := false
		for _, k := range m.ends {
			known = known || (steps.SameEnd(k.local, e.local) && steps.SameEnd(k.remote, e.remote))
		}
		if !known {
			m.ends = append(m.ends, e)
		}
	}
}

// rememberUDP notes the lesson's UDP sockets and their ports, and forgets
// those closed without ever having had a port.
func (m *memory) rememberUDP(sockets []live) {
	open := map[*steps.Socket]bool{}
	for _, s := range sockets {
		open[s.sock] = true
	}
	for _, s := range sockets {
		if s.sock.Kind != steps.Datagram {
			continue
		}
		i := slices.IndexFunc(m.udp, func(u udpSocket) bool { return u.sock == s.sock })
		if i < 0 {
			i = slices.IndexFunc(m.udp, func(u udpSocket) bool { return u.sock.Name == s.sock.Name && !open[u.sock] })
		}
		if i < 0 {
			i = len(m.udp)
			m.udp = append(m.udp, udpSocket{})
		}
		m.udp[i].sock = s.sock
		if port := s.snap.Local.Port(); s.snap.Bound() && port != m.udp[i].port {
			m.udp[i].port, m.udp[i].settled = port, false
		}
	}
	m.udp = slices.DeleteFunc(m.udp, func(u udpSocket) bool { return !open[u.sock] && !u.settled })
}

// settleUDP settles the ports of the lesson's UDP sockets that have one:
// those a bind gave the socket called bound, or all when bound is "".
func (m *memory) settleUDP(bound string) {
	for i, u := range m.udp {
		if u.port != 0 && (bound == "" || u.sock.Name == bound) {
			m.udp[i].settled = true
		}
	}
}

// rememberAuto notes the port where a server of auto (server or demo)
// listened, once it has run: auto's sockets are not the lesson's, so
// its command line says the port. Port 0 let the kernel choose one, which
// the line does not say.
func (m *memory) rememberAuto(e repl.Evaluation) {
	if e.Command != "auto" || e.Err != nil {
		return
	}
	words, err := repl.SplitWords(e.Line)
	if err != nil {
		return
	}
	plan, err := auto.Parse(words[1:])
	if err != nil || (plan.Play != "server" && plan.Play != "demo") || plan.Port == 0 {
		return
	}
	m.lastPort = uint16(plan.Port)
}

// rememberSent notes the text a `send` handed to the kernel, up to
// maxRemembered bytes a socket.
func (m *memory) rememberSent(w *world, e repl.Evaluation) {
	rep := e.Report
	if e.Command != "send" || rep == nil || len(rep.SentText) == 0 {
		return
	}
	if s := w.calledOn(rep); s != nil {
		m.sent[s] = append(m.sent[s], rep.SentText[:min(len(rep.SentText), maxRemembered-len(m.sent[s]))]...)
	}
}

// maxRemembered bounds what a lesson keeps of the text sent on a socket:
// far more than a response head.
const maxRemembered = 64 << 10

func (m *memory) isListenPort(port uint16) bool {
	for _, p := range m.listenPorts {
		if p == port {
			return true
		}
	}
	return false
}

// checks are the checks lesson files can name, in the order the README
// lists them.
var checks = []*checkDef{
	countCheck("sockets", "Sockets open in this lesson",
		"`socket` makes one.", "`close` gives one back to the kernel.",
		func(w *world) (int, string) {
			return len(w.sockets), "This lesson's sockets: " + labels(w.sockets) + "."
		}),
	{name: "bound", arg: wordArg, words: []string{"", "every", "loopback", "udp-loopback"}, judge: judgeBound},
	countCheck("listening", "Sockets of this lesson that listen",
		"A socket listens once `bind` has given it an address and `listen` has opened its accept queue.",
		"`close` closes a listener; its port is then free.",
		func(w *world) (int, string) {
			var seen []string
			for _, s := range w.sockets {
				switch {
				case s.snap.State != steps.Listen:
				case w.memory.listenBound[s.sock]:
					seen = append(seen, fmt.Sprintf("%s is listening on %s: it had no address, so listen bound it to every interface and a port the kernel chose, which is legal; a client must be told that port, and this lesson goes on with port %d", s.sock.Label(), s.snap.Local, s.snap.Local.Port()))
				default:
					seen = append(seen, fmt.Sprintf("%s is listening on %s", s.sock.Label(), s.snap.Local))
				}
			}
			return len(seen), sentence(seen, "No socket of this lesson listens.")
		}),
	countCheck("accept-queue", "Connections waiting in a listener's accept queue",
		"A connection waits there once a client's `connect` to the listener's port has finished the handshake, until `accept` takes it.",
		"`accept LISTENER` takes the next one off the queue.",
		func(w *world) (int, string) {
			most, seen := 0, []string{}
			for _, s := range w.sockets {
				if s.snap.State == steps.Listen {
					most = max(most, s.snap.AcceptQueue)
					seen = append(seen, fmt.Sprintf("%s has %d of %d in its accept queue", s.sock.Label(), s.snap.AcceptQueue, s.snap.Backlog))
				}
			}
			return most, sentence(seen, "No socket of this lesson listens, so no connection can wait for accept.")
		}),
	countCheck("connected", "Client sockets of this lesson connected to a server",
		"`connect SOCK 127.0.0.1 PORT` connects one to a port where a socket listens.",
		"`close` closes one.",
		func(w *world) (int, string) {
			var seen []string
			for _, s := range w.sockets {
				if s.sock.AcceptedFrom == "" && s.sock.Kind == steps.Stream && s.snap.Connected() {
					seen = append(seen, fmt.Sprintf("%s is connected from %s to %s (%s)", s.sock.Label(), s.snap.Local, s.snap.Remote, s.snap.State))
				}
			}
			return len(seen), sentence(seen, "No client socket of this lesson is connected.")
		}),
	countCheck("accepted", "Sockets made by accept and still open",
		"`accept LISTENER` takes the next connection off the listener's accept queue and makes a socket for it.",
		"`close` closes one.",
		func(w *world) (int, string) {
			var seen []string
			for _, s := range w.sockets {
				if s.sock.AcceptedFrom != "" {
					seen = append(seen, fmt.Sprintf("%s, made by accept on %s, talks to %s", s.sock.Label(), s.sock.AcceptedFrom, steps.ShowAddr(s.snap.Remote)))
				}
			}
			return len(seen), sentence(seen, "No socket made by accept is open.")
		}),
	{name: "recv-queue", arg: countArg, words: []string{"", "client", "accepted", "first-udp"}, judge: judgeRecvQueue},
	countCheck("rcvbuf", "The smallest receive buffer (SO_RCVBUF) of this lesson's sockets, in bytes",
		"`option SOCK SO_RCVBUF BYTES` asks the kernel for a bigger one; Linux keeps twice what you ask, within its limits.",
		"`option SOCK SO_RCVBUF BYTES` asks the kernel for a smaller one; Linux keeps twice what you ask, within its limits.",
		func(w *world) (int, string) {
			least, seen := 0, "This lesson has no socket."
			for _, s := range w.sockets {
				size, err := unix.GetsockoptInt(s.sock.FD, unix.SOL_SOCKET, unix.SO_RCVBUF)
				if err == nil && (least == 0 || size < least) {
					least, seen = size, fmt.Sprintf("%s has a receive buffer of %d bytes (SO_RCVBUF, read with getsockopt).", s.sock.Label(), size)
				}
			}
			return least, seen
		}),
	{name: "received", arg: countArg, words: []string{"", "second-udp"}, judge: judgeReceived},
	{name: "sent-nowhere", arg: noArg, judge: judgeSentNowhere},
	{name: "sent-http", arg: noArg, judge: judgeSentHTTP},
	{name: "peer-closed", arg: wordArg, words: []string{"", "client", "accepted"}, judge: judgePeerClosed},
	{name: "time-wait", arg: wordArg, words: []string{"", "server", "client"}, judge: judgeTimeWait},
	{name: "reset", arg: noArg, judge: judgeReset},
	{name: "failed", arg: wordArg, valid: validErrno, judge: judgeFailed},
	{name: "ran", arg: wordArg, valid: validCommand, judge: judgeRan},
	{name: "option", arg: wordArg, valid: validOption, sides: []string{"unbound", "accepted"}, judge: judgeOption},
}

// countCheck makes a check of a number the lesson's state has: how it is
// named in sentences, what to do for more or for fewer, and how to measure
// it (with a sentence saying what was seen).
func countCheck(name, subject, more, fewer string, measure func(w *world) (int, string)) *checkDef {
	return &checkDef{name: name, arg: countArg, subject: subject, more: more, measure: measure, judge: func(w *world, c Check) verdict {
		have, seen := measure(w)
		if compare(have, c.Op, c.N) {
			return verdict{ok: true, text: seen}
		}
		advice := more
		if have > c.N {
			advice = seen + " " + fewer
		}
		return verdict{ok: false, text: fmt.Sprintf("%s: %d, and this step wants %s. %s", subject, have, wants(c.Op, c.N), advice)}
	}}
}

func compare(have int, op string, n int) bool {
	switch op {
	case "==":
		return have == n
	case "<=":
		return have <= n
	}
	return have >= n
}

// wants says a comparison in words: "at least 2".
func wants(op string, n int) string {
	switch op {
	case "==":
		return fmt.Sprintf("exactly %d", n)
	case "<=":
		return fmt.Sprintf("at most %d", n)
	}
	return fmt.Sprintf("at least %d", n)
}

func labels(sockets []live) string {
	var names []string
	for _, s := range sockets {
		names = append(names, s.sock.Label())
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// sentence joins what was seen into one sentence, or says none.
func sentence(seen []string, none string) string {
	if len(seen) == 0 {
		return none
	}
	return strings.Join(seen, "; ") + "."
}

func judgeBound(w *world, c Check) verdict {
	for _, s := range w.sockets {
		addr := s.snap.Local.Addr()
		udp := c.Word == "udp-loopback"
		if !s.snap.Bound() || (c.Word == "every" && !addr.IsUnspecified()) || ((c.Word == "loopback" || udp) && !addr.IsLoopback()) ||
			(udp && s.sock.Kind != steps.Datagram) {
			continue
		}
		who := s.sock.Label()
		if udp {
			who += ", a UDP socket,"
		}
		where := ""
		switch {
		case addr.IsUnspecified():
			where = ": every interface"
		case addr.IsLoopback():
			where = ": the loopback address, this machine only"
		}
		return verdict{ok: true, text: fmt.Sprintf("%s has the address %s%s.", who, s.snap.Local, where)}
	}
	var bound, free []string
	for _, s := range w.sockets {
		switch {
		case s.snap.Bound():
			bound = append(bound, fmt.Sprintf("%s has %s", s.sock.Label(), s.snap.Local))
		case c.Word != "udp-loopback" || s.sock.Kind == steps.Datagram:
			free = append(free, s.sock.Label())
		}
	}
	once := ""
	switch {
	case len(free) > 0: // the learner made the socket to bind: that is the way on
		once = " " + strings.Join(free, ", ") + " has no address yet: bind it."
		if len(free) > 1 {
			once = " " + strings.Join(free, ", ") + " have no address yet: bind one of them."
		}
	case len(bound) > 0:
		once = " " + strings.Join(bound, "; ") + ": a socket keeps its first address until it is closed, and bind on it again fails, so bind a socket that has none (`socket` makes one)."
	}
	switch c.Word {
	case "every":
		return verdict{ok: false, text: "No socket of this lesson is bound to every interface. `bind SOCK \"\" PORT` binds one there: \"\" (or * or any) means every interface." + once}
	case "loopback":
		return verdict{ok: false, text: "No socket of this lesson is bound to the loopback address. `bind SOCK 127.0.0.1 PORT` binds one there." + once}
	case "udp-loopback":
		return verdict{ok: false, text: "No UDP socket of this lesson is bound to the loopback address. `socket udp as NAME` makes a UDP socket, and `bind NAME 127.0.0.1 PORT` gives it its address." + once}
	}
	return verdict{ok: false, text: "No socket of this lesson has an address yet. `bind SOCK HOST PORT` gives one an address."}
}

// judgeRecvQueue counts the bytes waiting in the fullest receive queue of
// the lesson's sockets; with a side, of its client sockets (made by
// socket), of those made by accept, or of its first UDP socket only, so
// that bytes sent the other way do not count. With the client or the
// accepted side, a queue that wants more bytes when no socket of that
// side has a peer that can still send is stuck.
func judgeRecvQueue(w *world, c Check) verdict {
	most, seen, elsewhere := 0, []string{}, []string{}
	for _, s := range w.sockets {
		if !s.snap.QueuesKnown || s.snap.RecvQ == 0 {
			continue
		}
		waiting := fmt.Sprintf("%s has %d bytes waiting in its receive queue", s.sock.Label(), s.snap.RecvQ)
		if !onSide(w, s.sock, c.Word) {
			elsewhere = append(elsewhere, waiting)
			continue
		}
		most = max(most, s.snap.RecvQ)
		seen = append(seen, waiting)
	}
	if compare(most, c.Op, c.N) {
		return verdict{ok: true, text: sentence(seen, "No bytes wait in any receive queue of this lesson.")}
	}
	if name := sideNames[c.Word]; name != "" && most < c.N && !slices.ContainsFunc(w.sockets, func(s live) bool {
		return s.sock.Kind == steps.Stream && onSide(w, s.sock, c.Word) && (s.snap.State == steps.Established || s.snap.State.WriteShut())
	}) {
		return verdict{ok: false, stuck: true, text: fmt.Sprintf("No %s of this lesson can receive more bytes: none has a connection whose other end can still send (ESTABLISHED, or FIN_WAIT after its own shutdown). "+
			"A connection whose end has closed cannot be opened again: make a new one (socket, connect, accept), or `reset` starts the lesson again.", name)}
	}
	subject, more := "Bytes waiting in the fullest receive queue of this lesson",
		"Bytes arrive in a socket's receive queue when the other end of its connection calls `send`, and wait there until `recv` reads them."
	switch c.Word {
	case "client":
		subject, more = "Bytes waiting in the receive queue of a client socket (made by socket, not accept)",
			"Bytes arrive there when the socket accept made for that client calls `send`."
	case "accepted":
		subject, more = "Bytes waiting in the receive queue of a socket made by accept",
			"Bytes arrive there when its client calls `send` on its own socket."
	case "first-udp":
		subject, more = "Bytes waiting in the receive queue of this lesson's first UDP socket",
			"A datagram arrives there when another socket sends it to that socket's address with `sendto`."
		if len(w.memory.udp) > 0 {
			subject += ", " + w.memory.udp[0].sock.Label()
		}
	}
	if most > c.N {
		more = "`recv SOCK` reads them out of the queue."
	}
	text := fmt.Sprintf("%s: %d, and this step wants %s. %s", subject, most, wants(c.Op, c.N), more)
	if len(elsewhere) > 0 {
		text += " Now " + sentence(elsewhere, "")
	}
	return verdict{ok: false, text: text}
}

// onSide says whether a socket is on the side a check names: "" is
// every socket, "client" one made by socket, "accepted" one made by
// accept, "first-udp" the first UDP socket the lesson made.
func onSide(w *world, s *steps.Socket, side string) bool {
	switch side {
	case "client":
		return s.AcceptedFrom == ""
	case "accepted":
		return s.AcceptedFrom != ""
	case "first-udp":
		return len(w.memory.udp) > 0 && w.memory.udp[0].sock == s
	case "second-udp":
		return len(w.memory.udp) > 1 && w.memory.udp[1].sock == s
	}
	return true
}

// calledOn finds the lesson's socket that a report's call was made on.
func (w *world) calledOn(rep *steps.Report) *steps.Socket {
	for _, s := range w.sockets {
		if s.sock.Name == rep.Socket {
			return s.sock
		}
	}
	return nil
}

func judgeReceived(w *world, c Check) verdict {
	rep := w.last.Report
	if (w.last.Command != "recv" && w.last.Command != "recvfrom") || rep == nil {
		return verdict{ok: false, text: "The last command was not a recv. `recv SOCK` reads what has arrived on a connection; `recvfrom SOCK` takes one datagram."}
	}
	if rep.Failed() {
		return verdict{ok: false, text: "The last recv did not return bytes: " + rep.Call + "."}
	}
	have := len(rep.Data)
	if on := w.calledOn(rep); c.Word != "" && (on == nil || !onSide(w, on, c.Word)) {
		// The second UDP socket is the only side received takes.
		want := "the lesson's second UDP socket"
		if len(w.memory.udp) > 1 {
			want += ", " + w.memory.udp[1].sock.Label()
		}
		got := "another socket"
		if on != nil {
			got = on.Label()
		}
		return verdict{ok: false, text: fmt.Sprintf("The last recv took %d bytes on %s; this step wants them received on %s, which gets the datagrams sent to its address.", have, got, want)}
	}
	if compare(have, c.Op, c.N) {
		if have == 0 {
			return verdict{ok: true, text: "recv returned 0 bytes: the peer has closed its side, and everything it sent before is read."}
		}
		return verdict{ok: true, text: fmt.Sprintf("%s returned %d bytes.", w.last.Command, have)}
	}
	if c.Op == "==" && c.N == 0 {
		return verdict{ok: false, text: fmt.Sprintf("recv returned %d bytes, and this step wants 0 bytes: recv returns 0 once the peer has closed its side and every byte it sent before is read.", have)}
	}
	return verdict{ok: false, text: fmt.Sprintf("recv returned %d bytes, and this step wants %s. Bytes arrive when the other end calls `send`.", have, wants(c.Op, c.N))}
}

// judgeSentNowhere passes when the last command was a sendto that sent
// its datagram to a port no UDP socket holds there, as the kernel answers
// a bind of that address: the datagram was dropped on arrival.
func judgeSentNowhere(w *world, _ Check) verdict {
	rep := w.last.Report
	if w.last.Command != "sendto" || rep == nil {
		return verdict{ok: false, text: "The last command was not a sendto. This step wants a datagram sent to a port where no socket receives: `sendto SOCK HOST PORT TEXT`."}
	}
	if rep.Failed() {
		return verdict{ok: false, text: "The last sendto sent nothing: " + rep.Call + "."}
	}
	to, family := rep.Peer, steps.IPv4
	if to.Addr().Is6() && !to.Addr().Is4In6() {
		family = steps.IPv6
	}
	if steps.PortTaken(family, steps.Datagram, netip.AddrPortFrom(to.Addr().Unmap(), to.Port())) {
		return verdict{ok: false, text: fmt.Sprintf("sendto sent the datagram to %s, and a UDP socket holds port %d there (a bind of it is refused), so it was not lost. Close that socket first, or send to a port nobody holds.", to, to.Port())}
	}
	return verdict{ok: true, text: fmt.Sprintf("sendto sent the datagram to %s, and no UDP socket holds port %d there (a bind of it goes through): nobody received it.", to, to.Port())}
}

// judgeSentHTTP passes when what `send` has sent on a socket made by
// accept begins with a whole HTTP response head, as an HTTP client reads
// it: a status line, headers, and the empty line that ends them.
func judgeSentHTTP(w *world, _ Check) verdict {
	why := "No socket made by accept has sent anything yet. `send SOCK \"HTTP/1.0 200 OK\\r\\n…\"` answers the browser through the socket that accept made for its connection."
	for _, s := range w.sockets {
		sent := w.memory.sent[s.sock]
		if s.sock.AcceptedFrom == "" || len(sent) == 0 {
			continue
		}
		status, whole, wrong := responseHead(string(sent))
		if whole {
			return verdict{ok: true, text: fmt.Sprintf("%s has sent an HTTP response that an HTTP client reads: the status %s, and headers ended by an empty line.", s.sock.Label(), steps.QuoteShort([]byte(status)))}
		}
		problem := "the empty line that ends the headers, \\r\\n\\r\\n, has not come yet: send the rest."
		if wrong {
			problem = "it does not start as a response does, with a status line such as HTTP/1.0 200 OK, then header lines of NAME: VALUE. What is sent cannot be taken back: close " + s.sock.Name + ", load the page again, and answer its new connection."
		}
		why = fmt.Sprintf("What %s has sent, %s, is not yet a response an HTTP client can read: %s", s.sock.Label(), steps.QuoteShort(sent), problem)
	}
	return verdict{ok: false, text: why}
}

// responseHead reads the head of an HTTP response as a client does: a
// status line (HTTP/1.0 200 OK), header lines of NAME: VALUE, and an empty
// line, each line ended by \r\n or \n. whole says the head has come, with
// its status (200 OK); wrong that what came cannot begin one.
func responseHead(sent string) (status string, whole, wrong bool) {
	lines := strings.Split(sent, "\n")
	if len(lines) == 1 { // no line has ended yet
		return "", false, !strings.HasPrefix(sent, "HTTP/") && !strings.HasPrefix("HTTP/", sent)
	}
	m := statusLine.FindStringSubmatch(strings.TrimSuffix(lines[0], "\r"))
	if m == nil {
		return "", false, true
	}
	for _, line := range lines[1 : len(lines)-1] { // the lines that have ended
		switch line = strings.TrimSuffix(line, "\r"); {
		case line == "":
			return m[1], true, false
		case !headerLine.MatchString(line):
			return "", false, true
		}
	}
	return "", false, false
}

var (
	statusLine = regexp.MustCompile(`^HTTP/\d\.\d (\d{3}(?: .*)?)$`)
	headerLine = regexp.MustCompile(`^[!#$%&'*+.^_|~0-9A-Za-z-]+:`)
)

func judgePeerClosed(w *world, c Check) verdict {
	var wrong []string
	for _, s := range w.sockets {
		if s.snap.State != steps.CloseWait {
			continue
		}
		if onSide(w, s.sock, c.Word) {
			return verdict{ok: true, text: fmt.Sprintf("%s is in CLOSE_WAIT: its peer has closed, and it has not.", s.sock.Label())}
		}
		wrong = append(wrong, s.sock.Label())
	}
	if len(wrong) > 0 {
		return verdict{ok: false, stuck: true, text: fmt.Sprintf("%s is in CLOSE_WAIT: the other end of its connection closed first, or shut down its writing side, and this step wants the %s to be the one left open. "+
			"That cannot be undone on a connection: make a new one (socket, connect, accept), or `reset` starts the lesson again.", strings.Join(wrong, ", "), sideNames[c.Word])}
	}
	if !slices.ContainsFunc(w.sockets, func(s live) bool {
		return s.snap.State == steps.Established && onSide(w, s.sock, c.Word) && w.peered(s)
	}) {
		who := sideNames[c.Word]
		if who == "" {
			who = "socket"
		}
		return verdict{ok: false, stuck: true, text: fmt.Sprintf("No %s of this lesson is connected to another of its sockets now, so no close of yours can leave one with its peer closed. "+
			"Make a new connection (socket, connect, accept), or `reset` starts the lesson again.", who)}
	}
	return verdict{ok: false, text: "No socket of this lesson is in CLOSE_WAIT. A socket goes there when the other end of its connection closes first: `close` one end and look at the other."}
}

// peered says whether s is a TCP socket connected to another open socket
// of the lesson: the two ends of one connection.
func (w *world) peered(s live) bool {
	return s.snap.Connected() && slices.ContainsFunc(w.sockets, func(l live) bool { return l.sock != s.sock && oneConnection(s, l) })
}

// oneConnection says whether a and b, as look last read them, are the two
// ends of one TCP connection (a socket connected to itself is both).
func oneConnection(a, b live) bool {
	return a.sock.Kind == steps.Stream && b.sock.Kind == steps.Stream &&
		steps.SameEnd(b.snap.Local, a.snap.Remote) && steps.SameEnd(b.snap.Remote, a.snap.Local)
}

// sideNames name the sockets of a side in a sentence.
var sideNames = map[string]string{
	"client":   "client socket (made by socket, not accept)",
	"accepted": "socket made by accept",
}

func judgeTimeWait(w *world, c Check) verdict {
	wrongSide := ""
	for _, conn := range w.connections() {
		if conn.State != steps.TimeWait || !w.memory.hasEnds(conn.Local, conn.Remote) {
			continue
		}
		side := "client"
		if w.memory.isListenPort(conn.Local.Port()) {
			side = "server"
		}
		if c.Word != "" && c.Word != side {
			wrongSide = side
			continue
		}
		return verdict{ok: true, text: fmt.Sprintf("The kernel's table (/proc/net/tcp) holds %s → %s in TIME_WAIT, with no socket left: the %s's end, which closed first.", conn.Local, conn.Remote, side)}
	}
	if wrongSide != "" {
		return verdict{ok: false, text: fmt.Sprintf("A connection of this lesson is in TIME_WAIT, but on the %s's end: the %s closed first. This step wants the %s to close first.", wrongSide, wrongSide, c.Word)}
	}
	return verdict{ok: false, text: "The kernel's table (/proc/net/tcp) holds no connection of this lesson in TIME_WAIT. The end that closes first goes there once the other end has closed too."}
}

// hasEnds says whether local and remote are the two ends, either way
// round, of a connection the lesson has seen.
func (m *memory) hasEnds(local, remote netip.AddrPort) bool {
	for _, e := range m.ends {
		if (steps.SameEnd(e.local, local) && steps.SameEnd(e.remote, remote)) || (steps.SameEnd(e.local, remote) && steps.SameEnd(e.remote, local)) {
			return true
		}
	}
	return false
}

func judgeReset(w *world, _ Check) verdict {
	for _, s := range w.sockets {
		if w.memory.wasConnected[s.sock] && s.snap.FromKernel && s.snap.State == steps.Closed {
			return verdict{ok: true, text: fmt.Sprintf("%s was connected, and its connection is gone (CLOSED) though it never called close: the peer reset it.", s.sock.Label())}
		}
	}
	if !slices.ContainsFunc(w.sockets, w.peered) {
		return verdict{ok: false, stuck: true, text: "No two sockets of this lesson are the ends of one connection now, so no close of yours can reset a connection that one of them still holds. " +
			"Make a new connection (socket, connect, accept, then send bytes that nobody reads), or `reset` starts the lesson again."}
	}
	return verdict{ok: false, text: "No connection of this lesson has been reset. The kernel resets a connection instead of closing it politely when a socket is closed with bytes in its receive queue that nobody read."}
}

func judgeFailed(w *world, c Check) verdict {
	rep := w.last.Report
	switch {
	case rep == nil:
		return verdict{ok: false, text: fmt.Sprintf("The last command made no socket call; this step wants one that fails with %s.", c.Word)}
	case rep.Failure == nil:
		return verdict{ok: false, text: fmt.Sprintf("The last call worked (%s); this step wants one that fails with %s.", rep.Call, c.Word)}
	case rep.Failure.Name != c.Word:
		return verdict{ok: false, text: fmt.Sprintf("The last call failed with %s; this step wants one that fails with %s.", rep.Failure.Name, c.Word)}
	}
	return verdict{ok: true, text: fmt.Sprintf("%s: the error this step is about.", rep.Call)}
}

func judgeRan(w *world, c Check) verdict {
	switch {
	case !w.knows(c.Word):
		return verdict{ok: false, text: fmt.Sprintf("This sockstep has no `%s` command, so this step cannot be done here; `skip` moves on.", c.Word)}
	case w.last.Command == c.Word && w.last.Err == nil:
		return verdict{ok: true, text: fmt.Sprintf("`%s` ran.", c.Word)}
	case w.last.Command == c.Word:
		return verdict{ok: false, text: fmt.Sprintf("`%s` did not work: its output says why.", c.Word)}
	}
	return verdict{ok: false, text: fmt.Sprintf("This step wants you to run `%s`.", c.Word)}
}

// parseCheck reads the text of a `check:` line.
func parseCheck(text string) (Check, error) {
	fields := strings.Fields(text)
	var def *checkDef
	for _, d := range checks {
		if d.name == fields[0] {
			def = d
		}
	}
	if def == nil {
		return Check{}, fmt.Errorf("there is no check %q; the checks are %s", fields[0], checkNames())
	}
	c := Check{def: def, Op: ">=", N: 1}
	args := fields[1:]
	switch def.arg {
	case noArg:
		if len(args) > 0 {
			return Check{}, fmt.Errorf("check %s takes nothing after its name", def.name)
		}
	case countArg:
		if len(args)%2 == 1 && def.words != nil {
			c.Word, args = args[0], args[1:]
			if err := def.checkWord(c.Word); err != nil {
				return Check{}, err
			}
		}
		if len(args) == 0 {
			break
		}
		n, err := strconv.Atoi(strings.Join(args[1:], ""))
		if len(args) != 2 || (args[0] != ">=" && args[0] != "==" && args[0] != "<=") || err != nil || n < 0 {
			return Check{}, fmt.Errorf("check %s takes a comparison such as `%s >= 1`, `== 0` or `<= 2`, not %q", def.name, def.name, strings.Join(args, " "))
		}
		c.Op, c.N = args[0], n
	case wordArg:
		if len(args) == 2 && def.sides != nil {
			if !slices.Contains(def.sides, args[1]) {
				return Check{}, fmt.Errorf("check %s takes, after its word, one of %s, not %q", def.name, strings.Join(def.sides, ", "), args[1])
			}
			c.Side, args = args[1], args[:1]
		}
		if len(args) > 1 {
			return Check{}, fmt.Errorf("check %s takes one word, not %q", def.name, strings.Join(args, " "))
		}
		if len(args) == 1 {
			c.Word = args[0]
		}
		if err := def.checkWord(c.Word); err != nil {
			return Check{}, err
		}
	}
	return c, nil
}

func (d *checkDef) checkWord(word string) error {
	if d.valid != nil {
		return d.valid(word)
	}
	for _, w := range d.words {
		if w == word {
			return nil
		}
	}
	var shown []string
	for _, w := range d.words {
		if w == "" {
			w = "nothing"
		}
		shown = append(shown, w)
	}
	return fmt.Errorf("check %s takes %s, not %q", d.name, strings.Join(shown, " or "), word)
}

func checkNames() string {
	var names []string
	for _, d := range checks {
		names = append(names, d.name)
	}
	return strings.Join(names, ", ")
}

// validErrno accepts the name of an errno, such as ECONNREFUSED.
func validErrno(name string) error {
	for n := 1; n < 256 && name != ""; n++ {
		if unix.ErrnoName(unix.Errno(n)) == name {
			return nil
		}
	}
	return fmt.Errorf("check failed takes the name of an errno, such as ECONNREFUSED, not %q", name)
}

var commandWord = regexp.MustCompile(`^[a-z]+$`)

// validCommand accepts a word that can name a command of the shell.
func validCommand(name string) error {
	if !commandWord.MatchString(name) {
		return fmt.Errorf("check ran takes the name of a command, such as sockets, not %q", name)
	}
	return nil
}

// judgeOption passes when one of the lesson's sockets has the option on,
// as the kernel reports it now; with a side, one that has no address yet
// (unbound), or one made by accept (accepted), which has the options its
// listener had when the connection came.
func judgeOption(w *world, c Check) verdict {
	var off, elsewhere []string
	for _, s := range w.sockets {
		on, ok := steps.OptionOn(s.sock, c.Word)
		side := c.Side == "unbound" && !s.snap.Bound() || c.Side != "unbound" && onSide(w, s.sock, c.Side)
		switch {
		case on && side:
			return verdict{ok: true, text: fmt.Sprintf("%s has %s on.", s.sock.Label(), c.Word)}
		case on:
			elsewhere = append(elsewhere, s.sock.Label())
		case ok && side:
			off = append(off, s.sock.Label())
		}
	}
	switch {
	case c.Side == "unbound" && len(off) > 0:
		return verdict{ok: false, text: fmt.Sprintf("%s is off on %s, which has no address yet. `option SOCK %s on` turns it on, before its bind.", c.Word, strings.Join(off, ", "), c.Word)}
	case c.Side == "unbound" && len(elsewhere) > 0:
		return verdict{ok: false, text: fmt.Sprintf("%s is on on %s, which has an address already: this step wants it on before bind. A socket keeps its first address, so make a new socket with `socket` and turn it on there first.", c.Word, strings.Join(elsewhere, ", "))}
	case c.Side == "unbound":
		return verdict{ok: false, text: fmt.Sprintf("This step wants %s on a socket with no address yet: `socket` makes one.", c.Word)}
	case c.Side == "accepted" && len(off) == 0:
		return verdict{ok: false, text: "No socket made by accept is open: `accept LISTENER` makes one."}
	case c.Side == "accepted":
		text := fmt.Sprintf("%s is off on %s, made by accept: a connection takes its listener's options when it arrives, so the listener must have %s on before the client connects.", c.Word, strings.Join(off, ", "), c.Word)
		if len(elsewhere) > 0 {
			text += fmt.Sprintf(" It is on on %s only.", strings.Join(elsewhere, ", "))
		}
		return verdict{ok: false, text: text + " Close these sockets and start again from a new server socket (`reset` starts the lesson again)."}
	case len(off) == 0:
		return verdict{ok: false, text: fmt.Sprintf("No socket of this lesson can have %s yet: make one with `socket`.", c.Word)}
	}
	return verdict{ok: false, text: fmt.Sprintf("%s is off on %s. `option SOCK %s on` turns it on.", c.Word, strings.Join(off, ", "), c.Word)}
}

// validOption accepts the name of an on/off socket option.
func validOption(name string) error {
	if !steps.IsOnOffOption(name) {
		return fmt.Errorf("check option takes the name of an on/off socket option, such as SO_REUSEADDR, not %q", name)
	}
	return nil
}
