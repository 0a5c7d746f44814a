package steps

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

var listenProse = loadProse("listen.txt", stepSections...)

// DefaultBacklog is what Python's listen() uses when given no number:
// min(SOMAXCONN, 128).
const DefaultBacklog = 128

// ListenStep turns a bound socket into a listening one: listen(3, 128).
var ListenStep = &Step{
	Name:     "listen",
	Usage:    "listen SOCK [BACKLOG]      (BACKLOG defaults to 128, like Python)",
	Example:  "listen server",
	Summary:  "make a bound socket wait for connections",
	About:    listenProse.About(),
	Complete: socketNamesWhere(isStream, nil), // UDP has nothing to listen for: EOPNOTSUPP
	Run:      runListen,
}

// listenData is what listen.txt can use.
type listenData struct {
	Name, Label, Py string
	FD              int
	Backlog         int  // as asked
	Given           bool // whether the learner gave a backlog
	KernelBacklog   int  // what TCP_INFO reports the kernel applies
	Room            int  // how many finished connections may wait: Linux takes one more than the backlog
	Somaxconn       int  // net.core.somaxconn, 0 if not known
	Local           string
	Host            string // where a client on this machine connects: the address, or loopback for every interface
	Port            int
	Every           bool
	AutoBound       bool // the socket had no address, so the kernel chose one
	Datagram        bool
	ConnectHost     string // the host a client on this machine connects to
	ClientIPv6      bool   // and the client must be an IPv6 socket to do so
	Again           bool   // it was listening already: only the backlog changed
	OldBacklog      int    // the backlog it had then
	Waiting         int    // connections in its queue now
	Connecting      bool   // EINVAL from a socket whose connect is still under way (SYN_SENT)
	Ended           bool   // EINVAL from a socket whose connection is over (CLOSED)
	// Client names the lab's socket that can connect to it now, for the
	// suggestion, with the host it gives (ClientHost); or NewClient is a
	// free name for a new socket to make first.
	Client, ClientHost, NewClient string
}

func runListen(_ context.Context, l *Lab, args []string) (*Report, error) {
	s, err := l.find(args, "should listen")
	if err != nil {
		return nil, err
	}
	data := listenData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, Backlog: DefaultBacklog,
		Datagram: s.Kind == Datagram}
	switch len(args) {
	case 1:
	case 2:
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 0 || n > math.MaxInt32 {
			return nil, usageErr(fmt.Sprintf("the backlog is a whole number from 0 to %d, such as 5 or 128, not %s", math.MaxInt32, QuoteShort(args[1])))
		}
		data.Backlog, data.Given = n, true
	default:
		return nil, usageErr("listen takes a socket and an optional backlog")
	}
	before := l.look(s)
	data.AutoBound = !before.Bound()
	call := fmt.Sprintf("listen(%d, %d)", s.FD, data.Backlog)
	s.port.Store(nil) // the socket may hold a port again
	start := time.Now()
	if err := listenCall(s.FD, data.Backlog); err != nil {
		data.Connecting = before.FromKernel && before.State == SynSent
		data.Ended = before.FromKernel && before.State == Closed
		return listenProse.refused(call, err, data), nil
	}
	if before.State != Listen {
		s.listening = start
	}
	after := l.look(s)
	data.KernelBacklog, data.Local, data.Port = after.Backlog, after.Local.String(), int(after.Local.Port())
	data.Again, data.OldBacklog, data.Waiting = before.State == Listen, before.Backlog, after.AcceptQueue
	// The queue is full only when it holds more than the backlog
	// (sk_acceptq_is_full), so one more connection than the backlog waits.
	data.Room = after.Backlog + 1
	data.Every = after.Local.Addr().IsUnspecified()
	data.ConnectHost, data.ClientIPv6 = clientHost(s, after.Local)
	if !l.CallsOnly {
		data.Somaxconn = somaxconn()
	}
	if !l.Driven && !l.CallsOnly {
		data.Client, data.ClientHost = l.clientFor(s, after.Local)
		if data.Client == "" {
			data.NewClient = l.FreeName("c")
		}
	}
	return l.tell(&Report{
		Call:  call + " = 0",
		State: []Change{{Who: s.Label(), Before: before.Summary(s.Kind), After: after.Summary(s.Kind)}},
	}, listenProse, data), nil
}

// somaxconn reads the machine's cap on any backlog, or 0.
func somaxconn() int { return readProcInt("/proc/sys/net/core/somaxconn") }

// readProcInt reads a number the kernel publishes as a file, or 0 where
// this system has no such file.
func readProcInt(name string) int {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// clientFor finds the lab's TCP socket that can connect to the listener s,
// bound to local, from this machine: one of a family that reaches it
// (an IPv6 one whose IPV6_V6ONLY lets it reach an IPv4-mapped address), in
// the state of a new socket (CLOSED, never connected nor accepted, since a
// connection that is over leaves a socket that cannot connect again). It
// returns its name and the host it gives, or no name.
func (l *Lab) clientFor(s *Socket, local netip.AddrPort) (name, host string) {
	t, _, found := l.socketWhere(Stream, func(t *Socket, snap Snapshot) bool {
		if t == s || t.connectCalled || t.AcceptedFrom != "" || !snap.FromKernel || snap.State != Closed {
			return false
		}
		var ok bool
		host, ok = hostFrom(t.Family, s, local)
		// An IPv6 socket with IPV6_V6ONLY on (a bind to ::1 sets it)
		// cannot reach an IPv4-mapped address.
		if ok && local.Addr().Is4In6() { // the host is that address
			on, known := OptionOn(t, "IPV6_V6ONLY")
			ok = known && !on
		}
		return ok
	})
	if !found {
		return "", ""
	}
	return t.Name, host
}

// clientHost is the address a client on this machine connects to, to
// reach a listener bound to local, and whether that client must be an
// IPv6 socket. An IPv6 listener on every interface takes IPv4 clients too,
// unless IPV6_V6ONLY is on, so the learner's default IPv4 socket can
// connect to 127.0.0.1.
func clientHost(s *Socket, local netip.AddrPort) (string, bool) {
	addr := local.Addr()
	if s.Family == IPv4 {
		if addr.IsUnspecified() {
			return loopback(IPv4), false
		}
		return addr.String(), false
	}
	if !addr.IsUnspecified() {
		return addr.String(), true
	}
	if v6only, err := unix.GetsockoptInt(s.FD, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err == nil && v6only == 0 {
		return loopback(IPv4), false
	}
	return loopback(IPv6), true
}
