package steps

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

var sendtoProse = loadProse("sendto.txt", stepSections...)

// SendtoStep sends one datagram to an address: sendto(3, "ping", 4, 127.0.0.1:9090) = 4.
var SendtoStep = &Step{
	Name:     "sendto",
	Usage:    "sendto SOCK HOST PORT TEXT…",
	Example:  `sendto u 127.0.0.1 9090 "ping"`,
	Summary:  "send one datagram to an address (UDP)",
	About:    sendtoProse.About(),
	Complete: socketNames(hostsThenNothing),
	Run:      runSendto,
}

// sendtoData is what sendto.txt can use.
type sendtoData struct {
	GoAddr          string // the address as Go code for x/sys/unix
	Name, Label, Py string
	FD              int
	To, PyHost      string
	Port            int
	Sent            int
	PyBytes         string
	Local           string
	AutoBound       bool   // the kernel gave the socket an address to send from
	Receiver        string // the lab's socket bound to the destination, or ""
	ReceiverName    string
	Deaf            string // or the lab's socket there that is connected to another peer
	DeafPeer        string // that peer
	Refused         bool   // and this socket is connected to the destination: it hears of the drop
	Stream          bool
}

func runSendto(ctx context.Context, l *Lab, args []string) (*Report, error) {
	s, err := l.find(args, "should send")
	if err != nil {
		return nil, err
	}
	if len(args) < 4 {
		return nil, usageErr("sendto takes a socket, the destination's host and port, and the text")
	}
	port, err := parsePort(args[2], "")
	if err != nil {
		return nil, err
	}
	addr, _, err := resolveHost(args[1], s.Family)
	if err != nil {
		return nil, err
	}
	to := netip.AddrPortFrom(addr, port)
	msg := []byte(strings.Join(args[3:], " "))
	before := Read(s)
	data := sendtoData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, To: to.String(), PyHost: pyHost(args[1]),
		Port: int(port), PyBytes: pyBytes(msg), AutoBound: !before.Bound(), Stream: s.Kind == Stream,
		GoAddr: goSockaddr(s.Family, to)}
	call := fmt.Sprintf("sendto(%d, %s, %d, %s)", s.FD, quoteShort(msg), len(msg), to)
	sent, _, stop, err := l.send(ctx, s, msg, sockaddr(s.Family, to), 0, call)
	if stop != nil {
		return stop, nil
	}
	if err != nil {
		return sendtoProse.refused(call, err, data), nil
	}
	after := Read(s)
	data.Sent, data.Local = sent, after.Local.String()
	report := &Report{
		Call:  fmt.Sprintf("%s = %d", call, sent),
		State: []Change{{Who: s.Label(), Before: addressState(s, before), After: addressState(s, after)}},
	}
	if s.Kind == Stream {
		// The address is ignored: the bytes go down the connection, to
		// the socket at its other end, as with send.
		peer := l.peerOf(s, after)
		if peer != nil {
			data.Receiver, data.ReceiverName = peer.Label(), peer.Name
			report.State = append(report.State, Change{Who: peer.Label(), After: queues(l.look(peer))})
		}
		if after.Connected() {
			report.Packets = []Packet{{From: s.Name, To: l.endName(s, after, peer), What: fmt.Sprintf("%d bytes", sent)}}
		}
	} else {
		receiver := to.String()
		if r, snap, ok := l.boundTo(s.Kind, to); ok {
			receiver = r.Name
			report.State = append(report.State, Change{Who: r.Label(), After: queues(snap)})
			// A connected UDP socket takes datagrams from its peer only;
			// sent from every interface, the route picks the address.
			if snap.Connected() && !covers(after.Local, snap.Remote) {
				data.Deaf, data.DeafPeer = r.Label(), snap.Remote.String()
				data.Refused = after.Connected() && sameEnd(after.Remote, to)
			} else {
				data.Receiver, data.ReceiverName = r.Label(), r.Name
			}
		}
		report.Packets = []Packet{{From: s.Name, To: receiver, What: fmt.Sprintf("datagram %d bytes", sent)}}
	}
	sendtoProse.code(report, data)
	report.Says = sendtoProse.Render("says", data)
	report.Next = sendtoProse.Render("next", data)
	return report, nil
}

// boundTo finds the lab's socket of kind k bound to the address, as a
// datagram's receiver.
func (l *Lab) boundTo(k Kind, to netip.AddrPort) (*Socket, Snapshot, bool) {
	return l.socketWhere(k, func(_ *Socket, snap Snapshot) bool { return covers(snap.Local, to) })
}

// socketWhere finds the lab's first socket of kind k whose addresses and
// queues (poll and fcntl are not read) satisfy match.
func (l *Lab) socketWhere(k Kind, match func(*Socket, Snapshot) bool) (*Socket, Snapshot, bool) {
	for _, s := range l.Sockets() {
		if s.Kind != k {
			continue
		}
		if snap := readState(s); match(s, snap) {
			return s, snap, true
		}
	}
	return nil, Snapshot{}, false
}
