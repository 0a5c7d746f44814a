package steps

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

var socketProse = loadProse("socket.txt", stepSections...)

// SocketStep makes a new socket: socket(AF_INET, SOCK_STREAM, 0).
var SocketStep = &Step{
	Name:     "socket",
	Usage:    "socket [tcp|udp] [ipv4|ipv6] [as NAME]",
	Example:  "socket tcp ipv4 as server",
	Summary:  "make a new socket",
	About:    socketProse.About(),
	Complete: completeSocket,
	Run:      runSocket,
}

// completeSocket offers what socket has not been given yet: a type, a
// family, and `as`. The name after `as` is the learner's to choose, and
// nothing follows it.
func completeSocket(_ *Lab, before []string) []string {
	if slices.Contains(before, "as") {
		return nil
	}
	var words []string
	for _, pair := range [][]string{{"tcp", "udp"}, {"ipv4", "ipv6"}} {
		if !slices.Contains(before, pair[0]) && !slices.Contains(before, pair[1]) {
			words = append(words, pair...)
		}
	}
	return append(words, "as")
}

// socketData is what socket.txt can use.
type socketData struct {
	Name, Label, Py string
	FD              int
	Family, Kind    string // IPv4, TCP
	FamilyConst     string // AF_INET
	KindConst       string // SOCK_STREAM
	Count           int    // sockets now live
	Client          bool   // its name says it will be a client
	Loopback        string // this machine's address in the socket's family
	// Server names the lab's socket this one would most likely talk to,
	// for the suggestion: a TCP listener, or a bound UDP socket not connected, that a
	// socket of this family can reach at ServerHost and ServerPort.
	Server, ServerHost string
	ServerPort         int
	// BindPort is the port the suggested bind asks for, with no Server:
	// the tutorial's 8081 (9090 for UDP), or the first free one after it.
	BindPort int
	// ClientPort is where a suggested connect goes, with no Server: the
	// tutorial's 8081, or the port of the lesson being played.
	ClientPort int
}

func runSocket(_ context.Context, l *Lab, args []string) (*Report, error) {
	args, name, err := takeName(args)
	if err != nil {
		return nil, err
	}
	family, kind := IPv4, Stream
	seen := map[string]bool{}
	for _, a := range args {
		if seen[a] {
			return nil, usageErr(fmt.Sprintf("%s is given twice", a))
		}
		seen[a] = true
		switch a {
		case "tcp":
			kind = Stream
		case "udp":
			kind = Datagram
		case "ipv4":
			family = IPv4
		case "ipv6":
			family = IPv6
		default:
			return nil, usageErr(fmt.Sprintf("%s is not a socket type or family: use tcp or udp, ipv4 or ipv6, and `as NAME` to name it", QuoteShort(a)))
		}
	}
	if seen["tcp"] && seen["udp"] || seen["ipv4"] && seen["ipv6"] {
		return nil, usageErr("a socket is one type (tcp or udp) and one family (ipv4 or ipv6)")
	}
	if err := l.checkNewName(name); err != nil {
		return nil, err
	}

	data := socketData{Name: name, Py: name, Family: family.String(), Kind: kind.String(),
		FamilyConst: family.Constant(), KindConst: kind.Constant(), Loopback: loopback(family)}
	if name == "" {
		data.Py = "s"
	}
	call := fmt.Sprintf("socket(%s, %s, 0)", family.Constant(), kind.Constant())
	giveLowFDs() // the learner's first socket is 3, as in their own program
	fd, err := socketCall(family.domain(), kind.number(), 0)
	if err != nil {
		return socketProse.refused(call, err, data), nil
	}
	s := &Socket{Name: name, FD: fd, Family: family, Kind: kind}
	l.add(s, "s")
	data.Name, data.Label, data.Py, data.FD = s.Name, s.Label(), s.Py(), fd
	data.Count = len(l.Sockets())
	data.Client = strings.Contains(s.Name, "client") || strings.HasPrefix(s.Name, "c")
	if !l.Driven && !l.CallsOnly {
		data.Server, data.ServerHost, data.ServerPort = l.serverFor(s)
		data.ClientPort = l.suggestFrom(Stream)
		switch {
		case data.Server != "":
		case kind == Datagram:
			data.BindPort = freePortFrom(nil, family, kind, family.loopbackAddr(), l.suggestFrom(kind))
		case !data.Client:
			data.BindPort = freePortFrom(nil, family, kind, family.everyInterface(), l.suggestFrom(kind))
		}
	}
	after := l.look(s)
	return l.tell(&Report{
		Call:   fmt.Sprintf("%s = %d", call, fd),
		State:  []Change{{Who: s.Label(), Before: "(none)", After: after.StateWord(kind)}},
		Socket: s.Name,
	}, socketProse, data), nil
}

// serverFor finds the lab's socket that the new socket s would most
// likely talk to: a TCP listener, or for UDP a bound socket that is not
// connected (a connected one takes datagrams from its peer alone), that a
// socket of s's family can reach. It returns its name, and the host and
// port s would give, or no name.
func (l *Lab) serverFor(s *Socket) (name, host string, port int) {
	t, snap, found := l.socketWhere(s.Kind, func(t *Socket, snap Snapshot) bool {
		if t == s || !snap.Bound() || s.Kind == Stream && snap.State != Listen || s.Kind == Datagram && snap.Connected() {
			return false
		}
		var ok bool
		host, ok = hostFrom(s.Family, t, snap.Local)
		return ok
	})
	if !found {
		return "", "", 0
	}
	return t.Name, host, int(snap.Local.Port())
}

// hostFrom is the host a socket of family from gives to reach server,
// bound to local, from this machine; false if it cannot.
func hostFrom(from Family, server *Socket, local netip.AddrPort) (string, bool) {
	if from == IPv6 && server.Family == IPv6 && local.Addr().IsUnspecified() {
		return loopback(IPv6), true
	}
	host, ipv6 := clientHost(server, local)
	return host, ipv6 == (from == IPv6)
}
