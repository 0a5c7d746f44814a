// Package auto plays the tutorial's two programs, network_server.py and
// network_client.py, as sequences of the laboratory's own steps: `auto
// server` is the server, `auto client` the client, and `auto demo` both in
// one process, in the order of the tutorial's figure.
//
// Every call goes through the step a learner would type (steps.AcceptStep
// and the others, on a Lab of the flow's own), so what a flow narrates is
// what the typed commands narrate, read from the same kernel. The flows
// add only the tutorial's control flow (a loop of clients, a greeting, a
// wait), the lines its programs print, and what they do where the
// tutorial's programs would hang or crash: a silent client is dropped after
// --idle-timeout, a reset is survived, and nothing waits for ever.
//
// A flow knows nothing of terminals: it shows what happens through a
// Stage, which the shell (package repl) implements, so that peer bytes,
// colour, columns and the input that --step reads stay the shell's
// business. Its own sentences live in auto.txt.
package auto

import (
	"context"
	"embed"
	"errors"
	"strings"

	"sockstep/steps"
)

//go:embed auto.txt
var proseFiles embed.FS

var prose = steps.LoadProse(proseFiles, "auto.txt", "about", "server intro", "client intro",
	"client intro no wait", "demo intro", "idle", "silent close", "not text", "cut text", "web client", "stranger", "reset", "lost", "no greeting",
	"no greeting closed", "client lost", "pause", "pause short", "summary")

// What auto.txt's sections are given, besides a Summary for [summary] and
// nothing for [about].
type (
	serverIntro struct { // [server intro], [demo intro]
		Every       bool   // listening on every interface
		Tutorial    bool   // and written as the tutorial writes it, ""
		IPv6        bool   // the host is an IPv6 address, which needs an IPv6 socket
		To          string // where a client on this machine connects (demoClientHost)
		Count       int
		IdleTimeout string
	}
	clientIntro struct {
		Host, Port, Wait string
		IPv6             bool // the host is an IPv6 address, which needs an IPv6 socket
	}
	// [idle], [reset], [lost], [silent close]; Call is the call that
	// failed, for [reset]; Over, for [silent close], the connection is
	// CLOSED already: the client's kernel reset it. Last, here and in
	// [not text] and [cut text]: the client is the last --count asks
	// for, and the server ends after it.
	droppedPeer struct {
		Peer, Waited, Timeout, Call, Errno, Python string
		Over, Last                                 bool
	}
	notText struct { // [not text]
		Peer, Bytes string
		Last        bool
	}
	webClient struct{ Peer, Greeting string } // [web client]
	// [stranger]: the client a demo's server accepted (Peer) is not the
	// demo's own, which connected from Own.
	stranger struct {
		Peer, Own, Port string
		Every           bool
		Picked          bool // the kernel picked the port (--port 0)
	}
	// [no greeting], [no greeting closed], [client lost]; Demo: the
	// client is a demo's, which takes no --wait.
	greetingLost struct {
		Wait, Errno string
		Demo        bool
	}
	pauseLine struct{ Call string }
	cutText   struct { // [cut text]
		Peer              string
		Bytes, Have, Need int
		Full, Last        bool
	}
)

// About says what auto does and how each play is typed, for help.
var About = prose.About()

// A Side is the program a line belongs to.
type Side string

// The two programs of the tutorial.
const (
	Server Side = "server"
	Client Side = "client"
)

// A Stage shows a flow as it happens. Its methods are called from the
// flow's goroutine, one at a time, in the order things happen.
type Stage interface {
	// Command shows the command that makes the call about to be made, as
	// a learner would type it: the step's name and its words, as the shell
	// splits them.
	Command(side Side, step string, args []string)
	// Report shows what the call did: the step's report.
	Report(side Side, rep *steps.Report)
	// Print shows a line the tutorial's program prints, as it prints it.
	// The flow has made it safe to show.
	Print(side Side, line string)
	// Message shows bytes a peer sent, where the tutorial prints the
	// message it received. The stage makes them safe to show, as
	// Python's print shows them (AsPrinted).
	Message(side Side, data []byte)
	// Tell shows the flow's own narration, beyond the steps' reports.
	Tell(side Side, text string)
	// Waiting says what a call is about to wait for, before it blocks, as
	// what writes it (a stage that does not show it need not call it).
	// Whatever the stage holds must be on the screen while the call waits.
	Waiting(side Side, what func() string)
	// Pause shows the call about to be made and waits for the learner
	// (--step); false means stop. next is the line to show, in at most
	// room columns.
	Pause(ctx context.Context, side Side, next func(room int) string) bool
}

// AsPrinted turns a line that steps.Printable made safe to show into what
// Python's print shows of it: a backslash as one backslash, where
// Printable doubles it to keep its escapes (\r, \x00, …) unambiguous. Any
// other byte a terminal must not be given stays escaped.
func AsPrinted(safe string) string { return strings.ReplaceAll(safe, `\\`, `\`) }

// A Summary is what a flow did, for the line it ends with.
type Summary struct {
	Play string
	// Clients are the clients the server served: it accepted each and
	// was done with it, having greeted it and read what it sent (a
	// message or nothing), given up on it, or found the connection reset,
	// perhaps before its greeting could go (Reset counts those).
	Clients int
	Dropped int // of those, given up on: silent for --idle-timeout, or their connection failed
	// Reset are those of them that reset the connection ([reset]): the
	// server's send or recv failed with ECONNRESET. The client ended the
	// connection; nobody dropped it.
	Reset int
	// ClosedSilently are those of them that closed their side without
	// sending anything ([silent close]): they left; nobody dropped them.
	ClosedSilently int
	// Unserved is the address of the client the server had accepted, and
	// not yet read a message from, when the flow ended: stopped (Ctrl-C
	// while recv waited, q at a pause) or failed (a demo whose greeting or
	// message could not be sent). "" when there was none. That client is
	// not among Clients.
	Unserved          string
	BytesIn, BytesOut int // bytes received and sent (by the server in a demo)
	Stopped           bool
	Failed            bool // a call failed and ended the flow
	// Failure names that call, and how it failed: "bind failed with
	// EADDRINUSE", "recv timed out"; "" when no call's report says.
	Failure string
}

// String is the summary as one sentence.
func (s Summary) String() string { return prose.Render("summary", s) }

// ErrFailed says that a call failed and ended the flow; the stage has
// shown the call and why.
var ErrFailed = errors.New("a call failed")

// errStopped ends a flow that the learner stopped: Ctrl-C, or q at a pause.
var errStopped = errors.New("stopped")

// Run plays the plan on stage until it is done, a call fails (ErrFailed),
// or ctx is cancelled (Ctrl-C), and closes every socket it opened on the
// way out. A stop is not a failure: it returns the summary and nil.
func (p *Plan) Run(ctx context.Context, stage Stage) (Summary, error) {
	f := newFlow(p, stage)
	var err error
	switch p.Play {
	case "server":
		err = f.server(ctx)
	case "client":
		err = f.client(ctx)
	case "demo":
		err = f.demo(ctx)
	}
	f.closeAll()
	f.sum.Stopped = errors.Is(err, errStopped) || ctx.Err() != nil
	if f.serving.IsValid() {
		f.sum.Unserved = f.serving.String()
	}
	if f.sum.Stopped {
		err = nil
	}
	f.sum.Failed = err != nil
	return f.sum, err
}
