package steps

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Family is the address family a socket was made for.
type Family int

// The two families sockstep teaches.
const (
	IPv4 Family = iota
	IPv6
)

func (f Family) String() string {
	if f == IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// Constant is the name C and Python give the family.
func (f Family) Constant() string {
	if f == IPv6 {
		return "AF_INET6"
	}
	return "AF_INET"
}

// everyInterface is the family's address for every interface: 0.0.0.0
// or ::.
func (f Family) everyInterface() netip.Addr {
	if f == IPv6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// loopbackAddr is this machine's own address in the family: 127.0.0.1
// or ::1.
func (f Family) loopbackAddr() netip.Addr {
	if f == IPv6 {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// domain is the family's number, as socket() takes it.
func (f Family) domain() int {
	if f == IPv6 {
		return unix.AF_INET6
	}
	return unix.AF_INET
}

// Kind is the socket type: a byte stream (TCP) or datagrams (UDP).
type Kind int

// The two kinds sockstep teaches.
const (
	Stream Kind = iota
	Datagram
)

func (k Kind) String() string {
	if k == Datagram {
		return "UDP"
	}
	return "TCP"
}

// Constant is the name C and Python give the type.
func (k Kind) Constant() string {
	if k == Datagram {
		return "SOCK_DGRAM"
	}
	return "SOCK_STREAM"
}

// number is the type's number, as socket() takes it.
func (k Kind) number() int {
	if k == Datagram {
		return unix.SOCK_DGRAM
	}
	return unix.SOCK_STREAM
}

// A Socket is one live socket of the lab: the learner's name for it, the
// file descriptor the kernel gave it, and what it was made as. Everything
// else about it (addresses, state, queues) is read from the kernel when
// asked, never remembered.
type Socket struct {
	Name   string
	FD     int
	Family Family
	Kind   Kind
	// AcceptedFrom names the listener this socket came from, or "".
	AcceptedFrom string
	// shutRead and shutWrite say which directions the shutdown step has
	// shut: the kernel shows a read side shut down, but not whether this
	// side or the peer's FIN did it once the connection is gone.
	shutRead, shutWrite bool
	// connectCalled: the connect step has been run on it, whatever came
	// of it, so a CLOSED socket that was not accepted either has never
	// had a connection.
	connectCalled bool
	// connecting: a connect began a handshake (EINPROGRESS, EALREADY)
	// whose end no connect has reported yet, as the socket layer
	// remembers: the next connect sends no SYN of its own.
	connecting bool
	// synSent is when the connect step began the handshake that is under
	// way or last ended, whose SYN a refusal answers; listening is when
	// the listen step made the socket a listener. A listener of the lab
	// that began to listen after a refused connect was made cannot be why
	// it was refused (whyRefused): the kernel keeps neither time.
	synSent, listening time.Time
	// port is sock_diag's last answer to whether this CLOSED TCP socket
	// holds the port getsockname reports (bound_linux.go): it stands until
	// bind, listen or connect run on the socket again.
	port atomic.Pointer[portAnswer]
	// lastConn is the two ends of the connection this CLOSED TCP socket
	// had, as the kernel still records them, kept when readState last
	// read them: the connection may live on in TIME_WAIT, which ports
	// names after the socket, and after it is closed too.
	lastConn atomic.Pointer[endKey]

	label string // Label, made once the lab has named the socket
}

// Label is how a socket is always printed: its name and its fd together.
func (s *Socket) Label() string {
	if s.label != "" {
		return s.label
	}
	return s.Name + " (fd " + strconv.Itoa(s.FD) + ")"
}

// Proto is the short form used in tables: tcp4, tcp6, udp4, udp6.
func (s *Socket) Proto() string {
	p := "tcp"
	if s.Kind == Datagram {
		p = "udp"
	}
	if s.Family == IPv6 {
		return p + "6"
	}
	return p + "4"
}

// Py is the socket's name as a Python variable.
func (s *Socket) Py() string { return strings.ReplaceAll(s.Name, "-", "_") }

// MaxSockets bounds how many sockets one lab holds open at once, so that no
// script or loop can exhaust the process's file descriptors.
const MaxSockets = 512

// maxGone bounds how many closed sockets' names a lab remembers, to say
// how each went when the learner names it again.
const maxGone = MaxSockets

// A Lab is the table of live sockets a learner has made, in the order they
// were made. It is safe for the background watcher to read while a step
// runs.
type Lab struct {
	mu        sync.Mutex
	sockets   []*Socket
	gone      map[string]string // name → how it went, for a clear message
	made      map[string]int    // prefix ("s", "c") → how many names handed out
	history   []Event           // the latest calls, for the sequence diagram
	forgotten int               // the calls made before those
	ended     map[endKey]string // closed sockets' connections: the diagram and ports name them
	buf       []byte            // recv's buffer, kept for the next recv; steps run one at a time

	// Waiting, when set, is told what a step is about to wait for, before
	// it blocks, so the learner knows why nothing happens and that Ctrl-C
	// stops it. what writes the sentence, which costs something, so a
	// Waiting that shows nothing need not call it.
	Waiting func(what func() string)

	// CallsOnly has the steps make their calls and report what the calls
	// returned, and nothing else: no kernel state is read for the state
	// lines and no prose is written, because nobody will see them (auto
	// server --quiet prints only the tutorial's own lines). A refused call
	// is still explained. Set it before the first step.
	CallsOnly bool

	// Driven says that a program, not the learner, chooses each next call
	// (auto plays the tutorial's programs): the steps suggest none.
	Driven bool

	// SuggestFrom, when set and not answering zero, is the port a
	// suggested bind starts from instead of the tutorial's 8081 (TCP) or
	// 9090 (UDP): the port of the lesson being played, so that the
	// example a refused command shows agrees with what the lesson asks for.
	SuggestFrom func() int

	// Blocking says that the program driving the lab never makes a socket
	// non-blocking nor gives it SO_RCVTIMEO or SO_SNDTIMEO (auto sets no
	// option at all), so that a wait need not read them back from the
	// kernel before it blocks: two system calls fewer for each client of
	// auto server (BENCHMARKS.md).
	Blocking bool

	// ProseWhenShown has the steps leave their reports' prose to be
	// written by Report.Narrate as the report is shown, so that a program
	// that shows reports on a goroutine of its own (auto's narration) does
	// not write it on the goroutine that makes the calls.
	ProseWhenShown bool

	// Progress, when set, is told how a long transfer is going.
	Progress func(done, total int)

	// Timeout, when not zero, bounds each wait of a call given no
	// --timeout of its own, on a socket with no SO_RCVTIMEO or SO_SNDTIMEO
	// of its own: sockstep --timeout, so that no run waits for ever.
	Timeout time.Duration
}

// NewLab returns an empty lab.
func NewLab() *Lab {
	return &Lab{gone: map[string]string{}, made: map[string]int{}}
}

// Sockets returns the live sockets in the order they were made.
func (l *Lab) Sockets() []*Socket {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Socket(nil), l.sockets...)
}

// Find looks a socket up by its name or by its fd number.
func (l *Lab) Find(ref string) (*Socket, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.sockets {
		if s.Name == ref {
			return s, nil
		}
	}
	if fd, err := strconv.Atoi(ref); err == nil {
		for _, s := range l.sockets {
			if s.FD == fd {
				return s, nil
			}
		}
		return nil, &UsageError{Problem: fmt.Sprintf("no socket of this session has fd %d", fd)}
	}
	if how, ok := l.gone[ref]; ok {
		return nil, &UsageError{Problem: fmt.Sprintf("%s is gone: %s; make a new one with `socket as %s`", ref, how, ref)}
	}
	if len(l.sockets) == 0 {
		hint := "`socket as NAME`"
		if validName(ref) == nil {
			hint = "`socket as " + ref + "`"
		}
		return nil, &UsageError{Problem: fmt.Sprintf("there is no socket called %s yet: make one with %s", QuoteShort(ref), hint)}
	}
	return nil, &UsageError{Problem: fmt.Sprintf("there is no socket called %s; the live sockets are %s", QuoteShort(ref), l.namesLocked())}
}

func (l *Lab) namesLocked() string {
	var names []string
	for _, s := range l.sockets {
		names = append(names, s.Label())
	}
	return strings.Join(names, ", ")
}

// Names lists the live sockets' names, for completion.
func (l *Lab) Names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var names []string
	for _, s := range l.sockets {
		names = append(names, s.Name)
	}
	return names
}

// checkNewName says whether the lab may hold one more socket, named name,
// or with "" one whose name the lab chooses.
func (l *Lab) checkNewName(name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if name != "" {
		if err := validName(name); err != nil {
			return err
		}
		for _, s := range l.sockets {
			if s.Name == name {
				return &UsageError{Problem: fmt.Sprintf("the name %s is already taken by %s; choose another name, or `close %s` first", name, s.Label(), name)}
			}
		}
	}
	if len(l.sockets) >= MaxSockets {
		return &UsageError{Problem: fmt.Sprintf("this session already holds %d sockets, sockstep's own limit; `close all` or close some first", MaxSockets)}
	}
	return nil
}

// reserved words cannot name a socket: they mean something in a command.
var reserved = map[string]bool{"all": true, "as": true, "tcp": true, "udp": true, "ipv4": true, "ipv6": true, "any": true, "localhost": true}

// inCode are the words a name would clash with in the lines each step
// gives in Python, C and Go: their keywords, the functions, types and
// modules the lines use (bind, ssize_t, make, os), and the names those
// lines declare themselves. A variable of one of these names would hide
// what the lines mean by it, and they would no longer compile or run.
var inCode = func() map[string]bool {
	words := map[string]bool{}
	for _, list := range []string{
		// Python
		"False None True and assert async await break class continue def del elif else except finally for from " +
			"global if import in is lambda nonlocal not or pass raise return try while with yield socket time print " +
			"os bool",
		// C
		"auto case char const default do double enum extern float goto int long register short signed sizeof " +
			"static struct switch typedef union unsigned void volatile " +
			"accept bind close connect fcntl getsockopt listen recv recvfrom send sendto setsockopt shutdown ssize_t socklen_t",
		// Go
		"chan defer fallthrough func go interface map package range select type var unix nil _ " +
			"byte make uintptr true false",
		// what the lines declare
		"err n value flags buf fromlen len client_address address_length nonblocking addr data to clientAddress address",
	} {
		for _, w := range strings.Fields(list) {
			words[w] = true
		}
	}
	return words
}()

// cConstant matches the names of the constants the C lines use (AF_INET,
// SO_LINGER, MSG_NOSIGNAL): C's headers make them macros, which a
// variable's name cannot be.
var cConstant = regexp.MustCompile(`^(AF|SOCK|SOL|SO|IPPROTO|IPV6|IP|TCP|MSG|SHUT|F|O|INADDR)_`)

func validName(name string) error {
	if inCode[name] || cConstant.MatchString(name) {
		return &UsageError{Problem: fmt.Sprintf("%s cannot name a socket: the Python, C or Go line of each step would use it for something else (a keyword, a function, type or constant they use, or a name they declare); choose another, such as server or client", QuoteShort(name))}
	}
	ok := name != "" && len(name) <= 32 && !reserved[name]
	for i, r := range name {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
		digit := r >= '0' && r <= '9'
		if !(letter || (i > 0 && (digit || r == '-'))) {
			ok = false
		}
	}
	if !ok {
		return &UsageError{Problem: fmt.Sprintf("%s cannot name a socket: use a letter, then letters, digits, _ or - (at most 32), and none of the words all, as, tcp, udp, ipv4, ipv6, any, localhost", QuoteShort(name))}
	}
	return nil
}

// add puts a new socket in the table, naming it prefix1, prefix2, … when the
// learner gave no name.
func (l *Lab) add(s *Socket, prefix string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for s.Name == "" {
		l.made[prefix]++
		name := fmt.Sprintf("%s%d", prefix, l.made[prefix])
		if l.nameTakenLocked(name) {
			continue
		}
		s.Name = name
	}
	delete(l.gone, s.Name)
	s.label = s.Name + " (fd " + strconv.Itoa(s.FD) + ")"
	l.sockets = append(l.sockets, s)
}

// FreeName is base if no live socket has that name, or else base2,
// base3, …: a name the learner can give a new socket.
func (l *Lab) FreeName(base string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	name := base
	for n := 2; l.nameTakenLocked(name); n++ {
		name = base + strconv.Itoa(n)
	}
	return name
}

func (l *Lab) nameTakenLocked(name string) bool {
	for _, s := range l.sockets {
		if s.Name == name {
			return true
		}
	}
	return false
}

// Owners reads this session's sockets once and returns what names the
// socket that holds, or held, a connection of the kernel's table:
// "server (fd 3)", by the inode of its descriptor; "was c (fd 4)" for the
// TIME_WAIT entry of a connection that is over while its socket, CLOSED,
// is still open; "was client" for one whose socket is closed; or "" for
// one this session never had.
func (l *Lab) Owners() func(c Connection) string {
	type ended struct {
		label    string
		lastConn endKey // the connection it had
	}
	var over []ended
	sockets := l.Sockets()
	inodes := byInode(sockets)
	for _, s := range sockets {
		if s.Kind == Stream && readState(s).State == Closed {
			if k := s.lastConn.Load(); k != nil {
				over = append(over, ended{s.Label(), *k})
			}
		}
	}
	return func(c Connection) string {
		if c.Inode != 0 {
			// A descriptor holds it: this session's, or another's.
			if s := inodes[c.Inode]; s != nil {
				return s.Label()
			}
			return ""
		}
		if c.Kind != Stream {
			return ""
		}
		for _, h := range over {
			if c.State == TimeWait && h.lastConn == endOf(c.Local, c.Remote) {
				return "was " + h.label
			}
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if name, ok := l.ended[endOf(c.Local, c.Remote)]; ok {
			return "was " + name
		}
		return ""
	}
}

// byInode maps the inode of each socket's descriptor, by which the
// kernel's tables name a socket, to the socket.
func byInode(sockets []*Socket) map[uint64]*Socket {
	inodes := make(map[uint64]*Socket, len(sockets))
	for _, s := range sockets {
		var st unix.Stat_t
		if unix.Fstat(s.FD, &st) == nil {
			inodes[st.Ino] = s
		}
	}
	return inodes
}

// remove takes a socket out of the table and remembers how it went.
func (l *Lab) remove(s *Socket, how string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, t := range l.sockets {
		if t == s {
			l.sockets = append(l.sockets[:i], l.sockets[i+1:]...)
			break
		}
	}
	if _, known := l.gone[s.Name]; !known && len(l.gone) >= maxGone {
		for name := range l.gone {
			delete(l.gone, name) // any one: the message for it is plainer, no more
			break
		}
	}
	l.gone[s.Name] = how
	if k := s.lastConn.Load(); k != nil {
		l.keepEndLocked(*k, s.Name) // it may be in TIME_WAIT still
	}
}

// Watch runs f with the table locked, so that no socket is closed (and its
// fd number reused) while f reads the kernel's state. f must not block.
func (l *Lab) Watch(f func(live []*Socket)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l.sockets)
}

// A portAnswer says whether a CLOSED TCP socket, getsockname reporting
// local, holds that port.
type portAnswer struct {
	local netip.AddrPort
	holds bool
}
