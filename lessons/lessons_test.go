package lessons

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sockstep/internal/golden"
	"sockstep/internal/kerneltest"
	"sockstep/repl"
	"sockstep/steps"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/transcripts")

// evalTimeout bounds every command a test types, so that a step that
// waits (accept, recv, connect) gives up rather than hang the test.
const evalTimeout = 10 * time.Second

// wideScreen keeps every paragraph on one line, so that transcripts do not
// wrap differently when an fd or a port has another number of digits.
const wideScreen = 10000

// A lab is one session with the lessons attached, typing as a learner.
type lab struct {
	t       *testing.T
	out     *bytes.Buffer
	session *repl.Session
	tutor   *Tutor
	port    uint16 // the port lessons start from; port+1 is free too

	browser <-chan fetched // a page being fetched, or nil
	page    *fetched       // the page, once fetched

	// beforeLine, when set, is called by playStep before it types line k
	// of step i's answer.
	beforeLine func(i, k int)
}

// fetched is what the browser got.
type fetched struct {
	status int
	body   string
	err    error
}

func newLab(t *testing.T, progressFile string) *lab {
	t.Helper()
	port := freePorts(t)
	var out bytes.Buffer
	s := repl.New(&out, repl.Options{Width: wideScreen})
	tutor, err := Attach(s, Options{ProgressFile: progressFile, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &lab{t: t, out: &out, session: s, tutor: tutor, port: port}
}

// freePorts finds a port that can be bound on every interface and whose
// next port can be too, with no connection of an earlier run left on
// either in the kernel's table, below the range the kernel hands out to
// clients (32768 and up), so that no client of another test takes it
// meanwhile.
func freePorts(t *testing.T) uint16 {
	t.Helper()
	for range 200 {
		p := uint16(20000 + rand.IntN(12000))
		if canBind(p) && canBind(p+1) && len(procLines(t, p)) == 0 && len(procLines(t, p+1)) == 0 {
			return p
		}
	}
	t.Fatal("found no two free ports side by side between 20000 and 32000")
	return 0
}

func canBind(port uint16) bool {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	unix.CloseOnExec(fd)
	return unix.Bind(fd, &unix.SockaddrInet4{Port: int(port)}) == nil
}

// enter echoes a line into the transcript, as the shell does, and runs it.
func (l *lab) enter(line string) error {
	l.out.WriteString("› " + line + "\n")
	ctx, cancel := context.WithTimeout(context.Background(), evalTimeout)
	defer cancel()
	err := l.session.Eval(ctx, line)
	l.watchBrowser()
	return err
}

// step is the index of the step the learner is on, or -1 when no lesson
// is playing.
func (l *lab) step() int {
	if l.tutor.play == nil {
		return -1
	}
	return l.tutor.play.page
}

// unavailable names the command a step's answer starts with when this
// build has no such command, or "".
func (l *lab) unavailable(step Step) string {
	first := strings.Fields(step.Answer[0])[0]
	if l.session.Knows(first) {
		return ""
	}
	return first
}

// playStep types step i's answer, filled in with the learner's ports as
// `hint answer` shows it, and fails the test unless the step is done by
// the last line and not before, and every line works but a last one that
// the step wants to fail.
func (l *lab) playStep(lesson *Lesson, i int) {
	l.t.Helper()
	step := lesson.Pages[i].Step
	if step.Browser != "" {
		l.openBrowser(l.tutor.fill(step.Browser))
	}
	failing := step.wantsFailure("")
	for k, line := range step.Answer {
		if l.beforeLine != nil {
			l.beforeLine(i, k)
		}
		mark := l.out.Len()
		err := l.enter(l.tutor.fill(line))
		done := l.step() != i
		last := k == len(step.Answer)-1
		if err != nil && !(last && failing) {
			l.t.Fatalf("%s:%d: %q failed; the lesson said:\n%s", lesson.File, step.Line, l.tutor.fill(line), l.out.String()[mark:])
		}
		if done && !last {
			l.t.Fatalf("%s:%d: the step was done by %q, before the last line of its answer", lesson.File, step.Line, line)
		}
		if !done && last {
			l.t.Fatalf("%s:%d: the answer did not reach the step's goal; the lesson said:\n%s", lesson.File, step.Line, l.out.String()[mark:])
		}
	}
}

// playAll plays every step of lesson with its answer (playStep), and
// skips, as a learner would, a step whose command this build has not;
// skipped says whether it did.
func (l *lab) playAll(lesson *Lesson) (skipped bool) {
	l.t.Helper()
	for i, page := range lesson.Pages {
		if l.unavailable(page.Step) != "" {
			l.enter("skip")
			skipped = true
			continue
		}
		l.playStep(lesson, i)
	}
	return skipped
}

// openBrowser fetches url with Go's HTTP client, as a browser would, and
// waits until its request has arrived at the learner's listener, so that
// the accept and recv that follow find it there.
func (l *lab) openBrowser(url string) {
	l.t.Helper()
	ch := make(chan fetched, 1)
	l.browser = ch
	go func() {
		client := &http.Client{Timeout: evalTimeout}
		resp, err := client.Get(url)
		if err != nil {
			ch <- fetched{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		ch <- fetched{status: resp.StatusCode, body: string(body), err: err}
	}()
	port, _ := strconv.Atoi(l.tutor.fill("{port}"))
	deadline := time.Now().Add(evalTimeout)
	for time.Now().Before(deadline) {
		conns, err := steps.Connections()
		if err != nil {
			l.t.Fatal(err)
		}
		for _, c := range conns {
			if c.Local.Port() == uint16(port) && c.Inode == 0 && c.State == steps.Established && c.RecvQ > 0 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.t.Fatalf("the browser's request never reached port %d", port)
}

// watchBrowser takes the browser's page if it has come, and fails the
// test if it came while a socket made by accept is still open: an HTTP/1.0
// response without Content-Length ends only when the connection does.
func (l *lab) watchBrowser() {
	if l.browser == nil || l.page != nil {
		return
	}
	select {
	case got := <-l.browser:
		l.page = &got
		for _, s := range l.session.Lab().Sockets() {
			if s.AcceptedFrom != "" {
				l.t.Errorf("the browser had its page while %s was still open", s.Label())
			}
		}
	default:
	}
}

// waitForPage waits, bounded, for the browser's page.
func (l *lab) waitForPage() fetched {
	l.t.Helper()
	if l.page == nil {
		select {
		case got := <-l.browser:
			l.page = &got
		case <-time.After(evalTimeout):
			l.t.Fatal("the browser got no page")
		}
	}
	return *l.page
}

func TestEmbeddedLessonsParse(t *testing.T) {
	if catalogueErr != nil {
		t.Fatalf("a lesson file does not parse:\n%v", catalogueErr)
	}
	if len(catalogue) < 9 {
		t.Errorf("got %d lessons, want at least the 9 of the course", len(catalogue))
	}
	var out bytes.Buffer
	s := repl.New(&out, repl.Options{})
	for _, l := range catalogue {
		for _, page := range l.Pages {
			for _, line := range page.Step.Answer {
				first := strings.Fields(line)[0]
				if !s.Knows(first) && first != "auto" {
					t.Errorf("%s:%d: the answer %q uses %q, which is no command of the shell", l.File, page.Step.Line, line, first)
				}
			}
		}
	}
}

// Every lesson, played with its own answers on live loopback sockets,
// reaches each step's goal exactly with the step's last answer line, and
// ends done. Its transcript matches testdata/transcripts (go test -update
// rewrites them).
func TestLessonsPlayEndToEnd(t *testing.T) {
	if err := kerneltest.SuggestedPortsFree(); err != nil {
		t.Fatal(err)
	}
	for n, lesson := range catalogue {
		t.Run(lesson.ID, func(t *testing.T) {
			l := newLab(t, "")
			l.enter(fmt.Sprintf("lesson %d", n+1))
			memory := l.tutor.play.memory
			for i, page := range lesson.Pages {
				if cmd := l.unavailable(page.Step); cmd != "" {
					t.Logf("%s:%d: this build has no %q command; the step is skipped, as a learner would", lesson.File, page.Step.Line, cmd)
					if cmd != "auto" {
						t.Errorf("only the auto demo step may be unavailable, not one that needs %q", cmd)
					}
				}
				mark := l.out.Len()
				if l.unavailable(page.Step) != "" {
					l.enter("skip")
				} else {
					l.playStep(lesson, i)
					finWaitsNamed(t, lesson, i, memory)
				}
				if next := nextLine.FindString(l.out.String()[mark:]); next != "" {
					t.Errorf("%s:%d: a report in the lesson ends with a next line of its own, which knows nothing of the lesson's next step: %q", lesson.File, page.Step.Line, next)
				}
				if strings.HasPrefix(page.Step.Answer[0], "auto ") {
					l.unrecorded(mark, "auto demo")
				}
			}
			if !l.tutor.Finished(n + 1) {
				t.Errorf("lesson %d did not end done; it said:\n%s", n+1, l.out)
			}
			if l.browser != nil {
				page := l.waitForPage()
				if page.err != nil || page.status != http.StatusOK || strings.TrimSpace(page.body) == "" ||
					!strings.Contains(strings.Join(lessonAnswers(lesson), "\n"), strings.TrimSpace(page.body)) {
					t.Errorf("the browser got status %d, body %q, error %v; want 200 and the page the lesson sends", page.status, page.body, page.err)
				}
			}
			if claim := claims[lesson.ID]; claim != nil {
				claim(t, l.port, memory)
			}
			l.compareTranscript(lesson.ID)
		})
	}
}

// nextLine is a report's next line, the call its step suggests after it.
var nextLine = regexp.MustCompile(`(?m)^  next  .*$`)

// Outside a lesson, a step's report ends with the call it suggests after
// it; inside one, the lesson's pages say what comes next, and the report
// leaves its own suggestion out, which names calls the lesson does not
// ask for (`send conn "Hello back"` where the lesson wants the client to
// send). Once the lesson is left, the suggestions are back.
func TestLessonsLeaveOutNextLines(t *testing.T) {
	l := newLab(t, "")
	for _, c := range []struct {
		line     string
		wantNext bool
	}{
		{"socket as before", true},
		{"lesson 1", false},
		{"socket as server", false},
		{"bind server 127.0.0.1 0", false},
		{"quit lesson", false},
		{"socket as after", true},
	} {
		mark := l.out.Len()
		l.enter(c.line)
		said := l.out.String()[mark:]
		if got := nextLine.MatchString(said); got != c.wantNext {
			t.Errorf("%q: a next line shown: %v, want %v; it said:\n%s", c.line, got, c.wantNext, said)
		}
	}
}

// On a machine shared by a class, another learner's server may hold the
// port a lesson would start from, before the lesson starts or after it
// has started but before the learner has used the port. Every lesson
// then says so, moves to a free port, and its text, hints and answers
// name that one from then on (the learner asks for a hint once the port
// is taken, to see it): played with them, it ends done.
func TestLessonsMoveOffATakenPort(t *testing.T) {
	for _, when := range []string{"before", "after"} {
		for n, lesson := range catalogue {
			t.Run(when+"/"+lesson.ID, func(t *testing.T) {
				l := newLab(t, "")
				if when == "before" {
					listener(t, l.port, false)
				}
				l.enter(fmt.Sprintf("lesson %d", n+1))
				mark := l.out.Len()
				if when == "after" {
					listener(t, l.port, false)
					l.enter("hint")
				}
				l.playAll(lesson)
				if l.browser != nil {
					l.waitForPage()
				}
				if l.unavailable(lesson.Pages[0].Step) == "" && !l.tutor.Finished(n+1) {
					t.Errorf("lesson %d did not end done:\n%s", n+1, l.out)
				}
				if when == "before" {
					mark = 0
				}
				taken := regexp.MustCompile(`.*\b` + strconv.Itoa(int(l.port)) + `\b.*`)
				for _, line := range taken.FindAllString(l.out.String()[mark:], -1) {
					if !strings.Contains(line, fmt.Sprintf("taken port %d:", l.port)) && !strings.Contains(line, fmt.Sprintf("Port %d is taken:", l.port)) {
						t.Errorf("with port %d taken by another program, the lesson said: %s", l.port, strings.TrimSpace(line))
					}
				}
			})
		}
	}
}

func lessonAnswers(lesson *Lesson) []string {
	var all []string
	for _, page := range lesson.Pages {
		all = append(all, page.Step.Answer...)
	}
	return all
}

// unrecorded replaces what a step printed, up to the next step's heading,
// with a note: the output of a command that belongs to another part of
// sockstep is not this lesson's to pin down.
func (l *lab) unrecorded(mark int, what string) {
	text := l.out.String()
	rest := text[mark:]
	end := strings.Index(rest, "── Lesson")
	if end < 0 {
		end = len(rest)
	}
	l.out.Reset()
	l.out.WriteString(text[:mark] + "› [" + what + ": its output is not recorded here]\n\n" + rest[end:])
}

// claims check what a lesson says that its checks cannot see.
var claims = map[string]func(t *testing.T, port uint16, lesson *memory){
	// A socket with an address that does not listen refuses connections.
	"01-server": func(t *testing.T, _ uint16, _ *memory) {
		bound := mustSocket(t)
		if err := unix.Bind(bound, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		sa, err := unix.Getsockname(bound)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Connect(mustSocket(t), sa); !errors.Is(err, unix.ECONNREFUSED) {
			t.Errorf("connect to a bound socket that does not listen: got %v, want ECONNREFUSED", err)
		}
	},
	// TIME_WAIT is on the server's end alone, and lasts 60 seconds.
	"06-closing": func(t *testing.T, port uint16, lesson *memory) {
		var lines []procLine
		for _, line := range procLines(t, port) {
			if lesson.hasEnds(line.local, line.remote) {
				lines = append(lines, line)
			}
		}
		if len(lines) != 1 || lines[0].state != steps.TimeWait || lines[0].local.Port() != port {
			t.Fatalf("the kernel's table holds %+v for the lesson's connection; want one TIME_WAIT on the server's end, port %d", lines, port)
		}
		if s := lines[0].timerSeconds; s < 50 || s > 60 {
			t.Errorf("TIME_WAIT's timer has %.1f s left; the lesson says 60 s", s)
		}
	},
	// The tutorial's client closes with the greeting unread: a reset, so
	// the server's end is gone at once, with no TIME_WAIT.
	"08-tutorial": func(t *testing.T, port uint16, _ *memory) {
		for _, line := range procLines(t, port+1) {
			if line.state != steps.Listen {
				t.Errorf("the kernel's table still holds a connection on port %d: %+v; the lesson says the reset left nothing", port+1, line)
			}
		}
	},
}

// procLine is a line of /proc/net/tcp, with its timer.
type procLine struct {
	state         steps.TCPState
	local, remote netip.AddrPort
	timerSeconds  float64
}

// procLines reads the lines of /proc/net/tcp with port at either end. The
// timer column (tr:when) counts in USER_HZ, 100 a second. The kernel writes
// the file a page per read call, and a socket can be written twice, or
// missed, when other sockets come and go between two reads (as they do while
// other packages' tests run); a line written twice is kept once here.
func procLines(t *testing.T, port uint16) []procLine {
	t.Helper()
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []procLine
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		state, _ := strconv.ParseUint(fields[3], 16, 8)
		_, when, _ := strings.Cut(fields[5], ":")
		ticks, _ := strconv.ParseUint(when, 16, 64)
		line := procLine{state: steps.TCPState(state), local: procAddr(fields[1]), remote: procAddr(fields[2]), timerSeconds: float64(ticks) / 100}
		if (line.local.Port() == port || line.remote.Port() == port) && !slices.ContainsFunc(lines, func(l procLine) bool {
			return l.local == line.local && l.remote == line.remote && l.state == line.state
		}) {
			lines = append(lines, line)
		}
	}
	return lines
}

// procAddr reads an IPv4 address of /proc/net/tcp, "0100007F:1F91": the
// address's four bytes in the host's (little-endian) order, and the port.
func procAddr(text string) netip.AddrPort {
	hexAddr, hexPort, _ := strings.Cut(text, ":")
	raw, _ := strconv.ParseUint(hexAddr, 16, 32)
	port, _ := strconv.ParseUint(hexPort, 16, 16)
	addr := netip.AddrFrom4([4]byte{byte(raw), byte(raw >> 8), byte(raw >> 16), byte(raw >> 24)})
	return netip.AddrPortFrom(addr, uint16(port))
}

// A wrong or incomplete command in any step runs as usual, and the lesson
// stays on the step and says what is missing: the first of the step's
// checks that fails, and that `hint` helps.
func TestWrongCommandsDoNotAdvance(t *testing.T) {
	for n, lesson := range catalogue {
		t.Run(lesson.ID, func(t *testing.T) {
			l := newLab(t, "")
			l.enter(fmt.Sprintf("lesson %d", n+1))
			for i, page := range lesson.Pages {
				step := page.Step
				if l.unavailable(step) != "" {
					t.Logf("%s:%d: this build has no %q command; no wrong command is tried there", lesson.File, step.Line, l.unavailable(step))
					l.enter("skip")
					continue
				}
				if step.Browser != "" {
					l.openBrowser(l.tutor.fill(step.Browser))
				}
				command := strings.Fields(step.Answer[0])[0]
				wrong := []string{command + " nosuchsocket"}
				if !hasCheck(step, "ran sockets") {
					wrong = append(wrong, "sockets")
				}
				for _, line := range wrong {
					mark := l.out.Len()
					l.enter(line)
					said := l.out.String()[mark:]
					if l.step() != i {
						t.Fatalf("%s:%d: %q moved the lesson on; it said:\n%s", lesson.File, step.Line, line, said)
					}
					missing := l.firstFailure()
					if !strings.Contains(said, "Not yet: "+missing) || !strings.Contains(said, "`hint`") {
						t.Errorf("%s:%d: after %q the lesson said:\n%s\nwant it to say what is missing (%q) and offer `hint`", lesson.File, step.Line, line, said, missing)
					}
				}
				l.browser = nil // the answer's accept takes the connection opened above
				for _, line := range step.Answer {
					l.enter(l.tutor.fill(line))
				}
				if l.step() == i {
					t.Fatalf("%s:%d: after the wrong commands, the answer did not reach the goal; output:\n%s", lesson.File, step.Line, l.out)
				}
			}
		})
	}
}

func hasCheck(step Step, text string) bool {
	for _, c := range step.Checks {
		if c.String() == text {
			return true
		}
	}
	return false
}

// firstFailure is what the first failing check of the current step says.
func (l *lab) firstFailure() string {
	w := l.tutor.look()
	for _, c := range l.tutor.play.lesson.Pages[l.tutor.play.page].Step.Checks {
		if v := c.def.judge(w, c); !v.ok {
			return v.text
		}
	}
	l.t.Fatal("every check of the step passes, yet the lesson did not move on")
	return ""
}

func TestLessonCommands(t *testing.T) {
	l := newLab(t, "")
	said := func(line string) string {
		mark := l.out.Len()
		l.enter(line)
		return l.out.String()[mark:]
	}
	if got := said("next"); !strings.Contains(got, "✗ no lesson is running") {
		t.Errorf("next without a lesson: got %q, want it to say no lesson is running", got)
	}
	said("socket as before")
	if got := said("lesson 99"); !strings.Contains(got, "there is no lesson 99") {
		t.Errorf("lesson 99: got %q", got)
	}
	// A lesson starts from an empty table, and says what it closed.
	if got := said("lesson 1"); !strings.Contains(got, "closed the sockets left from before: before (fd") || len(l.session.Lab().Sockets()) != 0 {
		t.Errorf("lesson 1 with a socket from before: said %q, left %q", got, l.session.Lab().Names())
	}
	first := catalogue[0].Pages[0].Step

	// Hints come one at a time; the answer whenever it is asked for,
	// before the last hint and after it, and asking for it uses no hint.
	if got := said("hint"); !strings.Contains(got, first.Hints[0]) {
		t.Errorf("first hint: got %q, want %q", got, first.Hints[0])
	}
	if got := said("hint answer"); !strings.Contains(got, first.Answer[0]) || strings.Contains(got, first.Hints[1]) {
		t.Errorf("hint answer before the last hint: got %q, want the answer %q and no hint", got, first.Answer[0])
	}
	if got := said("hint"); !strings.Contains(got, first.Hints[1]) {
		t.Errorf("hint after hint answer: got %q, want the next hint %q", got, first.Hints[1])
	}
	if got := said("hint"); !strings.Contains(got, "No more hints") {
		t.Errorf("hint after the last: got %q", got)
	}
	if got := said("hint answer"); !strings.Contains(got, first.Answer[0]) {
		t.Errorf("hint answer: got %q, want %q", got, first.Answer[0])
	}

	// next checks the goal; back goes back; skip moves on.
	if said("next"); l.step() != 0 {
		t.Fatalf("next before the goal moved to step %d", l.step())
	}
	said("socket as server")
	if l.step() != 1 {
		t.Fatalf("after socket: on step %d, want 1", l.step())
	}
	if said("back"); l.step() != 0 {
		t.Fatalf("back: on step %d, want 0", l.step())
	}
	if said("next"); l.step() != 1 {
		t.Fatalf("next with the goal reached: on step %d, want 1", l.step())
	}
	if said("skip"); l.step() != 2 || !l.tutor.play.skipped {
		t.Fatalf("skip: on step %d, skipped %v; want step 2, skipped", l.step(), l.tutor.play.skipped)
	}

	// reset closes the lesson's sockets and starts again.
	got := said("reset")
	if l.step() != 0 || l.tutor.play.skipped || !strings.Contains(got, "Closed this lesson's sockets: server (fd") {
		t.Errorf("reset: on step %d, skipped %v, said %q", l.step(), l.tutor.play.skipped, got)
	}
	if names := l.session.Lab().Names(); len(names) != 0 {
		t.Errorf("after reset the lab holds %q, want no socket", names)
	}

	// A lesson with a skipped step ends without ✔.
	for i := range catalogue[0].Pages {
		if i == 1 {
			said("skip")
			continue
		}
		l.playStep(catalogue[0], i)
	}
	if l.tutor.Finished(1) || l.tutor.progress.of(catalogue[0].ID).Completed {
		t.Error("lesson 1 with a skipped step counts as done")
	}
	if got := said("lessons"); !regexp.MustCompile(`\n\s+1\s+The server's side \(played to its end, with steps skipped\)`).MatchString(got) {
		t.Errorf("after lesson 1 ended with a skipped step, lessons said:\n%s", got)
	}

	// quit lesson leaves the sockets open.
	said("lesson 2")
	said("socket as kept")
	said("quit lesson")
	if l.tutor.play != nil || !strings.Contains(strings.Join(l.session.Lab().Names(), " "), "kept") {
		t.Errorf("quit lesson: still playing %v, sockets %q", l.tutor.play != nil, l.session.Lab().Names())
	}
	if got := said("hint"); !strings.Contains(got, "✗ no lesson is running") {
		t.Errorf("hint after quit lesson: got %q", got)
	}

	// The commands are in help and completion.
	help := said("help")
	for _, name := range []string{"lessons", "lesson", "next", "back", "hint", "skip", "reset", "quit lesson"} {
		if !regexp.MustCompile(`\n {4}` + name + ` {2,}`).MatchString(help) {
			t.Errorf("help does not list %q:\n%s", name, help)
		}
	}
	if got, _ := l.session.Complete("quit "); !slices.Contains(got, "lesson") {
		t.Errorf("Complete(\"quit \"): got %q, want lesson", got)
	}
	if got, _ := l.session.Complete("lesson "); !slices.Contains(got, "9") {
		t.Errorf("Complete(\"lesson \"): got %q, want the lesson numbers", got)
	}
}

// Progress is kept in $XDG_CONFIG_HOME/sockstep/progress.json, readable by
// the user alone, and a new session starts from it.
func TestProgressSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	file := ProgressFile()
	if want := filepath.Join(dir, "sockstep", "progress.json"); file != want {
		t.Fatalf("ProgressFile: got %q, want %q", file, want)
	}

	first := newLab(t, file)
	first.enter("lesson 1")
	for i := range catalogue[0].Pages {
		first.playStep(catalogue[0], i)
	}
	first.enter("lesson 2")
	first.playStep(catalogue[1], 0)
	first.playStep(catalogue[1], 1)
	first.session.Close()

	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("progress file mode: got %o, want 600", mode)
	}

	second := newLab(t, file)
	second.enter("lessons")
	list := second.out.String()
	if !regexp.MustCompile(`✔ 1\s+The server's side`).MatchString(list) {
		t.Errorf("after a restart, lessons does not show lesson 1 done:\n%s", list)
	}
	if want := fmt.Sprintf("(you got to step 3 of %d)", len(catalogue[1].Pages)); !strings.Contains(list, want) {
		t.Errorf("after a restart, lessons does not show %q for lesson 2:\n%s", want, list)
	}
	second.enter("lesson")
	if got := second.tutor.Current(); got != 2 {
		t.Errorf("`lesson` after a restart started lesson %d, want 2, the first not done", got)
	}

	if err := os.WriteFile(file, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	third := newLab(t, file)
	third.enter("lessons")
	if got := third.out.String(); !strings.Contains(got, "could not read your progress") || strings.Contains(got, "✔") {
		t.Errorf("a broken progress file: lessons said\n%s\nwant it to say so and start afresh", got)
	}
}

// Two sessions of one learner at once (two terminals), each started
// before the other saved, finish different lessons: the progress file
// keeps both, whichever saves last.
func TestProgressOfTwoSessionsAtOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sockstep", "progress.json")
	first, second := newLab(t, file), newLab(t, file)
	first.enter("lesson 1")
	second.enter("lesson 2")
	for i := range catalogue[0].Pages {
		first.playStep(catalogue[0], i)
	}
	for i := range catalogue[1].Pages {
		second.playStep(catalogue[1], i)
	}
	saved, err := loadProgress(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range catalogue[:2] {
		if lp := saved.Lessons[l.ID]; lp == nil || !lp.Completed || lp.Reached != len(l.Pages) {
			t.Errorf("after two sessions at once, the progress file holds %+v for %s; want it done, %d steps reached", lp, l.ID, len(l.Pages))
		}
	}
	third := newLab(t, file)
	third.enter("lessons")
	for _, want := range []string{`✔ 1\s+The server's side`, `✔ 2\s+`} {
		if !regexp.MustCompile(want).MatchString(third.out.String()) {
			t.Errorf("lessons, after both sessions, does not match %q:\n%s", want, third.out)
		}
	}
}

// A progress file that cannot be read or written (here a directory
// stands where it should be) is said once, and the lesson goes on to its
// end, done.
func TestProgressFileThatCannotBeWritten(t *testing.T) {
	file := filepath.Join(t.TempDir(), "progress.json")
	if err := os.Mkdir(file, 0o700); err != nil {
		t.Fatal(err)
	}
	l := newLab(t, file)
	l.enter("lesson 1")
	for i := range catalogue[0].Pages {
		l.playStep(catalogue[0], i)
	}
	if !l.tutor.Finished(1) {
		t.Fatalf("lesson 1 did not end done:\n%s", l.out)
	}
	said := l.out.String()
	if n := strings.Count(said, "could not read your progress"); n != 1 {
		t.Errorf("the lesson said %d times that it could not read the progress file, want once:\n%s", n, said)
	}
	if n := strings.Count(said, "could not save your progress"); n != 1 {
		t.Errorf("the lesson said %d times that it could not save the progress file, want once:\n%s", n, said)
	}
}

// SO_REUSEADDR, as lesson 7 tells it: with it set on the old and the new
// listener, the new one binds and listens while an old connection is in
// TIME_WAIT; without it on the old one, it does not; and it never lets two
// sockets listen on one port.
func TestReuseAddrClaim(t *testing.T) {
	for _, oldReuses := range []bool{true, false} {
		t.Run(fmt.Sprintf("old listener reuses %v", oldReuses), func(t *testing.T) {
			port := freePorts(t)
			old := listener(t, port, oldReuses)
			client := mustSocket(t)
			if err := unix.Connect(client, &unix.SockaddrInet4{Port: int(port), Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				t.Fatal(err)
			}
			conn, _, err := unix.Accept(old)
			if err != nil {
				t.Fatal(err)
			}
			unix.Close(conn) // the server's end closes first…
			unix.Close(client)
			unix.Close(old) // …and is left in TIME_WAIT
			lines := procLines(t, port)
			for try := 1; len(lines) == 0 && try < 5; try++ { // missed in a read: see procLines
				lines = procLines(t, port)
			}
			if len(lines) != 1 || lines[0].state != steps.TimeWait {
				t.Fatalf("the kernel's table holds %+v, want one TIME_WAIT", lines)
			}
			if err := bindTo(t, port, false); !errors.Is(err, unix.EADDRINUSE) {
				t.Errorf("bind without SO_REUSEADDR: got %v, want EADDRINUSE", err)
			}
			err = bindTo(t, port, true)
			if oldReuses && err != nil {
				t.Fatalf("bind with SO_REUSEADDR on both: got %v, want success", err)
			}
			if !oldReuses && !errors.Is(err, unix.EADDRINUSE) {
				t.Errorf("bind with SO_REUSEADDR, the old listener without: got %v, want EADDRINUSE", err)
			}
			if oldReuses { // the new listener listens now
				if err := bindTo(t, port, true); !errors.Is(err, unix.EADDRINUSE) {
					t.Errorf("a second listener with SO_REUSEADDR: got %v, want EADDRINUSE", err)
				}
			}
		})
	}
}

func mustSocket(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	unix.CloseOnExec(fd)
	return fd
}

// bindTo binds a new socket to 127.0.0.1:port, with SO_REUSEADDR if asked,
// and makes it listen.
func bindTo(t *testing.T, port uint16, reuse bool) error {
	fd := mustSocket(t)
	if reuse {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(port), Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return err
	}
	return unix.Listen(fd, 8)
}

func listener(t *testing.T, port uint16, reuse bool) int {
	t.Helper()
	fd := mustSocket(t)
	if reuse {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(port), Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 8); err != nil {
		t.Fatal(err)
	}
	return fd
}

// The transcript, with what changes from run to run (fds, ports, times)
// or from machine to machine (limits) replaced by names.
var (
	fdPatterns = []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile(`(socket\([^)]*\)) = \d+`), "$1 = FD"},
		{regexp.MustCompile(`accept\(\d+\) = \d+`), "accept(FD) = FD"},
		{regexp.MustCompile(`(^|[^.\w])(bind|listen|accept|connect|send|recv|close|sendto|recvfrom|shutdown|setsockopt|getsockopt|fcntl)\(\d+`), "$1$2(FD"},
		{regexp.MustCompile(`(close\(\d+\) = 0; )+close\(\d+\)`), "close(FD) = 0; …close(FD)"},
		{regexp.MustCompile(`\bfd \d+`), "fd FD"},
		{regexp.MustCompile(`file descriptor \d+`), "file descriptor FD"},
		// Said of fd 3 only, which a socket gets or not as the test
		// binary has other files open.
		{regexp.MustCompile(` \(0, 1 and 2 are its standard input, output and error\)`), ""},
		{regexp.MustCompile(`\b\d+(\.\d+)? ms\b`), "T ms"},
		{regexp.MustCompile(`\b\d+\.\d+ s\b`), "T s"},
		{regexp.MustCompile(`\b(3[2-9]\d{3}|[4-5]\d{4}|6[0-5]\d{3})\b`), "EPHEMERAL"},
		// This machine's limits, which the narration reads from /proc/sys.
		{regexp.MustCompile(`\b\d+ (bytes |seconds )?here\b`), "N ${1}here"},
		{regexp.MustCompile(`(\S) {2,}`), "$1  "},
		// On loopback the ACK of a closing side's FIN, and a browser's own
		// close in answer, come within microseconds: close may read its
		// connection just before or after them, or (rarely, even after
		// ConnectionState asks twice) in the instant it becomes TIME_WAIT,
		// when the kernel reports CLOSE.
		// The sentence ends at a dot and a space, not at an address's dots.
		{regexp.MustCompile(`now (FIN_WAIT1|TIME_WAIT|CLOSED)(?:[^.]|\.\S)*\.`), "now FIN_WAIT2: the peer has acknowledged the FIN, and this side waits for the peer's own close."},
		{regexp.MustCompile(`connection (FIN_WAIT1|TIME_WAIT|CLOSED) in the kernel`), "connection FIN_WAIT2 in the kernel"},
	}
)

func normalise(text string, port uint16) string {
	for name, p := range map[string]uint16{"PORT": port, "SECOND_PORT": port + 1} {
		text = regexp.MustCompile(`\b`+strconv.Itoa(int(p))+`\b`).ReplaceAllString(text, name)
	}
	for _, p := range fdPatterns {
		text = p.re.ReplaceAllString(text, p.with)
	}
	return text
}

func (l *lab) compareTranscript(id string) {
	l.t.Helper()
	got := normalise(l.out.String(), l.port)
	golden.Compare(l.t, filepath.Join("testdata", "transcripts", id+".txt"), got, *update)
}

// A progress file that is not one, however large or endless, is read no
// further than a progress file can be long: sockstep starts at once, says
// what it could not read, and that starting a lesson replaces it.
func TestProgressFileThatIsNotOne(t *testing.T) {
	huge := []byte(`{"lessons":{`)
	for i := range 100000 {
		huge = fmt.Appendf(huge, `"l%d":{"reached":%d},`, i, i)
	}
	huge = append(huge, `"last":{}}}`...)
	for _, tc := range []struct {
		name, want string
		make       func(file string) error
	}{
		{"a link to /dev/zero", "not a regular file", func(file string) error { return os.Symlink("/dev/zero", file) }},
		{"a named pipe no one writes", "not a regular file", func(file string) error { return unix.Mkfifo(file, 0o600) }},
		{"a directory", "is a directory", func(file string) error { return os.Mkdir(file, 0o700) }},
		{"100 MB of holes", "104857600 bytes", func(file string) error {
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				return err
			}
			return os.Truncate(file, 100<<20)
		}},
		{"valid JSON of 100000 lessons", fmt.Sprintf("%d bytes", len(huge)), func(file string) error { return os.WriteFile(file, huge, 0o600) }},
		{"binary", "invalid character", func(file string) error { return os.WriteFile(file, []byte("\x00\xff\x1b[2J"), 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "progress.json")
			if err := tc.make(file); err != nil {
				t.Fatal(err)
			}
			loaded := make(chan error, 1)
			go func() {
				_, err := loadProgress(file)
				loaded <- err
			}()
			var err error
			select {
			case err = <-loaded:
			case <-time.After(5 * time.Second):
				t.Fatalf("reading the progress file did not end within 5 s")
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want it to say %q", err, tc.want)
			}
			l := newLab(t, file)
			l.enter("lessons")
			l.enter("lessons")
			if n := strings.Count(l.out.String(), "could not read your progress"); n != 1 {
				t.Errorf("said %d times that it could not read the progress file, want once:\n%s", n, l.out)
			}
			// Whether it said that starting a lesson replaces the file is
			// held against what starting one does to it.
			promised := strings.Contains(err.Error(), "starting a lesson writes a new file in its place")
			l.enter("lesson 1")
			info, serr := os.Lstat(file)
			if replaced := serr == nil && info.Mode().IsRegular() && info.Size() <= maxProgress; replaced != promised {
				t.Errorf("it said %q; after lesson 1 began the file was replaced: %v", err, replaced)
			}
		})
	}
}

// The progress file's name comes from the environment, and may hold any
// byte: the messages that name it show it escaped, never raw.
func TestProgressFileNameIsShownSafely(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "\x1b[2J\x1b]52;c;aGk=\x07\u202e\xff")
	if err := os.MkdirAll(filepath.Join(dir, "progress.json"), 0o700); err != nil { // a directory: cannot be read or written
		t.Fatal(err)
	}
	l := newLab(t, filepath.Join(dir, "progress.json"))
	l.enter("help lessons")
	l.enter("lesson 1")
	for i := range catalogue[0].Pages {
		l.playStep(catalogue[0], i)
	}
	said := l.out.String()
	for _, want := range []string{"could not read your progress", "could not save your progress", `\x1b[2J\x1b]52;c;aGk=\x07\u202e\xff`} {
		if !strings.Contains(said, want) {
			t.Errorf("the session does not say %q:\n%s", want, said)
		}
	}
	for _, raw := range []string{"\x1b", "\x07", "\u202e", "\xff"} {
		if strings.Contains(said, raw) {
			t.Errorf("the session wrote %q raw:\n%q", raw, said)
		}
	}
}

// A step whose goal the sockets reach before it is shown (lesson 2's
// client made before the server listens) has nothing left to type: `hint
// answer` says so, rather than show an answer with every command left
// out, and `next` goes on.
func TestHintAnswerWhenTheGoalIsReachedAlready(t *testing.T) {
	l := newLab(t, "")
	l.enter("lesson 2")
	for _, line := range []string{"socket as server", "socket as client", fmt.Sprintf("bind server 127.0.0.1 %d", l.port), "listen server"} {
		if err := l.enter(line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	if l.step() != 1 || len(l.session.Lab().Sockets()) < 2 {
		t.Fatalf("want lesson 2's step 2 shown with its goal reached (two sockets); on step %d:\n%s", l.step()+1, l.out)
	}
	mark := l.out.Len()
	l.enter("hint answer")
	if said := l.out.String()[mark:]; !strings.Contains(said, "reach this step's goal already: type `next`") {
		t.Errorf("hint answer does not say the goal is reached:\n%s", said)
	}
	if l.enter("next"); l.step() != 2 {
		t.Errorf("next did not go on from a step whose goal is reached:\n%s", l.out.String()[mark:])
	}
}

// TestBindStepPointsToTheNewSocket: in a step whose goal is a bound
// socket, a learner who has made the socket the answer binds, and not yet
// bound it, is told to bind that socket (the check says so, or the line
// after a command of the answer that names what is still to do), not that
// an older socket's address cannot change (which is true, but not the way
// on).
func TestBindStepPointsToTheNewSocket(t *testing.T) {
	for n, lesson := range catalogue {
		for i, page := range lesson.Pages {
			step := page.Step
			bound := false
			for _, c := range step.Checks {
				bound = bound || strings.HasPrefix(c.String(), "bound")
			}
			if !bound || len(step.Answer) < 2 {
				continue
			}
			t.Run(fmt.Sprintf("%s:%d", lesson.File, step.Line), func(t *testing.T) {
				l := newLab(t, "")
				l.enter(fmt.Sprintf("lesson %d", n+1))
				for k := range i {
					l.playStep(lesson, k)
				}
				mark := l.out.Len()
				bind := ""
				for _, line := range step.Answer[:len(step.Answer)-1] {
					l.enter(l.tutor.fill(line))
				}
				for _, line := range step.Answer {
					if f := strings.Fields(l.tutor.fill(line)); f[0] == "bind" {
						bind = "`bind " + f[1] + "`"
					}
				}
				said := l.out.String()[mark:]
				if !strings.Contains(said, "has no address yet: bind it") && !strings.Contains(said, "Still to do: "+bind) || strings.Contains(said, "keeps its first address") {
					t.Errorf("before the answer's bind the lesson said:\n%s\nwant it to point to the socket that has no address", said)
				}
			})
		}
	}
}

// TestStepDoneAheadIsSaidWhenShown: a learner who makes the client's
// socket while setting up the server is told, when the step that asks for
// that socket is shown, that it is done already, and `next` goes on; a
// step not done ahead says no such thing.
func TestStepDoneAheadIsSaidWhenShown(t *testing.T) {
	tests := []struct {
		lines []string
		ahead bool
	}{
		{[]string{"socket as server", "socket as client", "bind server 127.0.0.1 {port}", "listen server"}, true},
		{[]string{"socket as server", "bind server 127.0.0.1 {port}", "listen server"}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.lines, "; "), func(t *testing.T) {
			l := newLab(t, "")
			l.enter("lesson 2")
			mark := l.out.Len()
			for _, line := range tt.lines {
				if err := l.enter(l.tutor.fill(line)); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
			}
			said := l.out.String()[mark:]
			if l.step() != 1 {
				t.Fatalf("on step %d, want step 2 (the client's socket) shown:\n%s", l.step()+1, said)
			}
			if got := strings.Contains(said, reachedAlready); got != tt.ahead {
				t.Fatalf("says the goal is reached already: %v, want %v:\n%s", got, tt.ahead, said)
			}
			if !tt.ahead {
				return
			}
			if l.enter("next"); l.step() != 2 {
				t.Errorf("next did not go on from the step done ahead:\n%s", l.out.String()[mark:])
			}
		})
	}
}

// A command of a step's answer that does not yet reach the step's goal is
// a step on the way, not a mistake: the lesson says which of the answer's
// commands are still to do, without "Not yet". Any other command, or the
// same one again, still hears what is missing.
func TestAnswerLinesOnTheWay(t *testing.T) {
	l := newLab(t, "")
	l.enter(fmt.Sprintf("lesson %d", 1+slices.IndexFunc(catalogue, func(l *Lesson) bool { return l.ID == "02-client" })))
	const good = "Good: that is one of this step's commands. Still to do: "
	for _, c := range []struct {
		line string
		want string // what the lesson says after it
	}{
		{"socket as server", good + "`bind server`, then `listen server`."},
		{"sockets", "Not yet: "},
		{"socket as spare", "Not yet: "},
		{"bind server 127.0.0.1 {port}", good + "`listen server`."},
		{"bind server 127.0.0.1 {port}", "Not yet: "},
	} {
		mark := l.out.Len()
		l.enter(l.tutor.fill(c.line))
		said := l.out.String()[mark:]
		if !strings.Contains(said, c.want) || strings.HasPrefix(c.want, good) == strings.Contains(said, "Not yet") {
			t.Errorf("after %q the lesson said:\n%s\nwant %q", c.line, said, c.want)
		}
	}
	for n, lesson := range catalogue {
		t.Run(lesson.ID, func(t *testing.T) {
			l := newLab(t, "")
			l.enter(fmt.Sprintf("lesson %d", n+1))
			for i, page := range lesson.Pages {
				if l.unavailable(page.Step) != "" {
					l.enter("skip")
					continue
				}
				mark := l.out.Len()
				l.playStep(lesson, i)
				said := l.out.String()[mark:]
				if got, want := strings.Count(said, good), len(page.Step.Answer)-1; strings.Contains(said, "Not yet") || got != want {
					t.Errorf("%s:%d: the lines of the step's answer heard %q %d times, want %d, and no \"Not yet\":\n%s", lesson.File, page.Step.Line, good, got, want, said)
				}
			}
		})
	}
}

// asksToType finds a sentence that tells the learner to type a command.
var asksToType = regexp.MustCompile("(?i)\\btype `")

// The reading after a lesson's last step is shown once the lesson is done,
// just before `✔ Lesson N is done.`: a command it asks for would come as
// an afterthought, when no step waits for it. What the learner should
// type belongs in a step.
func TestEndingsAskForNoCommand(t *testing.T) {
	for _, lesson := range catalogue {
		for _, prose := range lesson.Ending {
			for _, b := range prose {
				if !b.Code && asksToType.MatchString(b.Text) {
					t.Errorf("%s: its last reading, shown once the lesson is done, asks for a command: %q", lesson.File, b.Text)
				}
			}
		}
	}
}
