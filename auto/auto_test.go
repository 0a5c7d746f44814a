package auto_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sockstep/auto"
	"sockstep/internal/peer"
	"sockstep/internal/prosetest"
	"sockstep/steps"

	"golang.org/x/sys/unix"
)

// A recorder is a Stage that keeps what a flow shows, for the tests to
// read, and hands each printed line to a channel as it comes.
type recorder struct {
	mu      sync.Mutex
	events  []event
	printed chan string
	pause   func(next string) bool // nil: never asked
}

// An event is one thing a flow showed.
type event struct {
	side auto.Side
	kind string // command, report, print, message, tell, waiting, pause
	text string
	rep  *steps.Report
}

func newRecorder() *recorder { return &recorder{printed: make(chan string, 1000)} }

func (r *recorder) add(e event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) Command(side auto.Side, step string, args []string) {
	r.add(event{side: side, kind: "command", text: strings.Join(append([]string{step}, args...), " ")})
}
func (r *recorder) Report(side auto.Side, rep *steps.Report) {
	r.add(event{side: side, kind: "report", text: rep.Call, rep: rep})
}
func (r *recorder) Print(side auto.Side, line string) {
	r.add(event{side: side, kind: "print", text: line})
	r.printed <- line
}
func (r *recorder) Message(side auto.Side, data []byte) {
	r.add(event{side: side, kind: "message", text: string(data)})
}
func (r *recorder) Tell(side auto.Side, text string) {
	r.add(event{side: side, kind: "tell", text: text})
}
func (r *recorder) Waiting(side auto.Side, what func() string) {
	r.add(event{side: side, kind: "waiting", text: what()})
}
func (r *recorder) Pause(_ context.Context, side auto.Side, next func(room int) string) bool {
	line := next(1000) // room for every call whole, as it is made
	r.add(event{side: side, kind: "pause", text: line})
	return r.pause(line)
}

// of returns the texts of the events of one kind, as "side: text".
func (r *recorder) of(kind string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var texts []string
	for _, e := range r.events {
		if e.kind == kind {
			texts = append(texts, string(e.side)+": "+e.text)
		}
	}
	return texts
}

// openFDs counts this process's open file descriptors, after a demo has
// run once: that opens what the process keeps for good (the runtime's, and
// the netlink socket close asks sock_diag through), so that what remains
// to count is what one flow opens and should close.
func openFDs(t *testing.T) int {
	t.Helper()
	if _, err := play(t, context.Background(), newRecorder(), "demo --port 0"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open file descriptors here: %v", err)
	}
	return len(entries)
}

// play parses an auto command line and runs it on rec, with a bound.
func play(t *testing.T, ctx context.Context, rec *recorder, line string) (auto.Summary, error) {
	t.Helper()
	plan, err := auto.Parse(strings.Fields(line))
	if err != nil {
		t.Fatalf("Parse(%q): %v", line, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := plan.FindHost(ctx); err != nil { // as sockstep does before it plays
		t.Fatalf("FindHost(%q): %v", line, err)
	}
	sum, err := plan.Run(ctx, rec)
	checkFilled(t, rec)
	return sum, err
}

// checkFilled fails the test where the flow's own narration, or a step's,
// has a flaw prosetest finds: a hole where a value should be, "1 bytes".
func checkFilled(t *testing.T, rec *recorder) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.events {
		texts := []string{e.text}
		if e.kind == "report" {
			e.rep.Narrate()
			texts = []string{e.rep.Says}
		}
		if e.kind == "print" || e.kind == "message" || e.kind == "command" {
			continue // the tutorial's lines and the peer's bytes, as they are
		}
		for _, text := range texts {
			if flaw := prosetest.Flaw(text); flaw != "" {
				t.Errorf("%s %s: got %q, with %s", e.side, e.kind, text, flaw)
			}
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		line    string
		want    auto.Plan
		problem string // part of the usage error, when one is wanted
	}{
		{line: "server", want: auto.Plan{Play: "server", Port: 8081, Greeting: "You are connected", BufSize: 1024,
			IdleTimeout: 30 * time.Second, Wait: time.Second}},
		{line: "server --host 127.0.0.1 --port=0 --count 3 --bufsize 16 --idle-timeout 500ms --quiet --step",
			want: auto.Plan{Play: "server", Host: "127.0.0.1", Greeting: "You are connected", BufSize: 16, Count: 3,
				IdleTimeout: 500 * time.Millisecond, Wait: time.Second, Quiet: true, Step: true}},
		{line: "client", want: auto.Plan{Play: "client", Host: "127.0.0.1", Port: 8081, Greeting: "You are connected",
			BufSize: 1024, IdleTimeout: 30 * time.Second, Wait: time.Second, Message: "Hello Server, I have connected on port 8081"}},
		{line: "client --port 9000", want: auto.Plan{Play: "client", Host: "127.0.0.1", Port: 9000, Greeting: "You are connected",
			BufSize: 1024, IdleTimeout: 30 * time.Second, Wait: time.Second, Message: "Hello Server, I have connected on port 9000"}},
		{line: "client --wait 0 --message hi", want: auto.Plan{Play: "client", Host: "127.0.0.1", Port: 8081,
			Greeting: "You are connected", BufSize: 1024, IdleTimeout: 30 * time.Second, Message: "hi"}},
		{line: "demo --port 0 --step", want: auto.Plan{Play: "demo", Greeting: "You are connected", BufSize: 1024,
			IdleTimeout: 30 * time.Second, Wait: time.Second, Step: true}},
		{line: "demo --host ::1", want: auto.Plan{Play: "demo", Host: "::1", Port: 8081, Greeting: "You are connected",
			BufSize: 1024, IdleTimeout: 30 * time.Second, Wait: time.Second}},
		{line: "demo --host", problem: `"--host" needs a value after it; auto demo takes --host, --port, --step`},
		{line: "", problem: "auto plays server, client or demo"},
		{line: "serve", problem: `not "serve"`},
		{line: "client --port 0", problem: "--port takes a port from 1 to 65535"},
		{line: "server --port 70000", problem: "--port takes a port from 0 to 65535"},
		{line: "server --bufsize 0", problem: "--bufsize takes a number of bytes from 1"},
		{line: "server --count -1", problem: "--count takes how many clients"},
		{line: "server --idle-timeout 0s", problem: "--idle-timeout takes a duration"},
		{line: "server --idle-timeout soon", problem: `--idle-timeout takes a duration such as 30s or 500ms, not "soon"`},
		{line: "server --port eighty", problem: `--port takes a port number, not "eighty"`},
		{line: "server --quiet=maybe", problem: "invalid boolean value"},
		{line: "client --wait -1s", problem: "--wait takes a duration"},
		{line: "demo --quiet", problem: `there is no option "--quiet"; auto demo takes --host, --port, --step`},
		{line: "server extra", problem: `auto server takes only flags, not "extra": quote a text with spaces, as in --greeting "Hello there"`},
		{line: "client --message Hello there", problem: `auto client takes only flags, not "there": quote a text with spaces, as in --message "Hello there"`},
		{line: "demo extra", problem: `auto demo takes only flags, not "extra"`},
		{line: "server --greeting --quiet on", problem: `--greeting took "--quiet" as its text, so "on" was left over: give --greeting a text`},
		{line: "client --message --wait 0", problem: `--message took "--wait" as its text, so "0" was left over: give --message a text`},
		{line: "server --host", problem: `"--host" needs a value after it; auto server takes --host,`},
	}
	for _, tt := range tests {
		got, err := auto.Parse(strings.Fields(tt.line))
		if tt.problem != "" {
			if !steps.IsUsage(err) || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("Parse(%q): got error %v, want a usage error saying %q", tt.line, err, tt.problem)
			}
			continue
		}
		if err != nil || *got != tt.want {
			t.Errorf("Parse(%q):\ngot  %+v, %v\nwant %+v", tt.line, got, err, tt.want)
		}
	}
	// An empty --message is a message of no bytes, not the tutorial's.
	if got, err := auto.Parse([]string{"client", "--message", ""}); err != nil || got.Message != "" {
		t.Errorf(`Parse(client --message ""): got %+v, %v; want the message ""`, got, err)
	}
}

func TestDemoPlaysTheTutorialsFigureInOrder(t *testing.T) {
	before := openFDs(t)
	rec := newRecorder()
	sum, err := play(t, context.Background(), rec, "demo --port 0")
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	wantCommands := []string{
		"server: socket tcp ipv4 as server_socket",
		"server: bind server_socket  0",
		"server: listen server_socket",
		"client: socket tcp ipv4 as client_socket",
		"client: connect client_socket 127.0.0.1 PORT --timeout 10s",
		"server: accept server_socket as connection",
		"server: send connection --timeout 30s You are connected",
		"client: send client_socket --timeout 10s Hello Server, I have connected on port PORT",
		"server: recv connection 1024 --timeout 30s",
		"server: close connection",
		"client: recv client_socket 1024 --timeout 1s",
		"client: close client_socket",
		"server: close server_socket",
	}
	printed := rec.of("print")
	if len(printed) == 0 {
		t.Fatal("the demo printed nothing")
	}
	port := regexp.MustCompile(`port (\d+) `).FindStringSubmatch(printed[0])[1]
	peer := regexp.MustCompile(`\('127\.0\.0\.1', \d+\)`)
	// The connection's fd, as accept returned it, is the one Python's
	// print(connection) names.
	fd := ""
	for _, e := range rec.events {
		if e.kind == "report" && strings.HasPrefix(e.text, "accept(") {
			fd = regexp.MustCompile(`= (\d+) `).FindStringSubmatch(e.text)[1]
		}
	}
	normalise := func(lines []string) []string {
		for i := range lines {
			lines[i] = peer.ReplaceAllString(strings.ReplaceAll(lines[i], port, "PORT"), "PEER")
			lines[i] = strings.ReplaceAll(lines[i], "fd="+fd+",", "fd=FD,")
		}
		return lines
	}
	got := normalise(rec.of("command"))
	if !slices.Equal(got, wantCommands) {
		t.Errorf("the demo made the calls\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantCommands, "\n"))
	}

	// When connect has returned, nobody has called accept yet, and the
	// connection waits in the listener's accept queue.
	var connect *steps.Report
	for _, e := range rec.events {
		if e.kind == "report" && strings.HasPrefix(e.text, "connect(") {
			connect = e.rep
		}
	}
	if connect == nil || len(connect.State) < 2 || !strings.Contains(connect.State[1].After, "accept queue 1/128") {
		t.Errorf("connect's report should show the listener's accept queue holding the connection; got %+v", connect)
	}

	wantPrinted := []string{
		"server: Listening for incoming connections on port PORT . . .",
		"server: <socket.socket fd=FD, family=2, type=1, proto=0, laddr=('127.0.0.1', PORT), raddr=PEER>",
		"server: PEER",
		"server: Connection from: PEER",
		"client: Hello Server, I have connected on port PORT",
		"server: The client has connected",
		"server: Client disconnected",
		"server: Listening for incoming connections on port PORT . . .",
		"client: Message sent. Socket closed.",
	}
	if printed = normalise(printed); !slices.Equal(printed, wantPrinted) {
		t.Errorf("the demo printed\n%s\nwant\n%s", strings.Join(printed, "\n"), strings.Join(wantPrinted, "\n"))
	}
	message := "Hello Server, I have connected on port " + port
	if msgs := rec.of("message"); !slices.Equal(msgs, []string{"server: " + message}) {
		t.Errorf("the server printed the messages %q, want the client's", msgs)
	}
	if sum.Clients != 1 || sum.BytesIn != len(message) || sum.BytesOut != 17 || sum.Stopped || sum.Failed {
		t.Errorf("summary: got %+v", sum)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d file descriptors were open before the demo and %d after", before, after)
	}
}

// TestDemoConnectsOverItsHost plays the demo with --host on each loopback
// address and on every interface of each family: the connection the
// server accepts is the one the kernel made between the client and the
// address the server listens on, as accept and getsockname (the
// connection's laddr in Python's print) read them.
func TestDemoConnectsOverItsHost(t *testing.T) {
	for _, tc := range []struct{ host, family, addr string }{
		{"127.0.0.1", "ipv4", "127.0.0.1"},
		{"::1", "ipv6", "::1"},
		{"0.0.0.0", "ipv4", "127.0.0.1"},
		{"::", "ipv6", "::1"},
	} {
		if tc.family == "ipv6" {
			if c, err := net.Listen("tcp6", "[::1]:0"); err != nil {
				t.Logf("no IPv6 loopback here: %v", err)
				continue
			} else {
				c.Close()
			}
		}
		rec := newRecorder()
		sum, err := play(t, context.Background(), rec, "demo --port 0 --host "+tc.host)
		if err != nil || sum.Clients != 1 || sum.Failed {
			t.Errorf("demo --host %s: %+v, %v", tc.host, sum, err)
			continue
		}
		var accepted netip.AddrPort
		for _, e := range rec.events {
			if e.kind == "report" && strings.HasPrefix(e.text, "accept(") {
				accepted = e.rep.Peer
			}
		}
		if accepted.Addr().String() != tc.addr {
			t.Errorf("demo --host %s: accept's peer is %v, want the client at %s", tc.host, accepted, tc.addr)
		}
		quoted := regexp.QuoteMeta(`'` + tc.addr + `'`)
		laddr := regexp.MustCompile(`laddr=\(` + quoted + `, \d+`)
		if printed := rec.of("print"); !slices.ContainsFunc(printed, laddr.MatchString) {
			t.Errorf("demo --host %s printed %q, want the connection's laddr at %s", tc.host, printed, tc.addr)
		}
		for _, side := range []string{"server", "client"} {
			want := side + ": socket tcp " + tc.family + " as " + side + "_socket"
			if !slices.Contains(rec.of("command"), want) {
				t.Errorf("demo --host %s made the calls %q, want %q", tc.host, rec.of("command"), want)
			}
		}
	}
}

func TestServerStopsOnCancelAndClosesWhatItOpened(t *testing.T) {
	before := openFDs(t)
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		sum auto.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := play(t, ctx, rec, "server --host 127.0.0.1 --port 0")
		done <- result{sum, err}
	}()
	port := listeningPort(t, rec)
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The client holds the connection and says nothing: the server waits
	// in recv when Ctrl-C comes.
	for deadline := time.Now().Add(10 * time.Second); !slices.ContainsFunc(rec.of("waiting"), func(w string) bool {
		return strings.Contains(w, "data from")
	}); {
		if time.Now().After(deadline) {
			t.Fatal("the server did not wait for the client's message within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop within 10s of the cancel")
	}
	if r.err != nil || !r.sum.Stopped || r.sum.Clients != 0 || r.sum.Unserved != conn.LocalAddr().String() || r.sum.BytesOut != 17 {
		t.Errorf("got %+v, %v; want a stop with one client greeted and not served, and no error", r.sum, r.err)
	}
	commands := rec.of("command")
	if n := len(commands); n < 2 || commands[n-2] != "server: close connection" || commands[n-1] != "server: close server_socket" {
		t.Errorf("the last calls were %q, want both sockets closed", commands)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	greeting, err := io.ReadAll(conn)
	if string(greeting) != "You are connected" {
		t.Errorf("the client read %q (%v), want the greeting and then the server's close", greeting, err)
	}
	if after := openFDs(t); after != before+1 { // the test's own conn is still open
		t.Errorf("%d file descriptors were open before the server and %d after, besides the test's client", before, after-1)
	}
}

func TestStepPausesBeforeEachCallAndStops(t *testing.T) {
	rec := newRecorder()
	asked := 0
	rec.pause = func(string) bool { asked++; return asked < 4 } // run three calls, stop at the fourth
	sum, err := play(t, context.Background(), rec, "demo --port 0 --step")
	if err != nil || !sum.Stopped {
		t.Fatalf("got %+v, %v; want a stopped demo", sum, err)
	}
	pauses := rec.of("pause")
	if len(pauses) != 4 {
		t.Fatalf("the demo paused %d times, want 4: %q", len(pauses), pauses)
	}
	wantPause := regexp.MustCompile(`^server: next: listen\(\d+, 128\) — Enter runs it, q stops$`)
	if !strings.HasPrefix(pauses[0], "server: next: socket(AF_INET, SOCK_STREAM, 0) — Enter") || !wantPause.MatchString(pauses[2]) ||
		!strings.HasPrefix(pauses[3], "client: next: socket(AF_INET, SOCK_STREAM, 0)") {
		t.Errorf("the pauses said %q", pauses)
	}
	wantCommands := []string{"server: socket tcp ipv4 as server_socket", "server: bind server_socket  0",
		"server: listen server_socket", "server: close server_socket"}
	if got := rec.of("command"); !slices.Equal(got, wantCommands) {
		t.Errorf("got the calls %q, want %q: three, then the close that ends the stop", got, wantCommands)
	}
}

func TestQuietServerMakesOnlyTheCalls(t *testing.T) {
	rec := newRecorder()
	done := make(chan error, 1)
	go func() {
		_, err := play(t, context.Background(), rec, "server --host 127.0.0.1 --port 0 --count 1 --quiet")
		done <- err
	}()
	tutorialClient(t, listeningPort(t, rec))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, e := range rec.events {
		if e.rep != nil && (e.rep.Says != "" || e.rep.State != nil) {
			t.Errorf("a quiet server's %s came with narration: %q %v", e.text, e.rep.Says, e.rep.State)
		}
	}
	if got := rec.of("message"); !slices.Equal(got, []string{"server: Hello from the test"}) {
		t.Errorf("got the messages %q", got)
	}
}

func TestServerOnIPv6PrintsPythonsAddressTuple(t *testing.T) {
	if c, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		c.Close()
	}
	rec := newRecorder()
	done := make(chan error, 1)
	go func() {
		_, err := play(t, context.Background(), rec, "server --host ::1 --port 0 --count 1")
		done <- err
	}()
	port := listeningPort(t, rec)
	conn, err := net.DialTimeout("tcp6", "[::1]:"+port, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("over IPv6"))
	conn.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantFrom := regexp.MustCompile(`^server: Connection from: \('::1', \d+, 0, 0\)$`)
	printed := rec.of("print")
	if !slices.ContainsFunc(printed, wantFrom.MatchString) {
		t.Errorf("printed %q, want Connection from: with Python's IPv6 tuple", printed)
	}
	if commands := rec.of("command"); commands[0] != "server: socket tcp ipv6 as server_socket" {
		t.Errorf("the first call was %q, want an IPv6 socket", commands[0])
	}
}

// listeningPort waits for the server's first line and returns its port.
func listeningPort(t *testing.T, rec *recorder) string {
	t.Helper()
	m := regexp.MustCompile(`^Listening for incoming connections on port (\d+) \. \. \.$`).FindStringSubmatch(waitForPrint(t, rec, "Listening"))
	if m == nil {
		t.Fatal("the Listening line has no port")
	}
	return m[1]
}

// waitForPrint waits, for a bounded time, for a printed line that starts
// with prefix.
func waitForPrint(t *testing.T, rec *recorder, prefix string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line := <-rec.printed:
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timeout:
			t.Fatalf("nothing starting with %q was printed within 10s", prefix)
		}
	}
}

// tutorialClient plays the tutorial's protocol: read the greeting, send a
// message, close.
func tutorialClient(t *testing.T, port string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(conn, make([]byte, 17)); err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("Hello from the test"))
}

// TestStepShowsEachCallAsItIsMade: what --step shows before each call is
// the call the step then makes, as its report writes it (before " = "):
// send's text shortened as the report shortens it, and its length; for
// --host localhost, the address the kernel is given.
func TestStepShowsEachCallAsItIsMade(t *testing.T) {
	port := strconv.Itoa(peer.Serve(t, func(conn net.Conn) { io.Copy(io.Discard, conn) }))
	for _, line := range []string{
		"demo --port 0 --step",
		"client --wait 0 --step --port " + port,
		"client --wait 0 --step --message " + strings.Repeat("long,", 20) + " --port " + port,
		"client --wait 0 --step --host localhost --port " + port,
		"server --host localhost --port 0 --step", // stopped at its first accept
	} {
		rec := newRecorder()
		rec.pause = func(next string) bool { return !strings.HasPrefix(next, "next: accept") }
		if _, err := play(t, context.Background(), rec, line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		var next string
		for _, e := range rec.events {
			if e.kind == "pause" && strings.HasPrefix(e.text, "next: accept") {
				break // the server stops there, and closes what it opened
			}
			switch e.kind {
			case "pause":
				next, _ = strings.CutPrefix(e.text, "next: ")
				next, _, _ = strings.Cut(next, " — Enter runs it")
			case "report":
				call, _, _ := strings.Cut(e.rep.Call, " = ")
				if next != call {
					t.Errorf("%s: --step showed %q before the call %q", line, next, call)
				}
			}
		}
	}
}

// TestServerIntroSaysWhatTheHostMakes: the server's intro credits the
// tutorial's SERVER_IP = "" only when --host is that, and for an IPv6
// --host says the socket is AF_INET6, because network_server.py's AF_INET
// socket, as python3 shows, cannot bind there.
func TestServerIntroSaysWhatTheHostMakes(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH, so what the tutorial's socket does with the host cannot be checked")
	}
	for _, host := range []string{"", "0.0.0.0", "::", "::1", "127.0.0.1"} {
		out, _ := exec.Command(python, "-c", "import socket\ntry:\n    socket.socket(socket.AF_INET, socket.SOCK_STREAM).bind(("+strconv.Quote(host)+", 0))\nexcept socket.gaierror:\n    print('gaierror')").CombinedOutput()
		tutorialFails := strings.TrimSpace(string(out)) == "gaierror"
		// --step, and q at the first pause: the intro is told, and the
		// socket the server would make is shown, but nothing is made.
		rec := newRecorder()
		rec.pause = func(string) bool { return false }
		plan, err := auto.Parse([]string{"server", "--host", host, "--port", "0", "--count", "1", "--step"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := plan.Run(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		if made := rec.of("command"); len(made) > 0 {
			t.Fatalf("--host %q: q at the first pause, and yet the server made %q", host, made)
		}
		intro := strings.Join(strings.Fields(rec.of("tell")[0]), " ")
		if strings.Contains(intro, `SERVER_IP = ""`) != (host == "") {
			t.Errorf("--host %q: got intro %q; want SERVER_IP = \"\" named only for --host \"\"", host, intro)
		}
		if strings.Contains(intro, "AF_INET6") != tutorialFails || strings.Contains(intro, "gaierror") != tutorialFails {
			t.Errorf("--host %q: got intro %q; the tutorial's AF_INET socket raises gaierror there: %v", host, intro, tutorialFails)
		}
		socket := rec.of("pause")[0]
		if strings.Contains(socket, "AF_INET6") != tutorialFails {
			t.Errorf("--host %q: the server was about to make its socket with %q", host, socket)
		}
	}
}

// TestFailedFlowSaysWhichCallFailed ends auto server on a port a socket of
// the test holds, and auto client at a port where nobody listens, quiet
// or not, and checks the summary against what the kernel answers the same
// call made here: the call and its errno, and ErrFailed.
func TestFailedFlowSaysWhichCallFailed(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	heldPort := held.Addr().(*net.TCPAddr).Port
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := free.Addr().(*net.TCPAddr).Port
	free.Close() // nobody listens there now
	// What the kernel answers each call, made here.
	errnoOf := func(call func(fd int) error) string {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		var errno unix.Errno
		if !errors.As(call(fd), &errno) {
			t.Fatal("the kernel allowed the call the flow should fail at")
		}
		return unix.ErrnoName(errno)
	}
	loopback := [4]byte{127, 0, 0, 1}
	for _, tt := range []struct {
		line string
		want string
	}{
		{"server --host 127.0.0.1 --port " + strconv.Itoa(heldPort), "bind failed with " +
			errnoOf(func(fd int) error { return unix.Bind(fd, &unix.SockaddrInet4{Port: heldPort, Addr: loopback}) })},
		{"client --port " + strconv.Itoa(freePort), "connect failed with " +
			errnoOf(func(fd int) error { return unix.Connect(fd, &unix.SockaddrInet4{Port: freePort, Addr: loopback}) })},
	} {
		for _, quiet := range []string{"", " --quiet"} {
			t.Run(tt.line+quiet, func(t *testing.T) {
				sum, err := play(t, context.Background(), newRecorder(), tt.line+quiet)
				if !errors.Is(err, auto.ErrFailed) || !sum.Failed || sum.Failure != tt.want {
					t.Errorf("got %v, failed %v, failure %q; want ErrFailed and %q", err, sum.Failed, sum.Failure, tt.want)
				}
				if got := sum.String(); !strings.Contains(got, "ended because "+tt.want+":") {
					t.Errorf("summary: got %q, want it to say %q", got, tt.want)
				}
			})
		}
	}
}

// TestClientIntroHoldsForAServerThatSendsMore: auto client reads 1024
// bytes of the greeting; from a server that sends more, the rest stays
// unread, and the kernel ends the connection with a reset, which the
// server's next recv meets. The intro, said before, must not promise FIN.
func TestClientIntroHoldsForAServerThatSendsMore(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	serverSaw := make(chan error, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			serverSaw <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write(make([]byte, 5000))
		buf := make([]byte, 4096)
		for err == nil {
			_, err = conn.Read(buf)
		}
		serverSaw <- err
	}()
	rec := newRecorder()
	if _, err := play(t, context.Background(), rec, "client --port "+strconv.Itoa(l.Addr().(*net.TCPAddr).Port)); err != nil {
		t.Fatal(err)
	}
	err = <-serverSaw
	if !errors.Is(err, unix.ECONNRESET) {
		t.Fatalf("the server's recv after the client closed: %v, want ECONNRESET", err)
	}
	for _, told := range rec.of("tell") {
		if strings.Contains(collapseSpace(told), "auto client, with nothing left unread, closes with FIN") {
			t.Errorf("the client reset the connection, yet it was told: %s", told)
		}
		if strings.Contains(told, "plays network_client.py") && !strings.Contains(collapseSpace(told), "sends more still gets a reset") {
			t.Errorf("the intro does not say that unread bytes still make a reset: %s", told)
		}
	}
}

// anyPort matches the port of an address in a summary, which the kernel
// chose, for the tests to write as :PORT.
var anyPort = regexp.MustCompile(`:\d+\b`)

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestServerSaysTextCutInACharacterIsText: recv counts bytes, so the
// bytes it returns may end inside a character of text that is UTF-8. The
// server must not call that "not UTF-8 text": it says where the cut is,
// and why (a full --bufsize, or the rest not yet arrived). Bytes that are
// not UTF-8 anywhere else are still not text.
func TestServerSaysTextCutInACharacterIsText(t *testing.T) {
	for _, tt := range []struct {
		name    string
		bufsize string
		sent    string
		want    []string // in the note, when it is one of cut text
		notText bool     // the note says the bytes are not UTF-8 text
	}{
		{"the buffer ends inside é", "4", "abcé", []string{"end in the middle of a character", "the last byte is the start of a character of 2 bytes", "(--bufsize)"}, false},
		{"only part of € has arrived", "1024", "ab\xe2\x82", []string{"end in the middle of a character", "the last 2 bytes are the start of a character of 3 bytes", "had not arrived"}, false},
		{"not UTF-8 before the cut", "1024", "a\xffb\xc3", nil, true},
		{"a lone continuation byte", "1024", "ab\x82", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			done, conn := serverWithAClient(t, rec, "--count 1 --idle-timeout 5s --bufsize "+tt.bufsize)
			// The greeting first, so that the whole of what is sent
			// arrives at once, then wait for the server to close.
			if _, err := io.ReadFull(conn, make([]byte, len(auto.DefaultGreeting))); err != nil {
				t.Fatal(err)
			}
			conn.Write([]byte(tt.sent))
			io.Copy(io.Discard, conn)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			var note string
			for _, told := range rec.of("tell") {
				if strings.Contains(told, "The client at") {
					note = collapseSpace(told)
				}
			}
			if got := strings.Contains(note, "not UTF-8 text"); got != tt.notText {
				t.Errorf("sent %q: got the note %q; want it to say the bytes are not UTF-8 text: %v", tt.sent, note, tt.notText)
			}
			for _, want := range tt.want {
				if !strings.Contains(note, want) {
					t.Errorf("sent %q: got the note %q, want it to say %q", tt.sent, note, want)
				}
			}
			if printed := rec.of("message"); len(printed) > 0 {
				t.Errorf("sent %q: the server printed %q, where network_server.py's decode raises", tt.sent, printed)
			}
		})
	}
}

// TestClientIntroSaysWhatTheHostMakes: for an IPv6 --host, the client's
// intro says its socket is AF_INET6, because network_client.py's AF_INET
// socket, as python3 shows, cannot connect there; for any other, it says
// nothing of it.
func TestClientIntroSaysWhatTheHostMakes(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH, so what the tutorial's socket does with the host cannot be checked")
	}
	for _, host := range []string{"127.0.0.1", "localhost", "::1", "[::1]"} {
		for _, wait := range []string{"1s", "0"} {
			// Port 1, where nothing listens: python3's gaierror comes before
			// any packet, and a refusal is all the others can get.
			out, _ := exec.Command(python, "-c", "import socket\ntry:\n    socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("+strconv.Quote(strings.Trim(host, "[]"))+", 1))\nexcept socket.gaierror:\n    print('gaierror')\nexcept OSError:\n    pass").CombinedOutput()
			tutorialFails := strings.TrimSpace(string(out)) == "gaierror"
			rec := newRecorder()
			rec.pause = func(string) bool { return false } // q before the socket is made
			if _, err := play(t, context.Background(), rec, "client --port 1 --step --wait "+wait+" --host "+host); err != nil {
				t.Fatal(err)
			}
			intro := collapseSpace(rec.of("tell")[0])
			if strings.Contains(intro, "AF_INET6") != tutorialFails || strings.Contains(intro, "gaierror") != tutorialFails {
				t.Errorf("--host %s --wait %s: got intro %q; the tutorial's AF_INET socket raises gaierror there: %v", host, wait, intro, tutorialFails)
			}
		}
	}
}

// TestSummarySaysWhatEachClientDid: the summary's counts agree with what
// the server narrated of each client. A client that closes its side
// without a message left by itself, as [silent close] says, and is not
// dropped; one the server was still waiting for when the learner stopped
// it was not served.
func TestSummarySaysWhatEachClientDid(t *testing.T) {
	dial := func(t *testing.T, port string) net.Conn {
		t.Helper()
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		return conn
	}
	for _, tt := range []struct {
		name   string
		idle   string
		client func(t *testing.T, rec *recorder, port string, stop context.CancelFunc)
		want   string
	}{
		{"a message", "10s", func(t *testing.T, _ *recorder, port string, _ context.CancelFunc) {
			conn := dial(t, port)
			conn.Write([]byte("hello"))
			io.Copy(io.Discard, conn)
		}, "auto server done: 1 client served, 5 bytes in, 17 bytes out."},
		{"a half-close without a message", "10s", func(t *testing.T, _ *recorder, port string, _ context.CancelFunc) {
			conn := dial(t, port)
			conn.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, conn)
		}, "auto server done: 1 client served (1 closed without sending anything), 0 bytes in, 17 bytes out."},
		{`auto client --message ""`, "10s", func(t *testing.T, _ *recorder, port string, _ context.CancelFunc) {
			plan, err := auto.Parse([]string{"client", "--port", port, "--message", ""})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := plan.Run(context.Background(), newRecorder()); err != nil {
				t.Error(err)
			}
		}, "auto server done: 1 client served (1 closed without sending anything), 0 bytes in, 17 bytes out."},
		{"silent for --idle-timeout", "300ms", func(t *testing.T, _ *recorder, port string, _ context.CancelFunc) {
			io.Copy(io.Discard, dial(t, port)) // until the server closes
		}, "auto server done: 1 client served (1 dropped), 0 bytes in, 17 bytes out."},
		{"Ctrl-C while the server waits for the message", "10s", func(t *testing.T, rec *recorder, port string, stop context.CancelFunc) {
			dial(t, port)
			for deadline := time.Now().Add(10 * time.Second); !slices.ContainsFunc(rec.of("waiting"), func(w string) bool {
				return strings.Contains(w, "data from")
			}); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the server did not wait for the client's message within 10s")
				}
			}
			stop()
		}, "auto server stopped: 0 clients served, 1 client accepted but not served (127.0.0.1:PORT: stopped before reading its message), 0 bytes in, 17 bytes out."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			done := make(chan auto.Summary, 1)
			go func() {
				sum, err := play(t, ctx, rec, "server --host 127.0.0.1 --port 0 --count 1 --idle-timeout "+tt.idle)
				if err != nil {
					t.Error(err)
				}
				done <- sum
			}()
			tt.client(t, rec, listeningPort(t, rec), stop)
			var sum auto.Summary
			select {
			case sum = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the server did not end within 20s")
			}
			got := anyPort.ReplaceAllString(collapseSpace(sum.String()), ":PORT")
			if got != tt.want {
				t.Errorf("got the summary %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestSummaryString: the summary's counts, as a sentence, for every
// combination of what the server's clients did.
func TestSummaryString(t *testing.T) {
	for _, tt := range []struct {
		sum  auto.Summary
		want string
	}{
		{auto.Summary{Play: "server", Clients: 7, Dropped: 2, ClosedSilently: 1, BytesIn: 1, BytesOut: 119},
			"auto server done: 7 clients served (2 dropped, 1 closed without sending anything), 1 byte in, 119 bytes out."},
		{auto.Summary{Play: "server", Clients: 2, ClosedSilently: 2, BytesOut: 34},
			"auto server done: 2 clients served (2 closed without sending anything), 0 bytes in, 34 bytes out."},
		{auto.Summary{Play: "server", Clients: 1, Dropped: 1, Unserved: "127.0.0.1:41234", Stopped: true, BytesOut: 34},
			"auto server stopped: 1 client served (1 dropped), 1 client accepted but not served (127.0.0.1:41234: stopped before reading its message), 0 bytes in, 34 bytes out."},
		{auto.Summary{Play: "server", Clients: 3, Reset: 2, BytesOut: 51},
			"auto server done: 3 clients served (2 reset the connection), 0 bytes in, 51 bytes out."},
		{auto.Summary{Play: "server", Clients: 4, Dropped: 1, Reset: 1, ClosedSilently: 1, BytesIn: 5, BytesOut: 68},
			"auto server done: 4 clients served (1 dropped, 1 reset the connection, 1 closed without sending anything), 5 bytes in, 68 bytes out."},
		{auto.Summary{Play: "server", Clients: 2, Reset: 1, ClosedSilently: 1, BytesOut: 34},
			"auto server done: 2 clients served (1 reset the connection, 1 closed without sending anything), 0 bytes in, 34 bytes out."},
		{auto.Summary{Play: "demo", Unserved: "127.0.0.1:41234", Failed: true, Failure: "send failed with ECONNRESET", BytesOut: 0},
			"auto demo ended because send failed with ECONNRESET: 0 clients served, 1 client accepted but not served (127.0.0.1:41234: ended before reading its message), 0 bytes in, 0 bytes out (the server's side)."},
		{auto.Summary{Play: "client", BytesIn: 17, BytesOut: 5},
			"auto client done: 17 bytes in, 5 bytes out."},
	} {
		if got := collapseSpace(tt.sum.String()); got != tt.want {
			t.Errorf("%+v: got %q\nwant %q", tt.sum, got, tt.want)
		}
	}
}

// TestDemoStoppedBeforeTheMessageServedNobody: q at the pause before the
// server's recv stops the demo with its client accepted and greeted, but
// its message unread: the summary does not call it served.
func TestDemoStoppedBeforeTheMessageServedNobody(t *testing.T) {
	rec := newRecorder()
	rec.pause = func(next string) bool { return !strings.HasPrefix(next, "next: recv(") }
	sum, err := play(t, context.Background(), rec, "demo --port 0 --step")
	if err != nil {
		t.Fatal(err)
	}
	want := "auto demo stopped: 0 clients served, 1 client accepted but not served (127.0.0.1:PORT: stopped before reading its message), 0 bytes in, 17 bytes out (the server's side)."
	if got := anyPort.ReplaceAllString(collapseSpace(sum.String()), ":PORT"); got != want {
		t.Errorf("got the summary %q\nwant %q", got, want)
	}
}

// TestDemoIntroSaysWhatTheHostMakes: for an IPv6 --host, the demo's intro
// says its sockets are AF_INET6, because the tutorial's AF_INET sockets,
// as python3 shows, can neither bind there nor connect where the demo's
// client connects; for any other, it says nothing of it.
func TestDemoIntroSaysWhatTheHostMakes(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH, so what the tutorial's sockets do with the host cannot be checked")
	}
	for _, tt := range []struct{ host, to string }{
		{"", "127.0.0.1"}, {"0.0.0.0", "127.0.0.1"}, {"127.0.0.1", "127.0.0.1"}, {"::", "::1"}, {"::1", "::1"},
	} {
		// bind to port 0, and connect to port 1, where nothing listens:
		// python3's gaierror comes before any packet.
		out, _ := exec.Command(python, "-c", "import socket\nfor call, address in (('bind', ("+strconv.Quote(tt.host)+", 0)), ('connect', ("+strconv.Quote(tt.to)+", 1))):\n    try:\n        getattr(socket.socket(socket.AF_INET, socket.SOCK_STREAM), call)(address)\n    except socket.gaierror:\n        print('gaierror')\n    except OSError:\n        pass").CombinedOutput()
		tutorialFails := strings.TrimSpace(string(out)) == "gaierror\ngaierror"
		rec := newRecorder()
		rec.pause = func(string) bool { return false } // q before the server's socket is made
		plan, err := auto.Parse([]string{"demo", "--host", tt.host, "--port", "0", "--step"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := plan.Run(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		intro := collapseSpace(rec.of("tell")[0])
		if strings.Contains(intro, "AF_INET6") != tutorialFails || strings.Contains(intro, "gaierror") != tutorialFails {
			t.Errorf("--host %q: got intro %q; the tutorial's AF_INET sockets raise gaierror there: %v", tt.host, intro, tutorialFails)
		}
		if socket := rec.of("pause")[0]; strings.Contains(socket, "AF_INET6") != tutorialFails {
			t.Errorf("--host %q: the server was about to make its socket with %q", tt.host, socket)
		}
	}
}

// printedPort is the port of the Listening line a flow has printed so
// far, for a pause that connects to it; "" before it.
func printedPort(rec *recorder) string {
	for _, line := range rec.of("print") {
		if m := regexp.MustCompile(`Listening for incoming connections on port (\d+)`).FindStringSubmatch(line); m != nil {
			return m[1]
		}
	}
	return ""
}

// resetClient connects to port on 127.0.0.1, reads what it is told to
// (up to the greeting's 17 bytes, within 5s), and resets the connection:
// SO_LINGER 0, then close. It returns the client's address.
func resetClient(t *testing.T, port string, read int) string {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(conn, make([]byte, read)); err != nil {
		t.Errorf("reading %d bytes of the greeting: %v", read, err)
	}
	conn.(*net.TCPConn).SetLinger(0)
	return conn.LocalAddr().String()
}

// TestServerSaysAClientResetTheConnection: a client that resets the
// connection (SO_LINGER 0) makes the server's send fail with ECONNRESET
// when the reset came before the greeting (the client reset it while it
// waited in the accept queue), and its recv when it came after. Either
// way the server says the client reset it, counts it so, and does not
// call it dropped: it gave up on nothing.
func TestServerSaysAClientResetTheConnection(t *testing.T) {
	for _, tt := range []struct {
		name   string
		read   int    // bytes of the greeting the client reads before its reset
		failed string // the server's call that the reset made fail
		want   string
	}{
		{"before the greeting", 0, "send",
			"auto server done: 1 client served (1 reset the connection), 0 bytes in, 0 bytes out."},
		{"after the greeting", 17, "recv",
			"auto server done: 1 client served (1 reset the connection), 0 bytes in, 17 bytes out."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			done := make(chan struct{})
			rec.pause = func(next string) bool {
				if strings.HasPrefix(next, "next: accept(") && tt.read == 0 {
					resetClient(t, printedPort(rec), 0) // waits, reset, in the accept queue
				}
				return true
			}
			go func() {
				if tt.read > 0 {
					resetClient(t, listeningPort(t, rec), tt.read)
				}
				close(done)
			}()
			sum, err := play(t, context.Background(), rec, "server --host 127.0.0.1 --port 0 --count 1 --idle-timeout 10s --step")
			<-done
			if err != nil {
				t.Fatal(err)
			}
			if got := collapseSpace(sum.String()); got != tt.want {
				t.Errorf("got the summary %q\nwant %q", got, tt.want)
			}
			var failed []string
			for _, r := range rec.of("report") {
				if strings.Contains(r, "ECONNRESET") {
					failed = append(failed, r)
				}
			}
			if len(failed) != 1 || !strings.HasPrefix(failed[0], "server: "+tt.failed+"(") {
				t.Errorf("the calls that failed with ECONNRESET were %q, want the server's %s", failed, tt.failed)
			}
			told := collapseSpace(strings.Join(rec.of("tell"), "\n"))
			if !strings.Contains(told, "reset the connection: "+tt.failed+" failed with ECONNRESET") || strings.Contains(told, "gives up") {
				t.Errorf("the server did not say that the client reset the connection, or said it gave up on it:\n%s", told)
			}
		})
	}
}

// TestDemoThatFailsAfterAcceptNamesTheClient: a demo that fails after
// its server accepted a client, and before it read that client's
// message, says in its summary which client that was: another client on
// this machine that connected first (the demo listens where anyone can)
// and reset the connection, so the greeting's send fails; or the demo's
// own client, whose send fails because its socket was shut for writing
// at the pause before it.
func TestDemoThatFailsAfterAcceptNamesTheClient(t *testing.T) {
	for _, tt := range []struct {
		name string
		// at acts at the pause whose line starts with pause, and returns
		// the address of the client the server will have accepted.
		pause string
		at    func(t *testing.T, rec *recorder, next string) string
		want  string
	}{
		{"another client resets first", "next: connect(", func(t *testing.T, rec *recorder, _ string) string {
			return resetClient(t, printedPort(rec), 0)
		}, "auto demo ended because send failed with ECONNRESET: 0 clients served, 1 client accepted but not served (%s: ended before reading its message), 0 bytes in, 0 bytes out (the server's side)."},
		{"the client cannot send", "next: send(", func(t *testing.T, rec *recorder, next string) string {
			fd, err := strconv.Atoi(regexp.MustCompile(`send\((\d+),`).FindStringSubmatch(next)[1])
			if err != nil {
				t.Fatal(err)
			}
			if err := unix.Shutdown(fd, unix.SHUT_WR); err != nil {
				t.Fatal(err)
			}
			local, err := unix.Getsockname(fd)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("127.0.0.1:%d", local.(*unix.SockaddrInet4).Port)
		}, "auto demo ended because send failed with EPIPE: 0 clients served, 1 client accepted but not served (%s: ended before reading its message), 0 bytes in, 17 bytes out (the server's side)."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			var accepted string
			rec.pause = func(next string) bool {
				if side, _, _ := strings.Cut(rec.of("pause")[len(rec.of("pause"))-1], ":"); side == "client" && strings.HasPrefix(next, tt.pause) {
					accepted = tt.at(t, rec, next)
				}
				return true
			}
			sum, err := play(t, context.Background(), rec, "demo --host 127.0.0.1 --port 0 --step")
			if !errors.Is(err, auto.ErrFailed) {
				t.Fatalf("got %v, want the demo to fail", err)
			}
			if want := fmt.Sprintf(tt.want, accepted); collapseSpace(sum.String()) != want {
				t.Errorf("got the summary %q\nwant %q", collapseSpace(sum.String()), want)
			}
		})
	}
}

// TestDemoSaysWhenItsServerAcceptsAnotherClient: the demo's server takes
// whichever connection its accept queue holds first. Another client that
// connects before the demo's own (here at the pause before the demo's
// connect) is the one it accepts and serves, and the demo says so, naming
// both; its own client then gets no greeting, and says so in the demo's
// words. A demo left alone says nothing of the kind.
func TestDemoSaysWhenItsServerAcceptsAnotherClient(t *testing.T) {
	for _, intrude := range []bool{false, true} {
		t.Run(fmt.Sprintf("another client first: %v", intrude), func(t *testing.T) {
			rec := newRecorder()
			var other net.Conn
			rec.pause = func(next string) bool {
				if intrude && other == nil && strings.HasPrefix(next, "next: connect(") {
					var err error
					if other, err = net.DialTimeout("tcp", "127.0.0.1:"+printedPort(rec), 5*time.Second); err != nil {
						t.Fatal(err)
					}
					if _, err := other.Write([]byte("not the demo")); err != nil {
						t.Fatal(err)
					}
				}
				return true
			}
			sum, err := play(t, context.Background(), rec, "demo --host 127.0.0.1 --port 0 --step")
			if other != nil {
				defer other.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
			told := collapseSpace(strings.Join(rec.of("tell"), "\n"))
			said := strings.Contains(told, "This is not the demo's client")
			if !intrude {
				if said {
					t.Errorf("a demo left alone said its server accepted another client:\n%s", told)
				}
				return
			}
			if want := "This is not the demo's client, which connected from 127.0.0.1:"; !strings.Contains(told, want) || !strings.Contains(told, other.LocalAddr().String()+" connected to port") {
				t.Errorf("the demo did not say that its server accepted %s, not its own client:\n%s", other.LocalAddr(), told)
			}
			// The demo takes no --wait: the note on the greeting that did
			// not come must not name it.
			if !strings.Contains(told, "No greeting came within 1s. ") || strings.Contains(told, "--wait") {
				t.Errorf("the demo's client did not say that no greeting came, or named --wait, which the demo does not take:\n%s", told)
			}
			if sum.Clients != 1 || sum.BytesIn != len("not the demo") {
				t.Errorf("got %+v; want the other client served, its 12 bytes in", sum)
			}
		})
	}
}

// TestServerSaysWhatComesAfterAClientItGivesUpOn: the note on a client
// the server gives up on says the server serves the next client only where
// there is one; after the last --count asks for, it says the server ends.
func TestServerSaysWhatComesAfterAClientItGivesUpOn(t *testing.T) {
	for _, tt := range []struct {
		count     string
		want, not string
	}{
		{"1", "ends, as --count asks", "serves the next client"},
		{"2", "serves the next client", "ends, as --count asks"},
	} {
		t.Run("--count "+tt.count, func(t *testing.T) {
			rec := newRecorder()
			done := make(chan error, 1)
			go func() {
				_, err := play(t, context.Background(), rec, "server --host 127.0.0.1 --port 0 --idle-timeout 300ms --count "+tt.count)
				done <- err
			}()
			port := listeningPort(t, rec)
			conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			io.Copy(io.Discard, conn) // silent, until the server gives up on it
			if tt.count == "2" {
				tutorialClient(t, port)
			}
			said := noteOnceEnded(t, done, rec, "gives up on it")
			if !strings.Contains(said, tt.want) || strings.Contains(said, tt.not) {
				t.Errorf("[idle] says %q\nwant %q in it, and not %q", said, tt.want, tt.not)
			}
		})
	}
}

// noteOnceEnded waits, within 20 s, for the server whose flow reports to
// done to end without error, and returns the first of its notes (») that
// holds about, its spaces collapsed; the test fails if there is none.
func noteOnceEnded(t *testing.T, done <-chan error, rec *recorder, about string) string {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not end within 20s")
	}
	told := rec.of("tell")
	i := slices.IndexFunc(told, func(s string) bool { return strings.Contains(s, about) })
	if i < 0 {
		t.Fatalf("the server said no note with %q; it said %q", about, told)
	}
	return collapseSpace(told[i])
}

// serverWithAClient starts auto server on a loopback port of the kernel's
// choosing, with flags, and connects a client to it: the client's
// connection, closed at the test's end and given up after 10 s, and where
// the server's flow reports how it ended.
func serverWithAClient(t *testing.T, rec *recorder, flags string) (done <-chan error, conn *net.TCPConn) {
	t.Helper()
	ended := make(chan error, 1)
	go func() {
		_, err := play(t, context.Background(), rec, "server --host 127.0.0.1 --port 0 "+flags)
		ended <- err
	}()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+listeningPort(t, rec), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return ended, c.(*net.TCPConn)
}
