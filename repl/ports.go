package repl

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"sockstep/steps"
)

// maxPortLines bounds the table of `ports` on a busy machine.
const maxPortLines = 200

// runPorts prints the kernel's tables of TCP and UDP sockets: every socket
// of the machine that holds a port, including TCP connections no process
// holds any more, with the ones this session holds or held named.
func runPorts(s *Session, _ context.Context, args []string) error {
	port := 0
	switch len(args) {
	case 0:
	case 1:
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 || n > 65535 {
			return &steps.UsageError{Problem: fmt.Sprintf("the port is a number from 1 to 65535, not %s", steps.QuoteShort(args[0]))}
		}
		port = n
	default:
		return &steps.UsageError{Problem: "ports takes at most one port"}
	}
	conns, err := steps.Holders()
	if err != nil {
		s.tablesUnread(err)
		return ErrFailed
	}
	shown := portRows(conns, port, s.lab.Owners())
	if len(shown) == 0 {
		what := "the machine"
		if port != 0 {
			what = "port " + args[0]
		}
		s.Printf("  no TCP or UDP socket on %s, in the kernel's tables now\n", what)
		return nil
	}
	var b strings.Builder
	bound, datagrams, waiting, dual, v6only := false, false, false, false, false
	var rows [][]string
	for _, r := range shown[:min(len(shown), maxPortLines)] {
		remote := "—"
		if r.State != steps.Listen {
			remote = steps.ShowAddr(r.Remote)
		}
		proto, state := "tcp", r.State.String()
		switch {
		case r.Kind == steps.Datagram && r.Remote.IsValid():
			proto, state, datagrams = "udp", "connected", true
		case r.Kind == steps.Datagram:
			proto, state, datagrams = "udp", "bound", true
		case r.State == steps.Closed:
			bound = true
		case r.State == steps.TimeWait && r.Timer == steps.TimeWaitTimer:
			state, waiting = fmt.Sprintf("TIME_WAIT %ds", int(r.Expires.Seconds())), true
		}
		sendQ := "—" // a listener's backlog the kernel does not say
		if r.SendQ >= 0 {
			sendQ = fmt.Sprint(r.SendQ)
		}
		local := r.Local.String()
		switch {
		case r.DualStack:
			local, dual = fmt.Sprintf("*:%d", r.Local.Port()), true // as ss shows it
		case r.IPv6Only:
			v6only = true
		}
		rows = append(rows, []string{proto, local, remote, state, fmt.Sprint(r.RecvQ), sendQ, r.owner})
	}
	s.render.table(&b, portColumns, rows, [][]int{{0, 3, 4, 5, 6}, {1, 2}})
	if more := len(shown) - maxPortLines; more > 0 {
		fmt.Fprintf(&b, "  … %d more (`ports PORT` shows one port's)\n", more)
	}
	legend := []string{"Read now from /proc/net/tcp, tcp6, udp and udp6: every TCP and UDP socket of this machine (its network namespace), " +
		"also TCP connections no program holds any more, which the kernel ends after close (FIN_WAIT1, FIN_WAIT2, " +
		"LAST_ACK, TIME_WAIT). For a listener, RECV-Q is its accept queue " +
		"and SEND-Q its backlog, which sock_diag gives, as ss shows them. " +
		"A FIN counts as 1, as in ss: in RECV-Q until recv has returned 0, in SEND-Q until the peer acknowledges it."}
	if bound {
		legend = append(legend, "A TCP socket CLOSED here holds the port it is bound to without listening or connecting: "+
			"sock_diag lists it (ss --bound-inactive), /proc/net/tcp does not.")
	}
	if waiting {
		legend = append(legend, "TIME_WAIT Ns: the kernel keeps the connection N seconds more, to answer a late segment of it, "+
			"then its timer fires and it forgets the connection (ss -o: timer:(timewait,…)).")
	}
	if dual {
		legend = append(legend, "*:P is an IPv6 socket bound to [::]:P with IPV6_V6ONLY off (ss shows it so): "+
			"it takes IPv4 clients of port P too, which it sees as ::ffff:a.b.c.d.")
	}
	if v6only {
		legend = append(legend, "[::]:P is an IPv6 socket bound with IPV6_V6ONLY on: it takes IPv6 only, "+
			"and an IPv4 socket may hold port P beside it.")
	}
	if datagrams {
		legend = append(legend, "For UDP, RECV-Q and SEND-Q are the memory the queued datagrams take, as ss counts it.")
	}
	for _, para := range legend {
		s.render.legend(&b, para)
	}
	s.out.print(b.String())
	return nil
}

// portColumns are the columns of `ports`. Where they do not fit the
// width, each socket is a record: its protocol, state, queues and the
// socket of this session that holds it on a line, its addresses on the
// next.
var portColumns = []column{{"PROTO", false}, {"LOCAL", true}, {"REMOTE", true}, {"STATE", false},
	{"RECV-Q", true}, {"SEND-Q", true}, {"THIS SESSION", false}}

// tablesUnread says that the kernel's tables could not be read, and why:
// with no file descriptor left (EMFILE), sockstep cannot open them.
func (s *Session) tablesUnread(err error) {
	help, ok := steps.ExplainErrno(err)
	if !ok {
		s.problem("sockstep could not read the kernel's tables: "+err.Error(), nil)
		return
	}
	s.problem("sockstep could not read the kernel's tables ("+help.Name+")", nil)
	var b strings.Builder
	s.render.para(&b, "error", err.Error()+". "+help.Meaning+" Reading a file takes a descriptor, as a socket does.")
	s.render.para(&b, "fix", help.Fix+" `sockets` lists this session's sockets.")
	s.out.print(b.String())
}

// A portRow is a line of the kernel's table, with the socket of this
// session that holds or held it.
type portRow struct {
	steps.Connection
	owner string
}

// portRows picks the connections on port (any, if 0) and orders them:
// the session's own sockets first, so that a busy machine does not push
// them past the end of the table; within each part listeners, then the
// server's ends of connections, then the clients' ends, an order that does
// not depend on ephemeral ports.
func portRows(conns []steps.Connection, port int, ownerOf func(steps.Connection) string) []portRow {
	var rows []portRow
	for _, c := range conns {
		if port == 0 || int(c.Local.Port()) == port || int(c.Remote.Port()) == port {
			owner := ownerOf(c)
			if owner == "" && c.InAcceptQueue() {
				owner = "(in an accept queue)"
			}
			rows = append(rows, portRow{c, owner})
		}
	}
	rank := func(r portRow) int {
		n := 0
		if r.owner == "" {
			n = 3
		}
		switch {
		case r.State == steps.Listen:
			return n
		case port != 0 && int(r.Local.Port()) == port:
			return n + 1
		}
		return n + 2
	}
	slices.SortStableFunc(rows, func(a, b portRow) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Local.Port(), b.Local.Port()))
	})
	return rows
}
