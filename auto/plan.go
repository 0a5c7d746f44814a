package auto

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"sockstep/steps"
)

// The tutorial's defaults: network_server.py listens on every interface at
// port 8081, greets with "You are connected" and reads 1024 bytes;
// network_client.py connects to 127.0.0.1:8081 and sleeps a second before
// it closes.
const (
	DefaultPort        = 8081
	DefaultGreeting    = "You are connected"
	DefaultClientHost  = "127.0.0.1"
	DefaultWait        = time.Second
	DefaultIdleTimeout = 30 * time.Second
)

// Usage is how each of the three is typed.
const Usage = `auto server [--host H] [--port P] [--greeting TEXT] [--bufsize N] [--count N] [--idle-timeout D] [--step] [--quiet]
auto client [--host H] [--port P] [--message TEXT] [--wait D] [--step] [--quiet]
auto demo   [--host H] [--port P] [--step]`

// Plays are the programs auto can play, in the order help lists them.
var Plays = []string{"server", "client", "demo"}

// A Plan is one auto command as the learner typed it: which of the
// tutorial's programs to play, and with what.
type Plan struct {
	Play string // "server", "client" or "demo"

	// Host is, for the server and the demo, where to listen ("" is every
	// interface); for the client, where to connect.
	Host     string
	Port     int    // 0 lets the kernel choose (server and demo)
	Greeting string // what the server sends each client
	BufSize  int    // how much the server's recv takes at most
	// Count is how many clients the server serves before it ends; 0 is
	// until Ctrl-C.
	Count int
	// IdleTimeout is how long the server waits for a client to read the
	// greeting or to send its message before it drops the client.
	IdleTimeout time.Duration
	// Message is what the client sends: the tutorial's message, with the
	// port, unless --message gives another; "" sends nothing, as Python's
	// send(b"") does.
	Message string
	// Wait is how long the client waits for the greeting before it closes;
	// 0 closes without reading.
	Wait time.Duration

	Step  bool // pause before each call until Enter
	Quiet bool // print only the tutorial's own lines

	// Timeout, when not zero, bounds each wait of a call that has no
	// bound of its own (the server's accept): sockstep --timeout, not a
	// flag of auto's.
	Timeout time.Duration

	// hostAddr is the IPv4 address FindHost found for Host, a name: what
	// --step shows the call will use.
	hostAddr netip.Addr
}

// Flags are the flags each play takes, in the order usage and completion
// give them (TestFlagsAreParsesOwn holds them to flagSet's).
var Flags = map[string][]string{
	"server": {"--host", "--port", "--greeting", "--bufsize", "--count", "--idle-timeout", "--step", "--quiet"},
	"client": {"--host", "--port", "--message", "--wait", "--step", "--quiet"},
	"demo":   {"--host", "--port", "--step"},
}

// Switches are the flags that take no value, as flagSet defines them.
var Switches = func() []string {
	var switches []string
	for _, play := range Plays {
		fs, _ := (&Plan{Play: play}).flagSet()
		fs.VisitAll(func(f *flag.Flag) {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() && !slices.Contains(switches, "--"+f.Name) {
				switches = append(switches, "--"+f.Name)
			}
		})
	}
	return switches
}()

// ErrHelp says that the learner asked for auto's help (-h or --help)
// instead of a play.
var ErrHelp = errors.New("auto's help was asked for")

// Parse reads the words after `auto`: the play and its flags. What it
// cannot understand is a *steps.UsageError that says why.
func Parse(args []string) (*Plan, error) {
	if len(args) == 0 {
		return nil, usageErr("auto plays server, client or demo: `auto demo` shows both sides at once")
	}
	p := &Plan{Play: args[0], Port: DefaultPort, Greeting: DefaultGreeting, BufSize: steps.DefaultBufSize,
		IdleTimeout: DefaultIdleTimeout, Wait: DefaultWait}
	if !slices.Contains(Plays, p.Play) {
		return nil, usageErr(fmt.Sprintf("auto plays server, client or demo, not %s", steps.QuoteShort(p.Play)))
	}
	fs, bad := p.flagSet()
	if err := fs.Parse(args[1:]); err != nil {
		if *bad != nil {
			return nil, *bad
		}
		takes := fmt.Sprintf("auto %s takes %s", p.Play, strings.Join(Flags[p.Play], ", "))
		if errors.Is(err, flag.ErrHelp) {
			return nil, ErrHelp
		}
		return nil, usageErr(FlagProblem(err) + "; " + takes)
	}
	if p.Play == "client" && !given(fs, "message") {
		p.Message = TutorialMessage(p.Port)
	}
	if fs.NArg() > 0 {
		return nil, usageErr(p.leftOver(fs.Arg(0)))
	}
	return p, p.check()
}

// leftOver says why a word was left after the flags: the play's text flag
// took the flag after it as its text, or a text with spaces was not
// quoted.
func (p *Plan) leftOver(word string) string {
	flag, text := "--greeting", p.Greeting
	switch p.Play {
	case "client":
		flag, text = "--message", p.Message
	case "demo":
		return fmt.Sprintf("auto demo takes only flags, not %s", steps.QuoteShort(word))
	}
	if strings.HasPrefix(text, "--") {
		return fmt.Sprintf("%s took %s as its text, so %s was left over: give %s a text, as in %s \"Hello there\"",
			flag, steps.QuoteShort(text), steps.QuoteShort(word), flag, flag)
	}
	return fmt.Sprintf("auto %s takes only flags, not %s: quote a text with spaces, as in %s \"Hello there\"", p.Play, steps.QuoteShort(word), flag)
}

// FlagProblem says what the flag package found wrong with a command
// line (auto's, or sockstep's own), with each flag spelled as the usage
// spells it: --hex, not -hex.
func FlagProblem(err error) string {
	msg := err.Error()
	if name, unknown := strings.CutPrefix(msg, "flag provided but not defined: -"); unknown {
		return "there is no option " + steps.QuoteShort(dashed(name))
	}
	if name, bare := strings.CutPrefix(msg, "flag needs an argument: -"); bare {
		return steps.QuoteShort(dashed(name)) + " needs a value after it"
	}
	shown, _ := steps.Clip([]byte(strings.Replace(msg, " -", " --", 1)), 100)
	return steps.Printable(shown)
}

// dashed is a flag's name as it is typed: -c for a letter, --port for a
// word.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// TutorialMessage is what network_client.py sends to a server on port.
func TutorialMessage(port int) string {
	return fmt.Sprintf("Hello Server, I have connected on port %d", port)
}

// flagSet is the flags of p's play, each setting its field of p from its
// default there. bad is where a value that does not parse is told, in
// sockstep's words rather than the flag package's.
func (p *Plan) flagSet() (fs *flag.FlagSet, bad *error) {
	fs = flag.NewFlagSet("auto "+p.Play, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bad = new(error)
	value := func(name, takes string, parse func(string) error) {
		fs.Func(name, "", func(text string) error {
			if parse(text) == nil {
				return nil
			}
			*bad = usageErr(fmt.Sprintf("--%s takes %s, not %s", name, takes, steps.QuoteShort(text)))
			return *bad
		})
	}
	value("port", "a port number", into(&p.Port, strconv.Atoi))
	fs.BoolVar(&p.Step, "step", false, "")
	switch p.Play {
	case "server":
		fs.StringVar(&p.Host, "host", "", "")
		fs.StringVar(&p.Greeting, "greeting", p.Greeting, "")
		value("bufsize", "a number of bytes", into(&p.BufSize, strconv.Atoi))
		value("count", "how many clients to serve", into(&p.Count, strconv.Atoi))
		value("idle-timeout", "a duration such as 30s or 500ms", into(&p.IdleTimeout, time.ParseDuration))
		fs.BoolVar(&p.Quiet, "quiet", false, "")
	case "client":
		fs.StringVar(&p.Host, "host", DefaultClientHost, "")
		fs.StringVar(&p.Message, "message", "", "")
		value("wait", "a duration such as 1s", into(&p.Wait, time.ParseDuration))
		fs.BoolVar(&p.Quiet, "quiet", false, "")
	case "demo":
		fs.StringVar(&p.Host, "host", "", "")
	}
	return fs, bad
}

// given says whether the command line set the flag, even to "".
func given(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// into makes a flag's parse function that sets *v from its text.
func into[T any](v *T, parse func(string) (T, error)) func(string) error {
	return func(text string) (err error) {
		*v, err = parse(text)
		return err
	}
}

// check says what is wrong with the values of the flags, if anything.
func (p *Plan) check() error {
	lowest := 0
	if p.Play == "client" {
		lowest = 1 // a client needs the server's real port
	}
	switch {
	case p.Port < lowest || p.Port > 65535:
		return usageErr(fmt.Sprintf("--port takes a port from %d to 65535, not %d", lowest, p.Port))
	case p.Play == "client" && p.Host == "":
		return usageErr("--host needs the server's address, such as 127.0.0.1")
	case p.BufSize < 1 || p.BufSize > steps.MaxBufSize:
		return usageErr(fmt.Sprintf("--bufsize takes a number of bytes from 1 to %d, not %d", steps.MaxBufSize, p.BufSize))
	case p.Count < 0:
		return usageErr(fmt.Sprintf("--count takes how many clients to serve (0: until Ctrl-C), not %d", p.Count))
	case p.IdleTimeout <= 0:
		return usageErr(fmt.Sprintf("--idle-timeout takes a duration such as 30s or 500ms, not %v", p.IdleTimeout))
	case p.Wait < 0:
		return usageErr(fmt.Sprintf("--wait takes a duration such as 1s (0: do not wait), not %v", p.Wait))
	}
	return nil
}

// A HostError says that --host is a name with no IPv4 address.
type HostError struct{ Host string }

func (e *HostError) Error() string {
	return fmt.Sprintf("cannot find an IPv4 address for %s (--host): check the spelling, or give an address such as 127.0.0.1 "+
		"(auto makes an IPv4 socket for a name, as the tutorial does; ::1 makes an IPv6 one)", steps.QuoteShort(e.Host))
}

// FindHost looks up --host when it is a name, as the steps do for the
// IPv4 socket auto makes for one, so that a name with no address is said
// before any socket is made, not by the call that needs it (a
// *HostError). The steps look the name up again when they use it.
func (p *Plan) FindHost(ctx context.Context) error {
	if everyInterface(p.Host) {
		return nil
	}
	if _, err := netip.ParseAddr(strings.Trim(p.Host, "[]")); err == nil {
		return nil
	}
	addr, ok := steps.LookupName(ctx, p.Host, steps.IPv4)
	if !ok {
		return &HostError{p.Host}
	}
	p.hostAddr = addr
	return nil
}

func usageErr(problem string) error { return &steps.UsageError{Problem: problem} }
