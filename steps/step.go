package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A Step is one call of the socket API as a command: what to type, an
// example, what it does, how to complete its arguments, and how to run it.
// The shell's command table lists the steps in the order of a socket's life.
type Step struct {
	Name    string
	Usage   string
	Example string
	Summary string // a few words, for the list of commands
	// About says what the call does, from the step's prose file.
	About string
	// Complete offers words for the next argument, given those before it.
	Complete func(l *Lab, before []string) []string
	// AnyCase says whether the step takes the next argument, given those
	// before it, in any case (option's names and values, shutdown's
	// directions), so that Tab completes it in any case too.
	AnyCase func(before []string) bool
	// Topics, if any, are the things `help NAME TOPIC` explains one by
	// one, in the order `help NAME` lists them: option's socket options.
	Topics []string
	// Topic explains one of Topics, named as a learner types it (in any
	// case, or short): how the step is used for it, and what it is for.
	// The error says what is wrong with a name it does not know.
	Topic func(name string) (usage, about string, err error)
	// Run makes the call, given the words typed after the step's name. It
	// never changes those words, so a caller may give the same ones again.
	Run func(ctx context.Context, l *Lab, args []string) (*Report, error)
}

// Steps are the eight calls in the order of a socket's life.
func Steps() []*Step {
	return []*Step{SocketStep, BindStep, ListenStep, AcceptStep, ConnectStep, SendStep, RecvStep, CloseStep}
}

// MoreSteps are the calls beyond the first eight, for a learner who has
// outgrown the first exercise.
func MoreSteps() []*Step {
	return []*Step{SendtoStep, RecvfromStep, ShutdownStep, OptionStep}
}

// look reads what a step's report shows of a socket: its addresses, TCP
// state and queues, not its readiness. With CallsOnly it reads nothing,
// and the snapshot knows nothing (FromKernel false).
func (l *Lab) look(s *Socket) Snapshot {
	if l.CallsOnly {
		return Snapshot{}
	}
	return readState(s)
}

// tell fills in the prose of a step's report from its prose file: what the
// call means, the same line in Python and, unless the lab is Driven, what
// to try next. With CallsOnly it drops the state lines instead, which were
// not read. (The calls a server makes for each client, accept, send, recv
// and close, return before they build any of that when CallsOnly.)
// With ProseWhenShown it leaves the writing to Report.Narrate.
func (l *Lab) tell(r *Report, p *Prose, data any) *Report {
	if l.CallsOnly {
		r.State = nil
		return r
	}
	suggest := !l.Driven
	r.prose = func(r *Report) {
		r.Says = p.Render("says", data)
		p.code(r, data)
		if suggest {
			r.Next = p.next(data)
		}
	}
	if !l.ProseWhenShown {
		r.Narrate()
	}
	return r
}

// flagSet is what a step's --flags were set to, in the order given. A
// step knows at most three flags, so a list is quicker than a map.
type flagSet []flagValue

type flagValue struct{ name, value string }

// takeFlags removes the --flags a step knows from args. valued says which
// flags take a value (--timeout 5s); the others are switches (--hex).
// Unknown flags are an error, so a typo is never taken as text.
func takeFlags(args []string, valued, switches []string) ([]string, flagSet, error) {
	var flags flagSet
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") || len(a) == 2 {
			rest = append(rest, a)
			continue
		}
		name, value, hasValue := strings.Cut(a[2:], "=")
		switch {
		case slices.Contains(valued, name) && hasValue:
			flags = append(flags, flagValue{name, value})
		case slices.Contains(valued, name) && i+1 < len(args):
			flags = append(flags, flagValue{name, args[i+1]})
			i++
		case slices.Contains(valued, name):
			return nil, nil, usageErr(fmt.Sprintf("--%s needs a value", name))
		case slices.Contains(switches, name) && !hasValue:
			flags = append(flags, flagValue{name: name})
		default:
			known := append(append([]string{}, valued...), switches...)
			if len(known) == 0 {
				return nil, nil, usageErr(fmt.Sprintf("this command takes no option like %s", QuoteShort(a)))
			}
			return nil, nil, usageErr(fmt.Sprintf("unknown option %s; this command knows --%s", QuoteShort(a), strings.Join(known, ", --")))
		}
	}
	return rest, flags, nil
}

// get is the value of a flag, and whether it was given; the last one
// given counts.
func (f flagSet) get(name string) (value string, given bool) {
	for i := len(f) - 1; i >= 0; i-- {
		if f[i].name == name {
			return f[i].value, true
		}
	}
	return "", false
}

// has says whether a switch (--hex) was given.
func (f flagSet) has(name string) bool {
	_, given := f.get(name)
	return given
}

// timeout reads --timeout; zero means wait as long as it takes.
func (f flagSet) timeout() (time.Duration, error) {
	v, given := f.get("timeout")
	if !given {
		return 0, nil
	}
	return ParseTimeout(v)
}

// ParseTimeout reads the value of a --timeout, a command's or sockstep's.
func ParseTimeout(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, usageErr(fmt.Sprintf("--timeout takes a duration such as 5s, 500ms or 2m, not %s", QuoteShort(v)))
	}
	return d, nil
}

// takeName removes a trailing `as NAME` from args.
func takeName(args []string) ([]string, string, error) {
	for i, a := range args {
		if a != "as" {
			continue
		}
		if i != len(args)-2 {
			return nil, "", usageErr("`as` is followed by exactly one name, at the end: `as server`")
		}
		if args[i+1] == "" {
			return nil, "", usageErr(`"" names nothing: ` + "`as` is followed by a name, such as `as server`")
		}
		return args[:i], args[i+1], nil
	}
	return args, "", nil
}

// socketNames completes the first argument with the live sockets.
func socketNames(then completeAfter) func(*Lab, []string) []string {
	return socketNamesWhere(nil, then)
}

// A completeAfter completes the words after the socket, s, that the
// words before name.
type completeAfter func(l *Lab, s *Socket, before []string) []string

// socketNamesWhere completes the first argument with the live sockets
// the step can be made on, those fits accepts (every one if fits is nil),
// and the rest with then.
func socketNamesWhere(fits func(*Socket) bool, then completeAfter) func(*Lab, []string) []string {
	return func(l *Lab, before []string) []string {
		if len(before) == 0 {
			var names []string
			for _, s := range l.Sockets() {
				if fits == nil || fits(s) {
					names = append(names, s.Name)
				}
			}
			return names
		}
		s, err := l.Find(before[0])
		if err != nil || then == nil {
			return nil // the command would stop at the socket
		}
		return then(l, s, before)
	}
}

// isStream says whether a socket is a TCP one.
func isStream(s *Socket) bool { return s.Kind == Stream }

// hostsFor are the names of this machine a socket can be given, in its
// family: an IPv4 socket refuses ::1, an IPv6 one 127.0.0.1, and
// localhost is offered for IPv4 only, since it need not have an IPv6
// address.
func hostsFor(s *Socket) []string {
	if s.Family == IPv6 {
		return []string{"::1"}
	}
	return []string{"127.0.0.1", "localhost"}
}

// hasFlag says whether the words hold flag, alone or as flag=VALUE.
func hasFlag(words []string, flag string) bool {
	for _, w := range words {
		if w == flag || strings.HasPrefix(w, flag+"=") {
			return true
		}
	}
	return false
}

// find looks the step's socket up, or says how to name one.
func (l *Lab) find(args []string, what string) (*Socket, error) {
	if len(args) == 0 {
		if what != "" {
			what = " " + what
		}
		return nil, usageErr(fmt.Sprintf("which socket%s? name it, or give its fd number", what))
	}
	return l.Find(args[0])
}

// ms is a duration as the narration writes it, in milliseconds with a
// sensible precision. It is written only when a template prints it, so a
// report nobody reads costs no formatting; the zero ms is false in a
// template's {{if}}.
type ms time.Duration

func (m ms) String() string {
	d := time.Duration(m)
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d.Round(time.Millisecond) < time.Second: // not "1000 ms" beside another wait's "1.0 s"
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}
