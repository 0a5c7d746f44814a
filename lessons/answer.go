package lessons

// What `hint answer` shows: the step's answer, filled in and mended to
// start from where the learner's sockets are (a socket closed early is
// made again, a queue read ahead is refilled, a port taken is changed),
// or, where no short answer can, a sentence that says why.

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"sockstep/repl"
	"sockstep/steps"
)

// socketNamed is the socket of the lesson called name, as look last read
// it.
func (p *play) socketNamed(name string) (live, bool) {
	i := slices.IndexFunc(p.sockets, func(l live) bool { return l.sock.Name == name })
	if i < 0 {
		return live{}, false
	}
	return p.sockets[i], true
}

// answerNow is a step's answer, filled in, as it can be typed now. Lines
// done already are left out: the kernel shows most of them (a socket made
// with no address, bound or connected where a line asks, listening, with
// an option on, or closed), and a send the learner typed in this step
// shows in the receiver's queue only until it is read (sentAlready). A
// socket it binds that is bound already cannot be bound again (bind fails
// with EINVAL): bound where the answer asks, its bind is left out; bound
// elsewhere, the answer first closes it and makes a new socket of the same
// name and kind, with SO_REUSEADDR when the old one had it; of another
// kind than the answer makes, it is closed and made as the answer makes
// it. A socket it makes whose name is taken is left out when the socket of
// that name is of the same kind and has no address, else closed first. A
// socket already listening is left without its listen. A step that wants
// a call to fail wants it on a new socket, with no option set (an option
// such as SO_REUSEADDR can make the bind it wants refused work): such a
// step's answer closes a socket it binds and makes it again, and one it
// makes unless it is as new: no address, and neither SO_REUSEADDR nor
// SO_REUSEPORT on. (Only a step that wants EADDRINUSE: SO_REUSEADDR is
// an option that can make a refused bind work.) A step that counts the
// bytes in a receive queue exactly starts from the queue it expects
// (refill). A socket the answer uses that the learner has closed is made
// again first, as the steps before made it (remake), or, when that cannot
// be, stuck says what to do instead, as it does when the answer cannot
// reach a count the step wants (short) or would wait for ever (waits).
// why says what was mended, or is "".
func (t *Tutor) answerNow(w *world, step Step) (why string, lines []string, stuck string) {
	notes, lines := t.sentAlready(step)
	if note, remade, stuck := t.remake(step, lines); stuck != "" {
		return "", nil, stuck
	} else if note != "" {
		notes, lines = append(notes, note), remade
	}
	failing := step.wantsFailure("EADDRINUSE")
	var more []string
	more, lines = t.rebind(lines, failing)
	notes = append(notes, more...)
	more, lines = t.connectOnce(lines)
	notes = append(notes, more...)
	more, lines = t.freeNames(lines, failing)
	notes = append(notes, more...)
	more, lines = t.doneAlready(lines)
	notes = append(notes, more...)
	if step.wantsFailure("ECONNREFUSED") {
		more, lines = t.closeListeners(lines)
		notes = append(notes, more...)
	}
	more, lines = t.freePort(lines)
	notes = append(notes, more...)
	if note, mended := t.refill(step, lines); note != "" {
		notes, lines = append(notes, note), mended
	}
	if stuck := short(w, step, lines); stuck != "" {
		return "", nil, stuck
	}
	if stuck := t.waits(lines); stuck != "" {
		return "", nil, stuck
	}
	return strings.Join(notes, " "), lines, ""
}

// filled is the answer of step, filled in.
func (t *Tutor) filled(step Step) []string {
	var lines []string
	for _, line := range step.Answer {
		lines = append(lines, t.fill(line))
	}
	return lines
}

// sentAlready is the answer of step, filled in, without the send and
// sendto lines the learner has typed in this step and that worked: a
// second one would send its bytes again. The kernel cannot tell that a
// send was made once its bytes are read, but it tells when they were: a
// line whose receiver, a socket of the lesson, holds fewer bytes than it
// sent is kept, since the bytes the lines after it want are gone.
func (t *Tutor) sentAlready(step Step) (notes, lines []string) {
	p := t.play
	for i, line := range t.filled(step) {
		name, text, ok := sendOf(line)
		receiver, known := p.peerOf(name)
		if port, datagram, isSendto := sendtoOf(line); isSendto {
			text, ok = datagram, true
			receiver, known = p.boundAt(port)
		}
		if !ok || !slices.Contains(p.typed, i) || known && receiver.snap.QueuesKnown && receiver.snap.RecvQ < len(text) {
			lines = append(lines, line)
			continue
		}
		notes = append(notes, fmt.Sprintf("You typed `%s` already in this step, and a second one would send its bytes again, so the answer leaves it out.", line))
	}
	return notes, lines
}

// connectOnce leaves out the connects of lines (an answer) for sockets
// connected already where they ask, with the lines that make those
// sockets: a TCP socket connects once (a second connect fails with
// EISCONN), and the socket line would close it.
func (t *Tutor) connectOnce(lines []string) ([]string, []string) {
	var notes []string
	for i := 0; i < len(lines); i++ {
		f := strings.Fields(lines[i])
		if len(f) != 4 || f[0] != "connect" || slices.Contains(lines[:i], "close "+f[1]) {
			continue
		}
		found, ok := t.play.socketNamed(f[1])
		if !ok || !connectedAsAsked(found.snap.Remote, f[2], f[3]) {
			continue
		}
		made := slices.IndexFunc(lines[:i], func(l string) bool { name, ok := madeName(l); return ok && name == f[1] })
		if made >= 0 && socketCommand(found.sock) != lines[made] {
			continue // another kind of socket: freeNames closes it, and the answer makes the new one
		}
		notes = append(notes, fmt.Sprintf("%s is connected to %s already, so the answer leaves out its connect.", found.sock.Label(), found.snap.Remote))
		lines = slices.Delete(lines, i, i+1)
		if made >= 0 {
			lines = slices.Delete(lines, made, made+1)
			i--
		}
		i--
	}
	return notes, lines
}

// rebind mends the binds of lines (an answer) for sockets bound already,
// as answerNow says; failing is that the step wants EADDRINUSE. Like the
// passes after it, it returns what it mended, in sentences, and the lines.
func (t *Tutor) rebind(lines []string, failing bool) ([]string, []string) {
	var notes []string
	for i := 0; i < len(lines); i++ {
		f := strings.Fields(lines[i])
		if len(f) != 4 || f[0] != "bind" {
			continue
		}
		found, ok := t.play.socketNamed(f[1])
		if !ok || !found.snap.Bound() {
			continue
		}
		s, local := found.sock, found.snap.Local
		made := slices.IndexFunc(lines[:i], func(l string) bool {
			name, ok := madeName(l)
			return ok && name == s.Name
		})
		if made >= 0 && socketCommand(s) != lines[made] {
			continue // another kind of socket: the loop below closes it, and the answer makes the new one
		}
		if !failing && boundAsAsked(local, strings.Trim(f[2], `"`), f[3]) {
			notes = append(notes, fmt.Sprintf("%s is bound to %s already, as this step asks, so the answer leaves out its bind.", s.Label(), local))
			lines = slices.Delete(lines, i, i+1)
			if made >= 0 { // the socket is made too
				lines = slices.Delete(lines, made, made+1)
				i--
			}
			i--
			continue
		}
		fails, options := "", "; set again any option you set on the old one"
		if failing {
			fails, options = ", not as this step wants", ", with no option set"
		}
		notes = append(notes, fmt.Sprintf("%s is bound to %s already, and a socket keeps its first address (a second bind fails with EINVAL%s), so the answer closes it and makes a new socket first%s.", s.Label(), local, fails, options))
		redo := []string{"close " + s.Name}
		if made < 0 { // made by a step before, which may have set SO_REUSEADDR, as lesson 11's does
			redo = append(redo, socketCommand(s))
			if on, _ := steps.OptionOn(s, "SO_REUSEADDR"); !failing && on {
				redo = append(redo, "option "+s.Name+" SO_REUSEADDR on")
			}
		}
		lines = slices.Insert(lines, 0, redo...)
		i += len(redo)
	}
	return notes, lines
}

// freeNames mends the sockets lines (an answer) makes whose names are
// taken, as answerNow says; failing is that the step wants EADDRINUSE.
func (t *Tutor) freeNames(lines []string, failing bool) ([]string, []string) {
	var notes []string
	// A socket the answer makes whose name is taken cannot be made (socket
	// ... as NAME fails): one of the same kind with no address is left as
	// it is, any other is closed first.
	for i := 0; i < len(lines); i++ {
		name, ok := madeName(lines[i])
		if !ok || slices.Contains(lines[:i], "close "+name) {
			continue
		}
		found, ok := t.play.socketNamed(name)
		if !ok {
			continue
		}
		s := found.sock
		// A TCP socket that was connected cannot connect again, even once
		// reset: connect fails with EISCONN.
		if socketCommand(s) == lines[i] && !found.snap.Bound() && !t.play.memory.wasConnected[s] && !(failing && reusing(s)) {
			options := ""
			if failing {
				options = " and neither SO_REUSEADDR nor SO_REUSEPORT on, as new"
			}
			notes = append(notes, fmt.Sprintf("%s is made already, with no address yet%s, so the answer leaves out the socket command.", s.Label(), options))
			lines = slices.Delete(lines, i, i+1)
			i--
			continue
		}
		if failing {
			notes = append(notes, fmt.Sprintf("%s exists already, and this step wants the call to fail as it does on a new socket, with no option set, so the answer closes it first and makes it again.", s.Label()))
			lines = slices.Insert(lines, i, "close "+s.Name)
			i++
			continue
		}
		notes = append(notes, fmt.Sprintf("%s exists already and is not the new socket this step makes (%s); a name belongs to one socket, so the answer closes it first.", s.Label(), lines[i]))
		lines = slices.Insert(lines, i, "close "+s.Name)
		i++
	}
	return notes, lines
}

// doneAlready leaves out the lines of lines (an answer) whose work the
// kernel shows done, on a socket no line before closes or makes: the
// listen of a socket listening already (a second one returns 0 and
// changes nothing but its backlog), an option on already, and the close
// of a socket of the lesson that is closed (close would find no socket of
// that name).
func (t *Tutor) doneAlready(lines []string) ([]string, []string) {
	var notes []string
	for i := 0; i < len(lines); i++ {
		f := strings.Fields(lines[i])
		if len(f) < 2 || slices.Contains(lines[:i], "close "+f[1]) ||
			slices.ContainsFunc(lines[:i], func(l string) bool { name, ok := madeName(l); return ok && name == f[1] }) {
			continue
		}
		found, open := t.play.socketNamed(f[1])
		var note string
		switch {
		case len(f) == 2 && f[0] == "listen" && open && found.snap.State == steps.Listen:
			note = fmt.Sprintf("%s is listening already, so the answer leaves out its listen.", found.sock.Label())
		case len(f) == 4 && f[0] == "option" && f[3] == "on" && open:
			if on, known := steps.OptionOn(found.sock, f[2]); on && known {
				note = fmt.Sprintf("%s has %s on already, so the answer leaves out its option.", found.sock.Label(), f[2])
			}
		case len(f) == 2 && f[0] == "close" && !open && t.play.memory.named[f[1]]:
			note = fmt.Sprintf("%s is closed already, so the answer leaves out its close.", f[1])
		}
		if note != "" {
			notes = append(notes, note)
			lines = slices.Delete(lines, i, i+1)
			i--
		}
	}
	return notes, lines
}

// closeListeners closes first, for a step that wants its connect
// refused, the lesson's listeners at the port lines (an answer) connect
// to.
func (t *Tutor) closeListeners(lines []string) ([]string, []string) {
	var notes []string
	for i := 0; i < len(lines); i++ {
		w := strings.Fields(lines[i])
		if len(w) != 4 || w[0] != "connect" {
			continue
		}
		for _, s := range t.play.sockets {
			if s.snap.State == steps.Listen && strconv.Itoa(int(s.snap.Local.Port())) == w[3] && !slices.Contains(lines[:i], "close "+s.sock.Name) {
				notes = append(notes, fmt.Sprintf("%s listens on port %s, so a connect there would be accepted, not refused; the answer closes it first.", s.sock.Label(), w[3]))
				lines = slices.Insert(lines, 0, "close "+s.sock.Name)
				i++
			}
		}
	}
	return notes, lines
}

// freePort gives auto in lines (an answer) --port 0 where its port is
// taken.
func (t *Tutor) freePort(lines []string) ([]string, []string) {
	var notes []string
	// auto's server binds a TCP socket on "" (0.0.0.0), as the kernel
	// tells whether it can: a TIME_WAIT or another program may hold the
	// port as well as a socket of the lesson.
	for i, line := range lines {
		w := strings.Fields(line)
		if len(w) < 4 || w[0] != "auto" || w[len(w)-2] != "--port" {
			continue
		}
		port, err := strconv.Atoi(w[len(w)-1])
		if err != nil || port == 0 || !steps.PortTaken(steps.IPv4, steps.Stream, netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port))) {
			continue
		}
		who := "Port " + w[len(w)-1] + " is taken now"
		if k := slices.IndexFunc(t.play.sockets, func(s live) bool {
			return s.sock.Kind == steps.Stream && s.snap.Bound() && int(s.snap.Local.Port()) == port
		}); k >= 0 {
			who = t.play.sockets[k].sock.Label() + " holds port " + w[len(w)-1]
		}
		notes = append(notes, who+", where auto's server would fail to bind (EADDRINUSE), so the answer gives --port 0: the kernel chooses a free port.")
		lines[i] = strings.Join(append(w[:len(w)-1], "0"), " ")
	}
	return notes, lines
}

// startAgain ends a sentence that says a step's answer cannot start from
// the learner's sockets.
const startAgain = "`reset` starts the lesson again; `skip` moves on without this step."

// short says why lines cannot do step when one of its counts is short by
// more than they can add: each line adds at most one, and only a line of
// a command that makes what the count counts (counters). It is "" when
// no count is.
func short(w *world, step Step, lines []string) string {
	for _, c := range step.Checks {
		makers := counters[c.def.name]
		if c.def.measure == nil || c.Op == "<=" || makers == nil {
			continue
		}
		have, _ := c.def.measure(w)
		most := have + len(slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return !slices.Contains(makers, strings.Fields(l)[0]) }))
		if most < c.N {
			return fmt.Sprintf("%s: %d, and this step wants %s, but its answer adds at most %d. %s %s",
				c.def.subject, have, wants(c.Op, c.N), most-have, c.def.more, startAgain)
		}
	}
	return ""
}

// waits says why a recv of lines would wait with no end: its socket,
// connected, has no bytes waiting and its peer has not closed, and no line
// before it calls on the peer (a send, a close). A recv given --timeout
// ends by itself, and one given --all never waits. A peer outside the
// lesson may send when the learner does nothing, or never: stuck then
// says how to bound the wait instead of starting again. It is "" when
// none would.
func (t *Tutor) waits(lines []string) string {
	for i, line := range lines {
		w := strings.Fields(line)
		if len(w) < 2 || w[0] != "recv" || slices.Contains(w, "--timeout") || slices.Contains(w, "--all") {
			continue
		}
		s, ok := t.play.socketNamed(w[1])
		if !ok || s.sock.Kind != steps.Stream || !s.snap.QueuesKnown || s.snap.RecvQ > 0 ||
			!slices.Contains([]steps.TCPState{steps.Established, steps.FinWait1, steps.FinWait2}, s.snap.State) {
			continue
		}
		peer, ok := t.play.peerOf(w[1])
		if !ok {
			return fmt.Sprintf("%s has no bytes waiting in its receive queue, and its peer, outside this lesson, has not closed, so this step's answer, `%s`, would wait until that program sends, which it may never do (a browser may open a connection ahead of a request and send nothing on it). With `--timeout 5s` added, the recv gives up after 5 seconds.", s.sock.Label(), line)
		}
		if slices.ContainsFunc(lines[:i], func(l string) bool { n, uses := usedSocket(l); return uses && n == peer.sock.Name }) {
			continue
		}
		return fmt.Sprintf("%s has no bytes waiting in its receive queue, and its peer has not closed, so this step's answer, `%s`, would wait until the other end sends. %s", s.sock.Label(), line, startAgain)
	}
	return ""
}

// counters are, for each count a step can check, the commands that can
// add one to it.
var counters = map[string][]string{
	"sockets":      {"socket", "accept"},
	"listening":    {"listen"},
	"accept-queue": {"connect"},
	"connected":    {"connect"},
	"accepted":     {"accept"},
}

// remake finds the sockets that lines use and the learner has closed:
// a closed socket cannot be opened again. A line that closes one needs
// nothing (doneAlready leaves it out). One that the steps before
// only made, set options on, bound to a port free now and made listen,
// and that lines only bind, listen, set options on, connect or send
// datagrams from, is made again first with the steps' own lines. Any
// other (connected, made by accept, or read from) cannot be made again as
// the steps before left it, and stuck says so.
func (t *Tutor) remake(step Step, lines []string) (note string, mended []string, stuck string) {
	p := t.play
	var redo, names []string
	for i, line := range lines {
		var needed []string // the socket the line calls on, and the one it needs at a port
		if name, uses := usedSocket(line); uses && !strings.HasPrefix(line, "close ") {
			needed = append(needed, name)
		}
		if target, ok := t.closedTarget(step, lines, line); ok {
			needed = append(needed, target)
		}
		for _, name := range needed {
			if slices.Contains(names, name) || !p.memory.named[name] {
				continue
			}
			if _, open := p.socketNamed(name); open || slices.ContainsFunc(lines[:i], func(l string) bool { n, ok := madeName(l); return ok && n == name }) {
				continue
			}
			setup, ok := t.madeBefore(name)
			for _, l := range lines {
				if n, uses := usedSocket(l); uses && n == name && !slices.Contains(remadeUses, strings.Fields(l)[0]) {
					ok = false
				}
			}
			if !ok {
				return "", nil, fmt.Sprintf("%s is closed, and this step's answer uses it as the steps before left it, which a new socket of that name would not be. %s", name, startAgain)
			}
			names, redo = append(names, name), append(redo, setup...)
		}
	}
	if len(names) == 0 {
		return "", lines, ""
	}
	return fmt.Sprintf("You closed %s, and this step's answer uses it, so the answer first makes it again as the steps before did.", strings.Join(names, " and ")), append(redo, lines...), ""
}

// closedTarget is the name of the socket that a line needs at a port,
// as the steps before bound it there, when nothing holds that port now:
// the listener a connect line connects to (unless the step wants the
// connect refused), the socket a sendto line sends to, and, in a step
// that wants a bind refused with EADDRINUSE, the socket whose port a bind
// line of lines asks for. A socket the step's answer closes before the
// line is not needed.
func (t *Tutor) closedTarget(step Step, lines []string, line string) (name string, ok bool) {
	p := t.play
	w := strings.Fields(line)
	if len(w) < 4 {
		return "", false
	}
	onPort := func(l live) bool { return strconv.Itoa(int(l.snap.Local.Port())) == w[3] }
	switch {
	case w[0] == "connect":
		if step.wantsFailure("ECONNREFUSED") || slices.ContainsFunc(p.sockets, func(l live) bool { return l.snap.State == steps.Listen && onPort(l) }) {
			return "", false
		}
	case w[0] == "sendto":
		if slices.ContainsFunc(p.sockets, onPort) {
			return "", false
		}
	case w[0] == "bind" && len(w) == 4 && step.wantsFailure("EADDRINUSE"):
		made := "socket as " + w[1]
		if i := slices.IndexFunc(lines, func(l string) bool { n, ok := madeName(l); return ok && n == w[1] }); i >= 0 {
			made = lines[i]
		} else if s, ok := p.socketNamed(w[1]); ok {
			made = socketCommand(s.sock)
		}
		if portTakenFor(made, w[2], w[3]) {
			return "", false
		}
	default:
		return "", false
	}
	for _, page := range p.lesson.Pages[:p.page] {
		for _, before := range page.Step.Answer {
			b := strings.Fields(t.fill(before))
			if len(b) == 4 && b[0] == "bind" && b[3] == w[3] && b[1] != w[1] {
				name, ok = b[1], true
			}
		}
	}
	if !ok {
		return "", false
	}
	answer := t.filled(step)
	if closes := slices.Index(answer, "close "+name); closes >= 0 && closes < slices.Index(answer, line) {
		return "", false
	}
	return name, true
}

// remadeUses are the calls an answer may make on a socket made again by
// remake: none needs what the closed socket had received or queued.
var remadeUses = []string{"bind", "listen", "option", "connect", "sendto"}

// madeBefore is how the answers of the steps before the one being played
// last made the socket called name, filled in: its socket line and the
// option, bind and listen lines after it. ok is false when they did
// anything else with it, or bind it to a port taken now.
func (t *Tutor) madeBefore(name string) (lines []string, ok bool) {
	p := t.play
	for _, page := range p.lesson.Pages[:p.page] {
		for _, line := range page.Step.Answer {
			line = t.fill(line)
			if n, made := madeName(line); made && n == name {
				lines, ok = []string{line}, true
				continue
			}
			n, uses := usedSocket(line)
			if !uses || n != name || !ok {
				continue
			}
			w := strings.Fields(line)
			switch w[0] {
			case "option", "listen":
			case "bind":
				if len(w) != 4 || portTakenFor(lines[0], w[2], w[3]) {
					return nil, false
				}
			default:
				return nil, false
			}
			lines = append(lines, line)
		}
	}
	return lines, ok
}

// portTakenFor says whether a bind of a socket made by the socket line
// made to host and port would be refused now, or cannot be told.
func portTakenFor(made, host, port string) bool {
	addr, err := netip.ParseAddr(strings.Trim(strings.Trim(host, `"`), "[]"))
	if strings.Trim(host, `"`) == "" {
		addr, err = netip.IPv4Unspecified(), nil
	}
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		return true
	}
	kind, family := steps.Stream, steps.IPv4
	if strings.Contains(made, " udp") {
		kind = steps.Datagram
	}
	if strings.Contains(made, " ipv6") {
		family = steps.IPv6
	}
	return n != 0 && steps.PortTaken(family, kind, netip.AddrPortFrom(addr, uint16(n)))
}

// usedSocket is the name of the socket a line's call is made on; uses is
// false for a line that makes one, or names none.
func usedSocket(line string) (name string, uses bool) {
	w := strings.Fields(line)
	if len(w) < 2 || !slices.Contains(socketCalls, w[0]) {
		return "", false
	}
	return w[1], true
}

// socketCalls are the commands whose first word after their name is a
// socket's name.
var socketCalls = []string{"bind", "listen", "accept", "connect", "send", "recv", "sendto", "recvfrom", "shutdown", "close", "option", "show"}

// refill mends the answer of a step that wants an exact count of bytes in
// a receive queue (`recv-queue SIDE == N`, or `received == N` read by the
// answer's one recv): its sends, or its recv, reach that count only from
// the queue the step before left. When the queue holds other bytes (a
// typo, a second try), and sent bytes cannot be taken back, the answer
// first reads them out, then sends again what the steps before sent
// there. A step whose answer is one recv of a given size that wants bytes
// received and bytes left after it needs more than that size waiting: when
// fewer are (the learner read some), the answer first reads out those left,
// then sends again what the steps before sent. note says so, or is "" when the answer needs no
// mending.
func (t *Tutor) refill(step Step, lines []string) (note string, mended []string) {
	p := t.play
	var receiver live
	want, before := 0, -1 // the count the step wants, and the bytes its answer needs waiting before it
	least := false        // at least before bytes (a recv that wants bytes left after it), or exactly
	if w := strings.Fields(lines[len(lines)-1]); len(lines) == 1 && len(w) == 3 && w[0] == "recv" &&
		slices.ContainsFunc(step.Checks, func(c Check) bool { return c.def.name == "received" && c.Op == ">=" }) {
		size, err := strconv.Atoi(w[2])
		r, ok := p.socketNamed(w[1])
		for _, c := range step.Checks {
			if err == nil && ok && c.def.name == "recv-queue" && c.Op == ">=" && onSide(&world{memory: p.memory}, r.sock, c.Word) {
				receiver, want, before, least = r, size, size+c.N, true
			}
		}
	}
	for _, c := range step.Checks {
		if least || c.Op != "==" || c.N == 0 || c.Word != "" && c.def.name != "recv-queue" {
			continue
		}
		switch c.def.name {
		case "recv-queue":
			sent, from := 0, ""
			for _, line := range lines {
				if name, text, ok := sendOf(line); ok {
					sent, from = sent+len(text), name
				}
			}
			if r, ok := p.peerOf(from); ok && onSide(&world{memory: p.memory}, r.sock, c.Word) {
				receiver, want, before = r, c.N, c.N-sent
			}
		case "received":
			w := strings.Fields(lines[len(lines)-1])
			if len(lines) == 1 && len(w) == 2 && w[0] == "recv" {
				if r, ok := p.socketNamed(w[1]); ok && c.N <= steps.DefaultBufSize {
					receiver, want, before = r, c.N, c.N
				}
			}
		}
	}
	waiting := receiver.snap.RecvQ
	if before < 0 || !receiver.snap.QueuesKnown || waiting == before || least && waiting > before {
		return "", lines
	}
	again, ok := p.sendsBefore(before, least, t.fill)
	if !ok {
		return "", lines
	}
	read := "recv " + receiver.sock.Name
	if waiting > steps.DefaultBufSize {
		read += " --all"
	}
	var redo []string
	if waiting > 0 {
		redo = append(redo, read)
	}
	redo = append(redo, again...)
	if least {
		note = fmt.Sprintf("%s has %d bytes waiting in its receive queue; this step's answer reads %d and wants bytes left after: it needs at least %d waiting from what the steps before sent, so the answer",
			receiver.sock.Label(), waiting, want, before)
	} else {
		note = fmt.Sprintf("%s has %d bytes waiting in its receive queue; this step's answer reaches the %d bytes it wants only from %d waiting, and bytes sent cannot be taken back, so the answer",
			receiver.sock.Label(), waiting, want, before)
	}
	switch {
	case waiting > 0 && len(again) > 0:
		note += " reads them out first, then sends again what the steps before sent."
	case waiting > 0:
		note += " reads them out first."
	default:
		note += " first sends again what the steps before sent."
	}
	return note, append(redo, lines...)
}

// sendsBefore are the send lines of the answers of the steps before the
// one being played, filled in, nearest last, that send n bytes in all, or
// at least n when least is set; ok is false when no run of them does.
func (p *play) sendsBefore(n int, least bool, fill func(string) string) (lines []string, ok bool) {
	sum := 0
	for i := p.page - 1; i >= 0 && sum < n; i-- {
		answer := p.lesson.Pages[i].Step.Answer
		for k := len(answer) - 1; k >= 0 && sum < n; k-- {
			line := fill(answer[k])
			if _, text, ok := sendOf(line); ok {
				sum += len(text)
				lines = slices.Insert(lines, 0, line)
			}
		}
	}
	return lines, sum == n || least && sum > n
}

// sendOf reads a `send SOCK TEXT…` line: the socket's name and the bytes
// it sends, its words joined by spaces; ok is false for any other line.
func sendOf(line string) (name, text string, ok bool) {
	w, err := repl.SplitWords(line)
	if err != nil || len(w) < 3 || w[0] != "send" || slices.ContainsFunc(w, func(s string) bool { return strings.HasPrefix(s, "--") }) {
		return "", "", false
	}
	return w[1], strings.Join(w[2:], " "), true
}

// sendtoOf reads a `sendto SOCK HOST PORT TEXT…` line: the port it sends
// to and the bytes it sends, its words joined by spaces; ok is false for
// any other line.
func sendtoOf(line string) (port uint16, text string, ok bool) {
	w, err := repl.SplitWords(line)
	if err != nil || len(w) < 5 || w[0] != "sendto" || slices.ContainsFunc(w, func(s string) bool { return strings.HasPrefix(s, "--") }) {
		return 0, "", false
	}
	n, err := strconv.ParseUint(w[3], 10, 16)
	return uint16(n), strings.Join(w[4:], " "), err == nil
}

// boundAt is the lesson's UDP socket bound at port, as look last read it.
func (p *play) boundAt(port uint16) (live, bool) {
	i := slices.IndexFunc(p.sockets, func(l live) bool {
		return port != 0 && l.sock.Kind == steps.Datagram && l.snap.Local.Port() == port
	})
	if i < 0 {
		return live{}, false
	}
	return p.sockets[i], true
}

// peerOf is the lesson's socket at the other end of the connection of
// the socket called name, as look last read them.
func (p *play) peerOf(name string) (live, bool) {
	s, ok := p.socketNamed(name)
	if !ok || !s.snap.Connected() {
		return live{}, false
	}
	i := slices.IndexFunc(p.sockets, func(l live) bool { return oneConnection(s, l) })
	if i < 0 {
		return live{}, false
	}
	return p.sockets[i], true
}

// madeName is the name a `socket … as NAME` line gives the socket it
// makes; ok is false for any other line.
func madeName(line string) (name string, ok bool) {
	w := strings.Fields(line)
	if len(w) < 3 || w[0] != "socket" || w[len(w)-2] != "as" {
		return "", false
	}
	return w[len(w)-1], true
}

// boundAsAsked says whether a socket bound at local is where `bind SOCK
// host port` asks: "" is every interface, and port 0 any port.
func boundAsAsked(local netip.AddrPort, host, port string) bool {
	want, err := netip.ParseAddr(strings.Trim(host, "[]"))
	switch {
	case host == "":
		want, err = netip.IPv4Unspecified(), nil
		if local.Addr().Is6() {
			want = netip.IPv6Unspecified()
		}
	case err != nil:
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && local.Addr().Unmap() == want.Unmap() && (n == 0 || n == int(local.Port()))
}

// connectedAsAsked says whether a socket whose peer is remote is
// connected where `connect SOCK host port` asks.
func connectedAsAsked(remote netip.AddrPort, host, port string) bool {
	want, err := netip.ParseAddr(strings.Trim(strings.Trim(host, `"`), "[]"))
	n, perr := strconv.Atoi(port)
	return err == nil && perr == nil && remote.IsValid() && steps.SameEnd(remote, netip.AddrPortFrom(want, uint16(n)))
}

// reusing says whether s has an option on that lets a bind share a port
// another socket holds: SO_REUSEADDR or SO_REUSEPORT.
func reusing(s *steps.Socket) bool {
	for _, name := range []string{"SO_REUSEADDR", "SO_REUSEPORT"} {
		if on, _ := steps.OptionOn(s, name); on {
			return true
		}
	}
	return false
}

// socketCommand is the command that makes a socket of the same kind and
// family as s, with its name.
func socketCommand(s *steps.Socket) string {
	cmd := "socket"
	if s.Kind == steps.Datagram {
		cmd += " udp"
	}
	if s.Family == steps.IPv6 {
		cmd += " ipv6"
	}
	return cmd + " as " + s.Name
}
