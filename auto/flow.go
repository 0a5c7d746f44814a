package auto

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

// The tutorial's names for its sockets, which the steps use as the
// sockets' names, so that each step's Python line is the tutorial's own.
const (
	serverSocket = "server_socket"
	connection   = "connection"
	clientSocket = "client_socket"
)

// connectTimeout bounds the client's handshake and its send: a host that
// drops packets would otherwise keep connect waiting for two minutes.
const connectTimeout = 10 * time.Second

// A flow is one run of a plan: its own lab of sockets, where it shows
// what happens, and what it has done so far.
type flow struct {
	plan  *Plan
	lab   *steps.Lab
	stage Stage
	side  Side // the program whose call is running, for the lab's Waiting
	port  int  // the port the server listens on, read from the kernel
	// listening is the tutorial's line that says so.
	listening string
	// serving is the address of the client the server has accepted and
	// not yet read from, if any: a flow that ends now leaves that client
	// unserved.
	serving netip.AddrPort
	// last says the client being served is the last --count asks for:
	// the server ends after it rather than serving another.
	last bool
	sum  Summary
}

func newFlow(p *Plan, stage Stage) *flow {
	f := &flow{plan: p, lab: steps.NewLab(), stage: stage, sum: Summary{Play: p.Play}}
	// Quiet shows no report, so the steps need not read the kernel's
	// state or write prose for one.
	f.lab.CallsOnly = p.Quiet
	f.lab.Driven = true         // the flow makes the next call itself
	f.lab.Blocking = true       // and sets no option: no O_NONBLOCK, no SO_RCVTIMEO
	f.lab.ProseWhenShown = true // the stage may show reports on a goroutine of its own
	f.lab.Waiting = func(what func() string) { stage.Waiting(f.side, what) }
	f.lab.Timeout = p.Timeout
	return f
}

// call makes one call through the step a learner would type, with the
// words args, and shows its report. With --step it first shows the call
// about to be made and waits for the learner. A wait that Ctrl-C stopped,
// or q at the pause, ends the flow (errStopped); a call the kernel
// refused, or a wait that timed out, is the caller's to judge.
func (f *flow) call(ctx context.Context, side Side, st *steps.Step, args ...string) (*steps.Report, error) {
	if ctx.Err() != nil {
		return nil, errStopped
	}
	if f.plan.Step && !f.stage.Pause(ctx, side, func(room int) string { return f.pause(st, args, room) }) {
		return nil, errStopped
	}
	f.side = side
	f.stage.Command(side, st.Name, args)
	rep, err := st.Run(ctx, f.lab, args)
	if err != nil {
		return nil, err
	}
	f.stage.Report(side, rep)
	if rep.Stopped && ctx.Err() != nil {
		return rep, errStopped
	}
	return rep, nil
}

// must is call for a call the flow cannot go on without: a refused call
// or a wait that ended ends the flow.
func (f *flow) must(ctx context.Context, side Side, st *steps.Step, args ...string) (*steps.Report, error) {
	rep, err := f.call(ctx, side, st, args...)
	if err == nil && rep.Failed() {
		err = f.failed(st, rep)
	}
	return rep, err
}

// failed notes for the summary that the call st made, whose report is
// rep, failed and ends the flow, and returns ErrFailed.
func (f *flow) failed(st *steps.Step, rep *steps.Report) error {
	if rep.Failure != nil {
		f.sum.Failure = st.Name + " failed with " + rep.Failure.Name
	} else { // a wait that ran out: Ctrl-C is not a failure
		f.sum.Failure = st.Name + " timed out"
	}
	return ErrFailed
}

// pause is the line --step shows before the call st makes with args, in
// at most room columns: with the whole of what to press where it fits,
// else with a short "(Enter/q)", showing less of a send's text first
// (down to none; its length stays); where not even that fits, the line
// is cut, with "…".
func (f *flow) pause(st *steps.Step, args []string, room int) string {
	var line string
	for _, section := range []string{"pause", "pause short"} {
		for shown := steps.CallBytes; shown >= 0; shown-- {
			line = prose.Render(section, pauseLine{f.preview(st, args, shown)})
			if utf8.RuneCountInString(line) <= room || st != steps.SendStep {
				break
			}
		}
		if utf8.RuneCountInString(line) <= room {
			return line
		}
	}
	// Too narrow even so (a connect to a long host name): the call is cut.
	if room < 1 {
		return ""
	}
	return string([]rune(line)[:room-1]) + "…"
}

// preview writes the system call that a step, given args, is about to
// make, with the file descriptor it will be made on: what --step shows,
// with at most shown bytes of a send's text.
func (f *flow) preview(st *steps.Step, args []string, shown int) string {
	switch st {
	case steps.SocketStep: // tcp FAMILY as NAME
		if args[1] == "ipv6" {
			return "socket(AF_INET6, SOCK_STREAM, 0)"
		}
		return "socket(AF_INET, SOCK_STREAM, 0)"
	case steps.BindStep: // NAME HOST PORT
		return fmt.Sprintf("bind(%d, %s)", f.fd(args[0]), hostPort(f.address(args[1]), args[2]))
	case steps.ListenStep:
		return fmt.Sprintf("listen(%d, %d)", f.fd(args[0]), steps.DefaultBacklog)
	case steps.ConnectStep: // NAME HOST PORT --timeout D
		return fmt.Sprintf("connect(%d, %s)", f.fd(args[0]), hostPort(f.address(args[1]), args[2]))
	case steps.SendStep: // NAME --timeout D TEXT
		text := args[len(args)-1]
		return fmt.Sprintf("send(%d, %s, %d)", f.fd(args[0]), steps.QuoteCall(text, shown), len(text))
	case steps.RecvStep: // NAME BUFSIZE --timeout D
		return fmt.Sprintf("recv(%d, %s)", f.fd(args[0]), args[1])
	}
	return fmt.Sprintf("%s(%d)", st.Name, f.fd(args[0])) // accept, close
}

// address is the host a call is given as the kernel takes it: for
// --host, a name, the address FindHost found for it, as the step finds it
// again; any other host as it is.
func (f *flow) address(host string) string {
	if host == f.plan.Host && f.plan.hostAddr.IsValid() {
		return f.plan.hostAddr.String()
	}
	return host
}

// fd is the file descriptor of one of the flow's sockets, for the call
// that --step shows before it is made.
func (f *flow) fd(name string) int {
	s, err := f.lab.Find(name)
	if err != nil {
		return -1
	}
	return s.FD
}

// closeAll closes the sockets the flow still holds, the newest first (a
// connection before its listener), each through the close step, so that a
// stopped or failed flow leaves nothing open.
func (f *flow) closeAll() {
	live := f.lab.Sockets()
	slices.Reverse(live)
	for _, s := range live {
		side := Server
		if s.Name == clientSocket {
			side = Client
		}
		f.stage.Command(side, "close", []string{s.Name})
		if rep, err := steps.CloseStep.Run(context.Background(), f.lab, []string{s.Name}); err == nil {
			f.stage.Report(side, rep)
		}
	}
}

// openSocket makes the side's socket, of the family the host is written
// in, and names it as the tutorial does.
func (f *flow) openSocket(ctx context.Context, side Side, name, host string) error {
	family := "ipv4"
	if isIPv6(host) {
		family = "ipv6"
	}
	_, err := f.must(ctx, side, steps.SocketStep, "tcp", family, "as", name)
	return err
}

// isIPv6 says whether host is written as an IPv6 address, such as ::1 or
// :: (every interface), which needs an IPv6 socket.
func isIPv6(host string) bool {
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Is6() && !a.Is4In6()
}

// hostPort writes an address as the calls show it: "" (every interface)
// as 0.0.0.0, an IPv6 address in brackets, a name as it is.
func hostPort(host, port string) string {
	switch host {
	case "", "*", "any":
		host = "0.0.0.0"
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && a.Is6() && !a.Is4In6() {
		return "[" + a.String() + "]:" + port
	}
	return host + ":" + port
}
