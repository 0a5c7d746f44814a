package steps

import (
	"fmt"
	"strconv"
)

// ExampleNow is an example of the step that works when typed now, for a
// refused command to show: it names a socket of the lab in the state the
// call needs (a bound TCP socket for listen, a listener for accept, a
// connection for send), or, where the lab has none, it is the step that
// has to come first. Step.Example, which names sockets the lab may not
// have, stays the example `help` documents.
func (l *Lab) ExampleNow(st *Step) string {
	e := examples{lab: l, sockets: l.Sockets(), snaps: map[*Socket]Snapshot{}}
	switch st {
	case SocketStep:
		return e.socket(Stream, "server")
	case BindStep:
		return e.bind(nil)
	case ListenStep:
		return e.listen()
	case AcceptStep:
		return e.accept()
	case ConnectStep:
		return e.connect()
	case SendStep:
		if c := e.first(e.canSend); c != nil {
			return fmt.Sprintf(`send %s "hello"`, c.Name)
		}
		return e.connect()
	case RecvStep:
		// One with something to read returns at once; any other waits.
		if c := e.first(func(s *Socket) bool { return e.connected(s) && e.readable(s) }); c != nil {
			return "recv " + c.Name
		}
		if c := e.first(e.connected); c != nil {
			return "recv " + c.Name
		}
		return e.connect()
	case CloseStep, OptionStep:
		if len(e.sockets) == 0 {
			return e.socket(Stream, "server")
		}
		if st == CloseStep {
			return "close " + e.sockets[len(e.sockets)-1].Name
		}
		return fmt.Sprintf("option %s SO_REUSEADDR on", e.sockets[0].Name)
	case ShutdownStep:
		if c := e.first(func(s *Socket) bool { return s.Kind == Stream && e.canSend(s) }); c != nil {
			return "shutdown " + c.Name + " write"
		}
		return e.connect()
	case SendtoStep:
		return e.sendto()
	case RecvfromStep:
		return e.recvfrom()
	}
	return st.Example
}

// examples reads the lab's sockets for ExampleNow, each once, when it is
// first asked about.
type examples struct {
	lab     *Lab
	sockets []*Socket
	snaps   map[*Socket]Snapshot
}

// snap is what the kernel says of s, read the first time it is asked for.
func (e examples) snap(s *Socket) Snapshot {
	snap, ok := e.snaps[s]
	if !ok {
		snap = readState(s)
		e.snaps[s] = snap
	}
	return snap
}

// first is the first socket made that fits, or nil.
func (e examples) first(fits func(*Socket) bool) *Socket {
	for _, s := range e.sockets {
		if fits(s) {
			return s
		}
	}
	return nil
}

// fresh says whether s has no address, no peer and no past: bind,
// listen and connect are made for it.
func (e examples) fresh(s *Socket) bool {
	snap := e.snap(s)
	return !snap.Bound() && !snap.Connected() && !snap.Released.IsValid() && !s.connectCalled && s.AcceptedFrom == "" &&
		(s.Kind == Datagram || snap.State == Closed)
}

// connected says whether s is a TCP connection that recv and send work
// on, or a connected UDP socket.
func (e examples) connected(s *Socket) bool {
	snap := e.snap(s)
	if s.Kind == Datagram {
		return snap.Connected()
	}
	return snap.State == Established || snap.State == CloseWait
}

// canSend says whether send on s would send: it is connected, and its
// sending side not shut down.
func (e examples) canSend(s *Socket) bool { return e.connected(s) && !s.shutWrite }

// readable says whether recv on s returns at once: bytes wait, or the
// peer has closed.
func (e examples) readable(s *Socket) bool {
	snap := e.snap(s)
	return snap.DatagramWaiting() || snap.State == CloseWait
}

// socket makes a new socket of kind k, named after base; when the lab
// holds as many as it may, it closes one instead.
func (e examples) socket(k Kind, base string) string {
	if len(e.sockets) >= MaxSockets {
		return "close " + e.sockets[len(e.sockets)-1].Name
	}
	if k == Datagram {
		return "socket udp as " + e.lab.FreeName(base)
	}
	return "socket as " + e.lab.FreeName(base)
}

// bind gives a fresh socket of kind *k (of either kind if k is nil) a
// port it can have now: the tutorial's on every interface for TCP, 9090
// on the loopback address for UDP, or the next free one.
func (e examples) bind(k *Kind) string {
	s := e.first(func(s *Socket) bool { return (k == nil || s.Kind == *k) && e.fresh(s) })
	if s == nil {
		if k != nil && *k == Datagram {
			return e.socket(Datagram, "u")
		}
		return e.socket(Stream, "server")
	}
	host, shown := s.Family.everyInterface(), `""`
	if s.Kind == Datagram {
		host = s.Family.loopbackAddr()
		shown = host.String()
	}
	port := freePortFrom(sharingOf(s), s.Family, s.Kind, host, e.lab.suggestFrom(s.Kind))
	return fmt.Sprintf("bind %s %s %d", s.Name, shown, port)
}

// listen makes a listener of a bound TCP socket, or first binds one.
func (e examples) listen() string {
	if s := e.first(func(s *Socket) bool {
		snap := e.snap(s)
		return s.Kind == Stream && snap.Bound() && snap.State == Closed && !snap.Connected() && !s.connectCalled && s.AcceptedFrom == ""
	}); s != nil {
		return "listen " + s.Name
	}
	stream := Stream
	return e.bind(&stream)
}

// accept takes a connection off a listener's queue, one that has one
// waiting first; without a listener, it makes one.
func (e examples) accept() string {
	l := e.first(func(s *Socket) bool { return e.snap(s).State == Listen && e.snap(s).AcceptQueue > 0 })
	if l == nil {
		l = e.first(func(s *Socket) bool { return e.snap(s).State == Listen })
	}
	if l == nil {
		return e.listen()
	}
	return fmt.Sprintf("accept %s as %s", l.Name, e.lab.FreeName("conn"))
}

// connect connects a fresh TCP socket to a listener it can reach; it
// makes the socket, or the listener, first where there is none.
func (e examples) connect() string {
	listener := e.first(func(s *Socket) bool { return e.snap(s).State == Listen })
	if listener == nil {
		return e.listen()
	}
	for _, l := range e.sockets {
		if local := e.snap(l).Local; e.snap(l).State == Listen {
			if name, host := e.lab.clientFor(l, local); name != "" {
				return fmt.Sprintf("connect %s %s %d", name, host, local.Port())
			}
		}
	}
	if listener.Family == IPv6 {
		return "socket ipv6 as " + e.lab.FreeName("client")
	}
	return "socket as " + e.lab.FreeName("client")
}

// sendto sends a datagram from a UDP socket to a bound UDP socket it can
// reach, or else to 9090 on the loopback address, where nobody need
// listen: the call works all the same.
func (e examples) sendto() string {
	u := e.first(func(s *Socket) bool { return s.Kind == Datagram })
	if u == nil {
		return e.socket(Datagram, "u")
	}
	name, host, port := e.lab.serverFor(u)
	if name == "" {
		host, port = loopback(u.Family), suggestedFrom[Datagram]
	}
	return fmt.Sprintf(`sendto %s %s %s "ping"`, u.Name, host, strconv.Itoa(port))
}

// recvfrom receives on a UDP socket that has a datagram waiting, or on
// a bound one, which waits; it binds one, or makes one, first.
func (e examples) recvfrom() string {
	if u := e.first(func(s *Socket) bool { return s.Kind == Datagram && e.snap(s).DatagramWaiting() }); u != nil {
		return "recvfrom " + u.Name
	}
	if u := e.first(func(s *Socket) bool { return s.Kind == Datagram && e.snap(s).Bound() }); u != nil {
		return "recvfrom " + u.Name
	}
	datagram := Datagram
	return e.bind(&datagram)
}
