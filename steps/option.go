package steps

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

var optionProse = loadProse("option.txt", stepSections...)

// OptionStep reads a socket's options (getsockopt) or sets one
// (setsockopt, or fcntl for O_NONBLOCK).
var OptionStep = &Step{
	Name:     "option",
	Usage:    "option SOCK [NAME VALUE…]     (no NAME: list every option)",
	Example:  "option server SO_REUSEADDR on",
	Summary:  "read or set socket options",
	About:    optionProse.About(),
	Complete: completeOption,
	Run:      runOption,
}

// optionKind says how an option's value is read and written.
type optionKind int

const (
	onOff    optionKind = iota // an int that is 0 or 1
	size                       // a size in bytes
	linger                     // struct linger: on/off and seconds
	duration                   // struct timeval
	fileFlag                   // O_NONBLOCK, through fcntl
)

// An option is one socket option sockstep teaches.
type option struct {
	Name, Level string // "SO_REUSEADDR", "SOL_SOCKET"
	level, opt  int
	kind        optionKind
	stream      bool // TCP only
	ipv6        bool // IPv6 sockets only
}

// options, in the order `option SOCK` lists them.
var options = []option{
	{Name: "SO_REUSEADDR", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_REUSEADDR, kind: onOff},
	{Name: "SO_REUSEPORT", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_REUSEPORT, kind: onOff},
	{Name: "SO_KEEPALIVE", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_KEEPALIVE, kind: onOff, stream: true},
	{Name: "SO_LINGER", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_LINGER, kind: linger, stream: true},
	{Name: "SO_RCVBUF", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_RCVBUF, kind: size},
	{Name: "SO_SNDBUF", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_SNDBUF, kind: size},
	{Name: "SO_RCVTIMEO", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_RCVTIMEO, kind: duration},
	{Name: "SO_SNDTIMEO", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_SNDTIMEO, kind: duration},
	{Name: "SO_BROADCAST", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_BROADCAST, kind: onOff},
	{Name: "TCP_NODELAY", Level: "IPPROTO_TCP", level: unix.IPPROTO_TCP, opt: unix.TCP_NODELAY, kind: onOff, stream: true},
	{Name: "IPV6_V6ONLY", Level: "IPPROTO_IPV6", level: unix.IPPROTO_IPV6, opt: unix.IPV6_V6ONLY, kind: onOff, ipv6: true},
	{Name: "O_NONBLOCK", kind: fileFlag},
}

// applies says whether the option means anything for the socket.
func (o option) applies(s *Socket) bool {
	return (!o.stream || s.Kind == Stream) && (!o.ipv6 || s.Family == IPv6)
}

func findOption(name string) (option, bool) {
	upper := strings.ToUpper(name)
	for _, o := range options {
		short := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(o.Name, "SO_"), "TCP_"), "IPV6_"), "O_")
		if upper == o.Name || upper == short {
			return o, true
		}
	}
	return option{}, false
}

func completeOption(l *Lab, before []string) []string {
	switch len(before) {
	case 0:
		return l.Names()
	case 1:
		var names []string
		for _, o := range options {
			names = append(names, o.Name)
		}
		return names
	case 2:
		return []string{"on", "off"}
	}
	return nil
}

// get reads the option's current value from the kernel, as a learner
// would write it.
func (o option) get(fd int) (string, error) {
	switch o.kind {
	case linger:
		l, err := unix.GetsockoptLinger(fd, o.level, o.opt)
		if err != nil {
			return "", err
		}
		if l.Onoff == 0 {
			return "off", nil
		}
		return fmt.Sprintf("on %ds", l.Linger), nil
	case duration:
		tv, err := unix.GetsockoptTimeval(fd, o.level, o.opt)
		if err != nil {
			return "", err
		}
		if tv.Sec == 0 && tv.Usec == 0 {
			return "off (wait for ever)", nil
		}
		return time.Duration(tv.Nano()).String(), nil
	case fileFlag:
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			return "", err
		}
		return onOffWord(flags&unix.O_NONBLOCK != 0), nil
	}
	v, err := unix.GetsockoptInt(fd, o.level, o.opt)
	if err != nil {
		return "", err
	}
	if o.kind == size {
		return fmt.Sprintf("%d bytes", v), nil
	}
	return onOffWord(v != 0), nil
}

func onOffWord(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func parseOnOff(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "1", "yes", "true":
		return true, nil
	case "off", "0", "no", "false":
		return false, nil
	}
	return false, usageErr(fmt.Sprintf("%q is not on or off", s))
}

// optionData is what option.txt can use.
type optionData struct {
	Name, Label, Py string
	FD              int
	Option          string // SO_REUSEADDR
	Level           string // SOL_SOCKET
	Before, After   string // the values read before and after
	Asked           int    // for buffers: the size asked
	Got             int    // for buffers: the size the kernel set
	Max             int    // for buffers: 2 × net.core.rmem_max or wmem_max
	On              bool
	Seconds         int
	Micros          int    // a timeout's part below a second, in microseconds
	PySeconds       string // a timeout as Python writes it: 0.2
	List            bool
}

func runOption(_ context.Context, l *Lab, args []string) (*Report, error) {
	s, err := l.find(args, "")
	if err != nil {
		return nil, err
	}
	if len(args) == 1 {
		return listOptions(s), nil
	}
	o, ok := findOption(args[1])
	if !ok {
		var names []string
		for _, o := range options {
			names = append(names, o.Name)
		}
		return nil, usageErr(fmt.Sprintf("sockstep does not know the option %q; it knows %s", args[1], strings.Join(names, ", ")))
	}
	if !o.applies(s) {
		return nil, usageErr(fmt.Sprintf("%s does not apply to %s, a %s %s socket", o.Name, s.Label(), s.Kind, s.Family))
	}
	if len(args) < 3 {
		return nil, usageErr(fmt.Sprintf("give %s a value, e.g. `option %s %s on`", o.Name, s.Name, o.Name))
	}
	data := optionData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, Option: o.Name, Level: o.Level}
	data.Before, _ = o.get(s.FD)
	call, err := o.set(s.FD, args[2:], &data)
	if err != nil && IsUsage(err) {
		return nil, err
	}
	if err != nil {
		return optionProse.refused(call, err, data), nil
	}
	data.After, _ = o.get(s.FD)
	if o.kind == size {
		data.Got, _ = unix.GetsockoptInt(s.FD, o.level, o.opt)
		data.Max = 2 * bufferMax(o.opt)
	}
	return &Report{
		Call:   call + " = 0",
		Says:   optionProse.Render(o.Name, data),
		State:  []Change{{Who: s.Label() + " " + o.Name, Before: data.Before, After: data.After}},
		Python: optionProse.Render(codeSection("python", o.Name), data),
		Next:   optionProse.Render("next", data),
		code:   func(lang string) string { return optionProse.Render(codeSection(lang, o.Name), data) },
	}, nil
}

// set makes the call that sets the option, and returns it as the kernel
// saw it.
func (o option) set(fd int, values []string, data *optionData) (string, error) {
	switch o.kind {
	case linger:
		on, err := parseOnOff(values[0])
		if err != nil {
			return "", err
		}
		secs := 0
		if on && len(values) > 1 {
			if secs, err = strconv.Atoi(strings.TrimSuffix(values[1], "s")); err != nil || secs < 0 {
				return "", usageErr(fmt.Sprintf("SO_LINGER takes on and a number of seconds, such as `on 0`, not %q", values[1]))
			}
		}
		data.On, data.Seconds = on, secs
		l := &unix.Linger{Linger: int32(secs)}
		if on {
			l.Onoff = 1
		}
		return fmt.Sprintf("setsockopt(%d, %s, %s, {on=%d, %ds})", fd, o.Level, o.Name, l.Onoff, secs), unix.SetsockoptLinger(fd, o.level, o.opt, l)
	case duration:
		d, err := time.ParseDuration(values[0])
		if values[0] == "0" || values[0] == "off" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			return "", usageErr(fmt.Sprintf("%s takes a duration such as 2s or 500ms (0 waits for ever), not %q", o.Name, values[0]))
		}
		tv := unix.NsecToTimeval(d.Nanoseconds())
		data.Seconds, data.Micros = int(tv.Sec), int(tv.Usec)
		data.PySeconds = strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
		data.Before = strings.TrimSuffix(data.Before, " (wait for ever)")
		return fmt.Sprintf("setsockopt(%d, %s, %s, %s)", fd, o.Level, o.Name, d), unix.SetsockoptTimeval(fd, o.level, o.opt, &tv)
	case fileFlag:
		on, err := parseOnOff(values[0])
		if err != nil {
			return "", err
		}
		data.On = on
		flag := "O_NONBLOCK"
		if !on {
			flag = "0"
		}
		return fmt.Sprintf("fcntl(%d, F_SETFL, %s)", fd, flag), unix.SetNonblock(fd, on)
	case size:
		n, err := strconv.Atoi(values[0])
		if err != nil || n < 0 {
			return "", usageErr(fmt.Sprintf("%s takes a size in bytes, such as 8192, not %q", o.Name, values[0]))
		}
		data.Asked = n
		return fmt.Sprintf("setsockopt(%d, %s, %s, %d)", fd, o.Level, o.Name, n), unix.SetsockoptInt(fd, o.level, o.opt, n)
	}
	on, err := parseOnOff(values[0])
	if err != nil {
		return "", err
	}
	data.On = on
	v := 0
	if on {
		v = 1
	}
	return fmt.Sprintf("setsockopt(%d, %s, %s, %d)", fd, o.Level, o.Name, v), unix.SetsockoptInt(fd, o.level, o.opt, v)
}

// bufferMax is net.core.rmem_max or wmem_max: the most a program may ask
// for one socket's buffer.
func bufferMax(opt int) int {
	name := "/proc/sys/net/core/rmem_max"
	if opt == unix.SO_SNDBUF {
		name = "/proc/sys/net/core/wmem_max"
	}
	return readProcInt(name)
}

// listOptions reads every option that applies to the socket.
func listOptions(s *Socket) *Report {
	var lines []string
	for _, o := range options {
		if !o.applies(s) {
			continue
		}
		v, err := o.get(s.FD)
		if err != nil {
			v = "(" + err.Error() + ")"
		}
		lines = append(lines, fmt.Sprintf("%-13s %s", o.Name, v))
	}
	data := optionData{Name: s.Name, Label: s.Label(), List: true}
	return &Report{
		Call:  fmt.Sprintf("getsockopt(%d, …) for each option", s.FD),
		Lines: lines,
		Says:  optionProse.Render("says", data),
		Next:  optionProse.Render("next", data),
	}
}

// codeSection is the option's own section of code in a language
// ("python SO_LINGER"), or the one the options share ("python").
func codeSection(lang, name string) string {
	if optionProse.sections[lang+" "+name] != nil {
		return lang + " " + name
	}
	return lang
}

// OptionOn reads from the kernel whether a socket's on/off option is on:
// SO_REUSEADDR, TCP_NODELAY, O_NONBLOCK and the like, or SO_LINGER. ok is
// false for a name sockstep does not know or an option that is not on/off.
func OptionOn(s *Socket, name string) (on, ok bool) {
	o, known := findOption(name)
	if !known || (o.kind != onOff && o.kind != fileFlag && o.kind != linger) || !o.applies(s) {
		return false, false
	}
	v, err := o.get(s.FD)
	return err == nil && strings.HasPrefix(v, "on"), err == nil
}

// IsOnOffOption says whether name is an option OptionOn can read.
func IsOnOffOption(name string) bool {
	o, known := findOption(name)
	return known && (o.kind == onOff || o.kind == fileFlag || o.kind == linger)
}
