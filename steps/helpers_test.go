package steps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sockstep/internal/prosetest"
)

// stepTimeout bounds every step a test runs, so that a step that waits for
// ever fails the test instead of hanging it.
const stepTimeout = 5 * time.Second

// newLab returns an empty lab whose sockets are all closed when the test
// ends. Whatever the lab tells the learner while it waits is checked like
// every report.
func newLab(t testing.TB) *Lab {
	t.Helper()
	l := NewLab()
	l.Waiting = func(what func() string) { checkText(t, "waiting", what()) }
	t.Cleanup(func() { checkReport(t, "close all", l.CloseAll()) })
	return l
}

// needPython returns python3's path, or skips the test, saying what it
// would have checked.
func needPython(t testing.TB, checks string) string {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("python3 is not on PATH, so %s", checks)
	}
	return python
}

// stepNamed finds a step by the command that runs it.
func stepNamed(t testing.TB, name string) *Step {
	t.Helper()
	for _, st := range append(Steps(), MoreSteps()...) {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no step is called %q", name)
	return nil
}

// try runs one step as the shell would, bounded by stepTimeout, and checks
// whatever narration it produced.
func try(t testing.TB, l *Lab, name string, args ...string) (*Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	return tryCtx(ctx, t, l, name, args...)
}

func tryCtx(ctx context.Context, t testing.TB, l *Lab, name string, args ...string) (*Report, error) {
	t.Helper()
	rep, err := l.Run(ctx, stepNamed(t, name), args)
	if err == nil && rep == nil {
		t.Fatalf("%s %q: got no report and no error", name, args)
	}
	if rep != nil {
		checkReport(t, name+" "+strings.Join(args, " "), rep)
	}
	return rep, err
}

// run runs a step that must do what it was asked.
func run(t testing.TB, l *Lab, name string, args ...string) *Report {
	t.Helper()
	rep, err := try(t, l, name, args...)
	if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	if rep.Failed() {
		t.Fatalf("%s %q failed: %s", name, args, rep.Call)
	}
	return rep
}

// fill runs a bulk send (send NAME --bytes N --timeout D) that is there
// to fill buffers: its --timeout may cut it short (Report.Unfinished),
// but the kernel must refuse nothing and the wait must not end before
// anything was sent.
func fill(t testing.TB, l *Lab, args ...string) *Report {
	t.Helper()
	rep, err := try(t, l, "send", args...)
	if err != nil {
		t.Fatalf("send %q: %v", args, err)
	}
	if rep.Failure != nil || rep.Stopped {
		t.Fatalf("send %q failed: %s", args, rep.Call)
	}
	return rep
}

// refused runs a step the kernel must refuse with want, and checks that
// the report explains it: the errno's name and number, the call line, and
// the step's own sentence when its prose file has one for this errno.
func refused(t testing.TB, l *Lab, want unix.Errno, name string, args ...string) *Report {
	t.Helper()
	rep, err := try(t, l, name, args...)
	if err != nil {
		t.Fatalf("%s %q: got error %v, want a report of %s", name, args, err, unix.ErrnoName(want))
	}
	checkFailure(t, rep, name, want)
	return rep
}

// checkFailure checks a report of a refused call against the errno the
// kernel (or a test's fault) gave.
func checkFailure(t testing.TB, rep *Report, step string, want unix.Errno) {
	t.Helper()
	f := rep.Failure
	if f == nil {
		t.Fatalf("%s: got a report without a failure (%q), want %s", step, rep.Call, unix.ErrnoName(want))
	}
	wantName := unix.ErrnoName(want)
	if want == unix.EOPNOTSUPP {
		wantName = "EOPNOTSUPP" // errno.txt's name for Linux's ENOTSUP
	}
	if f.Name != wantName || f.Number != int(want) {
		t.Errorf("%s: got %s (errno %d), want %s (errno %d)", step, f.Name, f.Number, wantName, int(want))
	}
	if wantCall := fmt.Sprintf("= -1 %s (errno %d)", wantName, int(want)); !strings.HasSuffix(rep.Call, wantCall) {
		t.Errorf("%s: got call %q, want it to end %q", step, rep.Call, wantCall)
	}
	if f.Meaning == "" {
		t.Errorf("%s: %s has no meaning", step, wantName)
	}
	if wantPy := fmt.Sprintf("[Errno %d]", int(want)); !strings.Contains(f.Python, wantPy) {
		t.Errorf("%s: got python %q, want it to mention %q", step, f.Python, wantPy)
	}
	if proseHas(step, wantName) && f.ForStep == "" {
		t.Errorf("%s: got no sentence for %s, want the [%s] section of %s.txt", step, wantName, wantName, step)
	}
}

// proseOf is each step's parsed prose file.
var proseOf = map[string]*Prose{
	"socket": socketProse, "bind": bindProse, "listen": listenProse, "accept": acceptProse,
	"connect": connectProse, "send": sendProse, "recv": recvProse, "close": closeProse,
}

func proseHas(step, section string) bool {
	p := proseOf[step]
	return p != nil && p.sections[section] != nil
}

// checkReport fails the test when any text of the report shows that its
// narration could not be rendered.
func checkReport(t testing.TB, what string, rep *Report) {
	t.Helper()
	if rep == nil {
		return
	}
	texts := []string{rep.Call, rep.Says, rep.Python, rep.Next}
	texts = append(texts, rep.Lines...)
	for _, c := range rep.State {
		texts = append(texts, c.Who, c.Before, c.After)
	}
	if f := rep.Failure; f != nil {
		texts = append(texts, f.Name, f.Meaning, f.Cause, f.Fix, f.Python, f.ForStep)
	}
	for _, s := range texts {
		checkText(t, what, s)
	}
	prose := []string{rep.Says}
	if f := rep.Failure; f != nil {
		prose = append(prose, f.Cause, f.Fix, f.ForStep)
	}
	for _, s := range prose {
		checkFilled(t, what, s)
	}
	if rep.Call == "" {
		t.Errorf("%s: the report has no call line", what)
	}
	if rep.Failure == nil && rep.Says == "" {
		t.Errorf("%s: the report says nothing", what)
	}
}

// checkText fails the test on text that a template could not render.
func checkText(t testing.TB, what, s string) {
	t.Helper()
	for _, bad := range []string{"[narration error", "<no value>", "%!"} {
		if strings.Contains(s, bad) {
			t.Errorf("%s: got %q, want no %q in it", what, s, bad)
		}
	}
}

// checkFilled fails the test on prose with a flaw prosetest finds: a hole
// where a value should be, "1 bytes".
func checkFilled(t testing.TB, what, s string) {
	t.Helper()
	if flaw := prosetest.Flaw(s); flaw != "" {
		t.Errorf("%s: got %q, with %s", what, s, flaw)
	}
}

// sock finds a socket of the lab by name, failing the test if it is not there.
func sock(t testing.TB, l *Lab, name string) *Socket {
	t.Helper()
	s, err := l.Find(name)
	if err != nil {
		t.Fatalf("find %s: %v", name, err)
	}
	return s
}

// portOf is the port the kernel gave a socket.
func portOf(t testing.TB, l *Lab, name string) string {
	t.Helper()
	p := Read(sock(t, l, name)).Local.Port()
	if p == 0 {
		t.Fatalf("%s has no port", name)
	}
	return fmt.Sprint(p)
}

// wantHeldByTimeWait fails the test unless the connection that s had is
// in TIME_WAIT, as the kernel shows by refusing a new socket s's address
// (s itself, whose connection the TIME_WAIT entry took over, still says
// what its address was).
func wantHeldByTimeWait(t testing.TB, s *Socket) {
	t.Helper()
	sa, err := unix.Getsockname(s.FD)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, sa); !errors.Is(err, unix.EADDRINUSE) {
		t.Errorf("bind to %s's address %v: got %v, want EADDRINUSE (TIME_WAIT holds it)", s.Name, sa, err)
	}
}

// family is one of the two address families, with the loopback address the
// tests use for it.
type family struct {
	name     string // as typed: ipv4, ipv6
	loopback string
}

var families = []family{{"ipv4", "127.0.0.1"}, {"ipv6", "::1"}}

// outsideSocket is a socket of type typ (SOCK_STREAM, SOCK_DGRAM) that no
// lab holds, bound to 127.0.0.1 and a port the kernel chose; the caller
// closes it.
func outsideSocket(t testing.TB, typ int) (fd, port int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, typ, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	local, err := sockName(fd)
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	return fd, int(local.Port())
}

// at is the family's loopback address with port, as the socket calls of
// the tests' own sockets take it, and the domain of such a socket.
func (f family) at(t testing.TB, port string) (domain int, sa unix.Sockaddr) {
	t.Helper()
	ap, err := netip.ParseAddrPort(net.JoinHostPort(f.loopback, port))
	if err != nil {
		t.Fatal(err)
	}
	fam := IPv4
	if ap.Addr().Is6() {
		fam = IPv6
	}
	return fam.domain(), sockaddr(fam, ap)
}

// listener makes a TCP socket bound to loopback port 0 and listening, and
// returns the port the kernel chose.
func listener(t testing.TB, l *Lab, f family, name string, backlog ...string) string {
	t.Helper()
	run(t, l, "socket", "tcp", f.name, "as", name)
	run(t, l, "bind", name, f.loopback, "0")
	run(t, l, "listen", append([]string{name}, backlog...)...)
	return portOf(t, l, name)
}

// pair makes a listener, a client connected to it and the accepted
// connection, named server, client and conn.
func pair(t testing.TB, l *Lab, f family) {
	t.Helper()
	port := listener(t, l, f, "server")
	run(t, l, "socket", "tcp", f.name, "as", "client")
	run(t, l, "connect", "client", f.loopback, port)
	run(t, l, "accept", "server", "as", "conn")
}

// kernelView is the part of a snapshot that a step which did nothing must
// leave as it was.
type kernelView struct {
	Local, Remote        netip.AddrPort
	State                TCPState
	AcceptQueue, Backlog int
	RecvQ, SendQ         int
	NonBlocking          bool
	// PendingError is an error the next call would report (poll's
	// POLLERR), such as one a step's own undoing left behind.
	PendingError bool
}

func (v kernelView) String() string {
	return fmt.Sprintf("%s local %s remote %s queue %d/%d recv-q %d send-q %d nonblock %v pending error %v",
		v.State, ShowAddr(v.Local), ShowAddr(v.Remote), v.AcceptQueue, v.Backlog, v.RecvQ, v.SendQ, v.NonBlocking, v.PendingError)
}

func viewOf(s *Socket) kernelView {
	snap := Read(s)
	return kernelView{snap.Local, snap.Remote, snap.State, snap.AcceptQueue, snap.Backlog, snap.RecvQ, snap.SendQ, snap.NonBlocking, snap.Error}
}

// labView is the lab's table with the kernel's view of each socket, to
// check that a step changed nothing.
type labView struct {
	labels []string
	kernel []kernelView
}

func viewLab(l *Lab) labView {
	var v labView
	for _, s := range l.Sockets() {
		v.labels = append(v.labels, s.Label())
		v.kernel = append(v.kernel, viewOf(s))
	}
	return v
}

// checkUnchanged fails the test if the table or any socket's kernel state
// differs from before.
func checkUnchanged(t testing.TB, what string, before labView, l *Lab) {
	t.Helper()
	checkUnchangedBut(t, what, before, l, nil)
}

// checkUnchangedBut is checkUnchanged for a call after which the kernel
// itself leaves something behind: ignore clears it from both views.
func checkUnchangedBut(t testing.TB, what string, before labView, l *Lab, ignore func(*kernelView)) {
	t.Helper()
	after := viewLab(l)
	if ignore != nil {
		before.kernel = slices.Clone(before.kernel)
		for i := range before.kernel {
			ignore(&before.kernel[i])
		}
		for i := range after.kernel {
			ignore(&after.kernel[i])
		}
	}
	if !slices.Equal(after.labels, before.labels) {
		t.Errorf("%s: got sockets %q, want %q", what, after.labels, before.labels)
		return
	}
	for i := range after.kernel {
		if after.kernel[i] != before.kernel[i] {
			t.Errorf("%s: %s: got %q, want %q", what, after.labels[i], after.kernel[i], before.kernel[i])
		}
	}
}

// saveHooks lets a test replace the system calls in hooks.go: they are put
// back when the test ends, before the lab of a test that called newLab
// first closes its sockets.
func saveHooks(t testing.TB) {
	t.Helper()
	socket, bind, listen, accept, connect := socketCall, bindCall, listenCall, acceptCall, connectCall
	send, recv, closeFD, poll := sendCall, recvCall, closeCall, pollCall
	t.Cleanup(func() {
		socketCall, bindCall, listenCall, acceptCall, connectCall = socket, bind, listen, accept, connect
		sendCall, recvCall, closeCall, pollCall = send, recv, closeFD, poll
	})
}

// forbidCalls makes every system call of the steps fail the test until
// the returned function is called.
func forbidCalls(t testing.TB) (allow func()) {
	t.Helper()
	socket, bind, listen, accept, connect := socketCall, bindCall, listenCall, acceptCall, connectCall
	send, recv, closeFD, poll := sendCall, recvCall, closeCall, pollCall
	allow = func() {
		socketCall, bindCall, listenCall, acceptCall, connectCall = socket, bind, listen, accept, connect
		sendCall, recvCall, closeCall, pollCall = send, recv, closeFD, poll
	}
	t.Cleanup(allow)
	called := func(name string) error {
		t.Errorf("got a call of %s, want none", name)
		return unix.EPERM
	}
	socketCall = func(int, int, int) (int, error) { return -1, called("socket") }
	bindCall = func(int, unix.Sockaddr) error { return called("bind") }
	listenCall = func(int, int) error { return called("listen") }
	acceptCall = func(int) (int, netip.AddrPort, error) { return -1, netip.AddrPort{}, called("accept") }
	connectCall = func(int, unix.Sockaddr) error { return called("connect") }
	sendCall = func(int, []byte, []byte, unix.Sockaddr, int) (int, error) { return 0, called("send") }
	recvCall = func(int, []byte, int) (int, unix.Sockaddr, error) { return 0, nil, called("recv") }
	closeCall = func(int) error { return called("close") }
	pollCall = func([]unix.PollFd, int) (int, error) { return 0, called("poll") }
	return allow
}

// A udpLimit is, for one family, the most bytes a UDP datagram carries
// (most), and the most it carries in one packet on loopback (onePacket):
// loopback's MTU less the IP and UDP headers, within that limit.
type udpLimit struct {
	f                    family
	mtu, most, onePacket int
}

// udpLimits reads loopback's MTU and gives each family's limits; the test
// is skipped where the MTU cannot be read.
func udpLimits(t *testing.T) []udpLimit {
	t.Helper()
	b, err := os.ReadFile("/sys/class/net/lo/mtu")
	if err != nil {
		t.Skipf("loopback's MTU cannot be read here: %v", err)
	}
	mtu, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return []udpLimit{
		{families[0], mtu, 65507, min(mtu-20-8, 65507)},
		{families[1], mtu, 65527, min(mtu-40-8, 65527)},
	}
}

// snmpCounter reads one of the kernel's counters for protocol (Icmp, Udp)
// from /proc/net/snmp, where a line of names is followed by a line of
// their values; false where there is no such file (not Linux).
func snmpCounter(t *testing.T, protocol, name string) (int, bool) {
	t.Helper()
	data, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, false
	}
	lines := strings.Split(string(data), "\n")
	for i := 0; i+1 < len(lines); i++ {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != protocol+":" || len(values) != len(names) {
			continue
		}
		for j, n := range names {
			if n == name {
				v, err := strconv.Atoi(values[j])
				if err != nil {
					t.Fatalf("/proc/net/snmp %s %s: %v", protocol, name, err)
				}
				return v, true
			}
		}
	}
	t.Fatalf("/proc/net/snmp has no %s %s", protocol, name)
	return 0, false
}

// suggestFromFreePorts moves, until the test ends, the ports suggested
// binds start from (suggestedFrom) off the tutorial's 8081 and 9090, which
// other packages' transcripts show while this test runs, to ports the
// kernel has just chosen, so that a test holds those and not 8081.
func suggestFromFreePorts(t *testing.T) {
	t.Helper()
	was := suggestedFrom
	suggestedFrom = map[Kind]int{}
	for kind, typ := range map[Kind]int{Stream: unix.SOCK_STREAM, Datagram: unix.SOCK_DGRAM} {
		fd, port := outsideSocket(t, typ)
		unix.Close(fd)
		suggestedFrom[kind] = port
	}
	t.Cleanup(func() { suggestedFrom = was })
}
