package steps

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"slices"
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
	Usage:    "option SOCK [NAME [VALUE…]]     (no NAME: list every option; no VALUE: read one)",
	Example:  "option server SO_REUSEADDR on",
	Summary:  "read or set socket options",
	About:    optionProse.About(),
	Complete: socketNames(optionWords),
	AnyCase:  func(before []string) bool { return len(before) == 1 || len(before) == 2 },
	Topics:   optionNames(),
	Topic:    optionTopic,
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
	seconds                    // an int that counts seconds
	count                      // an int that counts probes
)

// An option is one socket option sockstep teaches.
type option struct {
	Name, Level string // "SO_REUSEADDR", "SOL_SOCKET"
	level, opt  int
	kind        optionKind
	stream      bool // TCP only
	ipv6        bool // IPv6 sockets only
	most        int  // for seconds and count: the most the kernel takes; it takes 1 at least
}

// options, in the order `option SOCK` lists them: those that time
// SO_KEEPALIVE's probes come after it.
var options = slices.Concat([]option{
	{Name: "SO_REUSEADDR", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_REUSEADDR, kind: onOff},
	{Name: "SO_REUSEPORT", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_REUSEPORT, kind: onOff},
	{Name: "SO_KEEPALIVE", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_KEEPALIVE, kind: onOff, stream: true},
}, keepaliveOptions, []option{
	{Name: "SO_LINGER", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_LINGER, kind: linger, stream: true},
	{Name: "SO_RCVBUF", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_RCVBUF, kind: size},
	{Name: "SO_SNDBUF", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_SNDBUF, kind: size},
	{Name: "SO_RCVTIMEO", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_RCVTIMEO, kind: duration},
	{Name: "SO_SNDTIMEO", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_SNDTIMEO, kind: duration},
	{Name: "SO_BROADCAST", Level: "SOL_SOCKET", level: unix.SOL_SOCKET, opt: unix.SO_BROADCAST, kind: onOff},
	{Name: "TCP_NODELAY", Level: "IPPROTO_TCP", level: unix.IPPROTO_TCP, opt: unix.TCP_NODELAY, kind: onOff, stream: true},
	{Name: "IPV6_V6ONLY", Level: "IPPROTO_IPV6", level: unix.IPPROTO_IPV6, opt: unix.IPV6_V6ONLY, kind: onOff, ipv6: true},
	{Name: "O_NONBLOCK", kind: fileFlag},
})

// keepalive says whether the option is SO_KEEPALIVE or one that times
// its probes, which share their text.
func (o option) keepalive() bool {
	return o.Name == "SO_KEEPALIVE" || o.kind == seconds || o.kind == count
}

// keepaliveTimes reads a TCP socket's TCP_KEEPIDLE, TCP_KEEPINTVL and
// TCP_KEEPCNT, in keepaliveOptions' order: those it set, or the system's
// net.ipv4.tcp_keepalive_time, tcp_keepalive_intvl and
// tcp_keepalive_probes; 0 for each where sockstep has none of them.
func keepaliveTimes(fd int) (idle, intvl, probes int) {
	var v [3]int
	for i, o := range keepaliveOptions {
		v[i], _ = unix.GetsockoptInt(fd, o.level, o.opt)
	}
	return v[0], v[1], v[2]
}

// applies says whether the option means anything for the socket.
func (o option) applies(s *Socket) bool {
	return (!o.stream || s.Kind == Stream) && (!o.ipv6 || s.Family == IPv6)
}

// optionNames are the options' names, in the order `option SOCK` lists
// them.
func optionNames() []string {
	var names []string
	for _, o := range options {
		names = append(names, o.Name)
	}
	return names
}

// unknownOption says that sockstep does not know an option, and which it
// knows.
func unknownOption(name string) error {
	return usageErr(fmt.Sprintf("sockstep does not know the option %s; it knows %s", QuoteShort(name), strings.Join(optionNames(), ", ")))
}

// optionTopic is what `help option NAME` shows: how the option is set,
// the sockets it applies to, and what it is for.
func optionTopic(name string) (usage, about string, err error) {
	o, ok := findOption(name)
	if !ok {
		return "", "", unknownOption(name)
	}
	value := map[optionKind]string{
		onOff:    "on|off",
		size:     "BYTES",
		linger:   "off | on SECONDS",
		duration: "DURATION     (such as 2s or 500ms; 0 waits for ever)",
		fileFlag: "on|off",
		seconds:  "SECONDS",
		count:    "PROBES",
	}[o.kind]
	if o.most > 0 {
		value += fmt.Sprintf(" (1 to %d)", o.most)
	}
	usage = fmt.Sprintf("option SOCK %s %s", o.Name, value)
	switch {
	case o.stream:
		usage += "     (TCP sockets only)"
	case o.ipv6:
		usage += "     (IPv6 sockets only)"
	}
	return usage, optionProse.Render("about "+o.Name, nil), nil
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

// optionWords offers, after the socket, the options that apply to it,
// then on and off for an option that takes them.
func optionWords(_ *Lab, s *Socket, before []string) []string {
	switch len(before) {
	case 1:
		var names []string
		for _, o := range options {
			if o.applies(s) {
				names = append(names, o.Name)
			}
		}
		return names
	case 2:
		if o, ok := findOption(before[1]); ok && o.applies(s) && (o.kind == onOff || o.kind == fileFlag || o.kind == linger) {
			return []string{"on", "off"} // not for a number or a duration
		}
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
	switch o.kind {
	case size:
		return fmt.Sprintf("%d bytes", v), nil
	case seconds:
		return Counted(v, "second"), nil
	case count:
		return Counted(v, "probe"), nil
	}
	return onOffWord(v != 0), nil
}

// line shows the option's value as `option` lists it.
func (o option) line(value string) string { return fmt.Sprintf("%-13s %s", o.Name, value) }

func onOffWord(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// parseLinger reads SO_LINGER's words: off, or on and a number of
// seconds, or the two numbers of the struct linger as Python packs them
// (struct.pack('ii', 1, 0) is `1 0`, on and 0 seconds). A bare number is
// refused, because "SO_LINGER 0" means off to some and a reset to others.
func parseLinger(values []string) (on bool, secs int, ok bool) {
	if onoff, err := strconv.Atoi(values[0]); err == nil {
		if len(values) != 2 || (onoff != 0 && onoff != 1) {
			return false, 0, false
		}
		secs, err := strconv.Atoi(values[1])
		return onoff == 1, secs, err == nil && secs >= 0 && secs <= math.MaxInt32
	}
	on, err := parseOnOff(values[0])
	switch {
	case err != nil:
		return false, 0, false
	case !on:
		return false, 0, len(values) == 1
	case len(values) != 2:
		return false, 0, false
	}
	secs, err = strconv.Atoi(strings.TrimSuffix(values[1], "s"))
	return true, secs, err == nil && secs >= 0 && secs <= math.MaxInt32
}

func parseOnOff(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "1", "yes", "true":
		return true, nil
	case "off", "0", "no", "false":
		return false, nil
	}
	return false, usageErr(fmt.Sprintf("%s is not on or off", QuoteShort(s)))
}

// optionData is what option.txt can use.
type optionData struct {
	Name, Label, Py string
	FD              int
	Option          string // SO_REUSEADDR
	Level           string // SOL_SOCKET
	Before, After   string // the values read before and after
	Int             int    // the int setsockopt passes
	Most            int    // for TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT: the most the kernel takes
	Asked           int    // for buffers: the size asked
	Got             int    // for buffers: the size the kernel set
	Limit           int    // for buffers: net.core.rmem_max or wmem_max, the most a request counts for
	Max             int    // for buffers: 2 × Limit, the most setsockopt can set
	Autotuned       int    // for a TCP socket's buffers: the most Linux grows one that was not set (tcp_rmem or tcp_wmem)
	Datagram        bool   // a UDP socket
	Bound           bool   // the socket has a port
	BoundTo         string // for IPV6_V6ONLY read: the one IPv6 address bind gave the socket, which turned the option on
	Listening       bool   // a TCP socket that listens
	Connected       bool   // the socket has a peer
	Loopback        string // this machine's address in the socket's family, for the next step
	BindPort        int    // for a suggested bind: the first port from the tutorial's (8081, 9090 for UDP) a bind of the socket would get now, or 0
	ClientPort      int    // for a suggested connect: the tutorial's 8081, or the lesson's port
	On              bool
	Set             bool // a timeout that is not 0
	Rounded         bool // a timeout the kernel holds as more than was asked: it counts in ticks of its clock
	Seconds         int
	Micros          int    // a timeout's part below a second, in microseconds
	AskedTime       string // a timeout as asked: 250ms
	PySeconds       string // a timeout as Python's settimeout takes it: 0.25, or None
	KeepaliveOn     bool   // SO_KEEPALIVE, read from the kernel
	KeepaliveTime   int    // TCP_KEEPIDLE, in seconds, read from the kernel (net.ipv4.tcp_keepalive_time unless set); 0 where sockstep does not read it
	KeepaliveIntvl  int    // TCP_KEEPINTVL, in seconds
	KeepaliveProbes int    // TCP_KEEPCNT
	List            bool
	Timeout         bool   // SO_RCVTIMEO or SO_SNDTIMEO
	Example         string // a value to set the option to: on, 65536, 2s
	Flag            string // O_NONBLOCK's bit among the file's flags: 0x800
}

func runOption(_ context.Context, l *Lab, args []string) (*Report, error) {
	s, err := l.find(args, "")
	if err != nil {
		return nil, err
	}
	if len(args) == 1 {
		return listOptions(l, s), nil
	}
	o, ok := findOption(args[1])
	if !ok {
		return nil, unknownOption(args[1])
	}
	if !o.applies(s) {
		return nil, usageErr(fmt.Sprintf("%s does not apply to %s, a %s %s socket", o.Name, s.Label(), s.Kind, s.Family))
	}
	if len(args) == 2 {
		return readOption(l, s, o), nil
	}
	data := optionData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, Option: o.Name, Level: o.Level, Most: o.most}
	data.where(s, l.look(s))
	data.Before, _ = o.get(s.FD)
	call, err := o.set(s.FD, args[2:], &data)
	if err != nil && IsUsage(err) {
		return nil, err
	}
	if err != nil {
		return optionProse.refused(call, err, data), nil
	}
	data.After, _ = o.get(s.FD)
	if !data.Bound { // the next step is bind, with the option as it is now
		host := s.Family.loopbackAddr()
		if o.Name == "IPV6_V6ONLY" {
			host = netip.IPv6Unspecified()
		}
		data.BindPort = freePortFrom(sharingOf(s), s.Family, s.Kind, host, l.suggestFrom(s.Kind))
		data.ClientPort = l.suggestFrom(Stream)
	}
	switch o.kind {
	case size:
		data.Got, _ = unix.GetsockoptInt(s.FD, o.level, o.opt)
		data.Limit, data.Autotuned = bufferLimits(o.opt, s.Kind)
		data.Max = 2 * data.Limit
	case duration:
		data.Rounded = data.Set && data.After != data.AskedTime
	}
	section := o.Name
	if o.keepalive() {
		section = "keepalive"
		on, _ := unix.GetsockoptInt(s.FD, unix.SOL_SOCKET, unix.SO_KEEPALIVE)
		data.KeepaliveOn = on != 0
		data.KeepaliveTime, data.KeepaliveIntvl, data.KeepaliveProbes = keepaliveTimes(s.FD)
	}
	return &Report{
		Call:   call + " = 0",
		Says:   optionProse.Render(section, data),
		State:  []Change{{Who: s.Label() + " " + o.Name, Before: data.Before, After: data.After}},
		Python: optionProse.Render(codeSection("python", o.Name), data),
		Next:   optionProse.next(data),
		code:   func(lang string) string { return optionProse.Render(codeSection(lang, o.Name), data) },
	}, nil
}

// where fills in what the socket is and how far it has come, for the
// text and the step to suggest next.
func (d *optionData) where(s *Socket, snap Snapshot) {
	d.Datagram, d.Loopback = s.Kind == Datagram, loopback(s.Family)
	d.Bound, d.Connected = snap.Bound(), snap.Remote.IsValid()
	d.Listening = s.Kind == Stream && snap.State == Listen
}

// set makes the call that sets the option, and returns it as the kernel
// saw it.
func (o option) set(fd int, values []string, data *optionData) (string, error) {
	switch o.kind {
	case linger:
		on, secs, ok := parseLinger(values)
		if !ok {
			return "", usageErr(fmt.Sprintf("SO_LINGER takes off, or on and the seconds close may wait: `on 0` makes close reset the connection, `on 5` makes it wait up to 5 seconds for the peer's acknowledgement; Python's struct.pack('ii', 1, 0) is `1 0`; not %s", QuoteShort(strings.Join(values, " "))))
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
		if err != nil || d < 0 || (d > 0 && d < time.Microsecond) { // a timeval counts microseconds
			return "", usageErr(fmt.Sprintf("%s takes a duration such as 2s or 500ms, from 1µs up (0 waits for ever), not %s", o.Name, QuoteShort(values[0])))
		}
		tv := unix.NsecToTimeval(d.Nanoseconds())
		data.Set, data.Seconds, data.Micros = d > 0, int(tv.Sec), int(tv.Usec)
		data.AskedTime, data.PySeconds = d.String(), "None"
		if d > 0 {
			data.PySeconds = strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
		}
		data.Before = strings.TrimSuffix(data.Before, " (wait for ever)")
		return fmt.Sprintf("setsockopt(%d, %s, %s, %s)", fd, o.Level, o.Name, d), unix.SetsockoptTimeval(fd, o.level, o.opt, &tv)
	case fileFlag:
		on, err := parseOnOff(values[0])
		if err != nil {
			return "", err
		}
		data.On = on
		// As C does it: read the file's flags, and set them back with
		// O_NONBLOCK turned on or off.
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			return fmt.Sprintf("fcntl(%d, F_GETFL)", fd), err
		}
		set := flags &^ unix.O_NONBLOCK
		if on {
			set |= unix.O_NONBLOCK
		}
		_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, set)
		return fmt.Sprintf("fcntl(%d, F_GETFL) = %s; fcntl(%d, F_SETFL, %s)", fd, fileFlags(flags), fd, fileFlags(set)), err
	case size:
		n, err := strconv.Atoi(values[0])
		if err != nil || n < 0 || n > math.MaxInt32 { // setsockopt takes a C int
			return "", usageErr(fmt.Sprintf("%s takes a size in bytes, such as 8192, not %s", o.Name, QuoteShort(values[0])))
		}
		data.Asked, data.Int = n, n
		return fmt.Sprintf("setsockopt(%d, %s, %s, %d)", fd, o.Level, o.Name, n), unix.SetsockoptInt(fd, o.level, o.opt, n)
	case seconds, count:
		// Any C int goes to the kernel, which refuses with EINVAL what it
		// does not take.
		word, unit := values[0], "a number of probes"
		if o.kind == seconds {
			word, unit = strings.TrimSuffix(word, "s"), "a number of seconds"
		}
		n, err := strconv.Atoi(word)
		if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
			return "", usageErr(fmt.Sprintf("%s takes %s from 1 to %d, such as %s, not %s", o.Name, unit, o.most, o.example(""), QuoteShort(values[0])))
		}
		data.Int = n
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
	data.Int = v
	return fmt.Sprintf("setsockopt(%d, %s, %s, %d)", fd, o.Level, o.Name, v), unix.SetsockoptInt(fd, o.level, o.opt, v)
}

// fileFlags names a file's flags as C writes them: O_RDWR|O_NONBLOCK.
// Bits it has no name for are given in hex.
func fileFlags(flags int) string {
	var names []string
	rest := flags &^ unix.O_ACCMODE
	switch flags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		names = append(names, "O_RDONLY")
	case unix.O_WRONLY:
		names = append(names, "O_WRONLY")
	case unix.O_RDWR:
		names = append(names, "O_RDWR")
	default:
		rest = flags
	}
	for _, f := range []struct {
		bit  int
		name string
	}{{unix.O_APPEND, "O_APPEND"}, {unix.O_ASYNC, "O_ASYNC"}, {unix.O_NONBLOCK, "O_NONBLOCK"}} {
		if rest&f.bit != 0 {
			names, rest = append(names, f.name), rest&^f.bit
		}
	}
	if rest != 0 {
		names = append(names, fmt.Sprintf("%#x", rest))
	}
	return strings.Join(names, "|")
}

// bufferLimits reads what bounds a socket's receive (SO_RCVBUF) or send
// buffer: net.core.rmem_max or wmem_max, the most a setsockopt request
// counts for, and for a TCP socket the last of net.ipv4.tcp_rmem or
// tcp_wmem, the most Linux grows a buffer that no setsockopt has set.
func bufferLimits(opt int, kind Kind) (limit, autotuned int) {
	core, tcp := "rmem_max", "tcp_rmem"
	if opt == unix.SO_SNDBUF {
		core, tcp = "wmem_max", "tcp_wmem"
	}
	limit = readProcInt("/proc/sys/net/core/" + core)
	if kind == Stream {
		if b, err := os.ReadFile("/proc/sys/net/ipv4/" + tcp); err == nil {
			if f := strings.Fields(string(b)); len(f) == 3 {
				autotuned, _ = strconv.Atoi(f[2])
			}
		}
	}
	return limit, autotuned
}

// listOptions reads every option that applies to the socket.
func listOptions(l *Lab, s *Socket) *Report {
	var lines []string
	data := optionData{Name: s.Name, Label: s.Label(), List: true}
	for _, o := range options {
		if !o.applies(s) {
			continue
		}
		v, err := o.get(s.FD)
		if err != nil {
			v = "(" + err.Error() + ")"
		} else if o.Name == "SO_REUSEADDR" {
			data.Example = o.example(v) // it counts at bind
		}
		lines = append(lines, o.line(v))
	}
	data.where(s, l.look(s))
	return &Report{
		Call:  fmt.Sprintf("getsockopt(%d, …) for each option", s.FD),
		Lines: lines,
		Says:  optionProse.Render("says", data),
		Next:  optionProse.next(data),
	}
}

// readOption reads one option from the kernel, as getsockopt (or fcntl,
// for O_NONBLOCK) gives it.
func readOption(l *Lab, s *Socket, o option) *Report {
	data := optionData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, Option: o.Name, Level: o.Level,
		Timeout: o.kind == duration}
	if o.Name == "IPV6_V6ONLY" {
		// Once the socket has a port, setsockopt refuses the option, so
		// the next step is the socket's own, not setting it.
		snap := l.look(s)
		data.where(s, snap)
		if local := snap.Local.Addr(); data.Bound && !local.IsUnspecified() && !local.Is4In6() {
			data.BoundTo = local.String()
		}
	}
	call, result := fmt.Sprintf("getsockopt(%d, %s, %s)", s.FD, o.Level, o.Name), "0"
	if o.kind == fileFlag {
		// fcntl returns the flags themselves.
		call = fmt.Sprintf("fcntl(%d, F_GETFL)", s.FD)
		flags, _ := unix.FcntlInt(uintptr(s.FD), unix.F_GETFL, 0)
		result, data.Flag = fmt.Sprintf("%#x (%s)", flags, fileFlags(flags)), fmt.Sprintf("%#x", unix.O_NONBLOCK)
	}
	v, err := o.get(s.FD)
	if err != nil {
		return optionProse.refused(call, err, data)
	}
	data.After, data.Example = v, o.example(v)
	next := "read next"
	if data.Bound { // IPV6_V6ONLY, which can no longer change
		next = "next"
	}
	report := &Report{
		Call:  call + " = " + result,
		Lines: []string{o.line(v)},
		Says:  optionProse.Render("read", data),
		Next:  optionProse.Render(next, data),
	}
	optionProse.codeOf(report, data, "read ")
	return report
}

// example is a value a learner might set the option to, given its value
// now: the other of on and off, or a size or a time.
func (o option) example(now string) string {
	switch {
	case o.kind == size:
		return "65536"
	case o.kind == duration:
		return "2s"
	case o.kind == seconds:
		return "5"
	case o.kind == count:
		return "3"
	case strings.HasPrefix(now, "on"):
		return "off"
	case o.kind == linger:
		return "on 5"
	}
	return "on"
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
