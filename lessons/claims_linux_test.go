package lessons

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sockstep/steps"
)

// lessonByID finds a lesson of the catalogue, and its number from 1.
func lessonByID(t *testing.T, id string) (*Lesson, int) {
	t.Helper()
	for i, l := range catalogue {
		if l.ID == id {
			return l, i + 1
		}
	}
	t.Fatalf("there is no lesson %s", id)
	return nil, 0
}

// playUntil opens the lesson id and plays its steps, as answered, up to
// the first whose answer is the one wanted (what: the words for a failure).
// It returns the lab, and that step's index, not yet played.
func playUntil(t *testing.T, id, what string, wanted func(answer []string) bool) (*lab, int) {
	t.Helper()
	lesson, n := lessonByID(t, id)
	l := newLab(t, "")
	l.enter(fmt.Sprintf("lesson %d", n))
	for i, page := range lesson.Pages {
		if wanted(page.Step.Answer) {
			return l, i
		}
		l.playStep(lesson, i)
	}
	t.Fatalf("lesson %s has no step %s", id, what)
	return nil, 0
}

// playUpTo plays the lesson id up to the step whose answer has the line
// answer, and that step's answer lines before it: the learner is about to
// type answer. It returns the lab and the step's index.
func playUpTo(t *testing.T, id, answer string) (*lab, int) {
	t.Helper()
	l, i := playUntil(t, id, "answered by "+answer, func(lines []string) bool {
		return slices.Contains(lines, answer)
	})
	lesson, _ := lessonByID(t, id)
	for _, line := range lesson.Pages[i].Step.Answer {
		if line == answer {
			break
		}
		l.enter(l.tutor.fill(line))
	}
	return l, i
}

// text is everything a lesson shows, its lines joined as the learner
// reads them.
func text(lesson *Lesson) string {
	var all []string
	add := func(p Prose) {
		for _, b := range p {
			all = append(all, b.Text)
		}
	}
	for _, page := range lesson.Pages {
		for _, p := range page.Reading {
			add(p)
		}
		add(page.Step.Prose)
		all = append(all, page.Step.Hints...)
	}
	for _, p := range lesson.Ending {
		add(p)
	}
	return strings.Join(all, "\n")
}

// roomOver measures how many more finished connections than its backlog
// a listener's accept queue takes: it fills one whose backlog is 2 and
// reads the queue from the kernel (TCP_INFO) once it stops growing.
func roomOver(t *testing.T) int {
	t.Helper()
	const backlog = 2
	l := mustSocket(t)
	if err := unix.Bind(l, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(l, backlog); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(l)
	if err != nil {
		t.Fatal(err)
	}
	for range backlog + 3 {
		c := mustSocket(t)
		if err := unix.SetNonblock(c, true); err != nil {
			t.Fatal(err)
		}
		if err := unix.Connect(c, sa); err != nil && err != unix.EINPROGRESS {
			t.Fatal(err)
		}
	}
	queued, steady := -1, 0
	for deadline := time.Now().Add(2 * time.Second); steady < 5 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		info, err := unix.GetsockoptTCPInfo(l, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			t.Fatal(err)
		}
		if int(info.Unacked) == queued {
			steady++
		} else {
			queued, steady = int(info.Unacked), 0
		}
	}
	return queued - backlog
}

// Lessons 1 and 2 say that the accept queue takes one more connection
// than the backlog, and lesson 1 how many that is with listen's default:
// the default, read from a listener made by the shell's listen, plus the
// room over the backlog the kernel gives.
func TestAcceptQueueClaim(t *testing.T) {
	l := newLab(t, "")
	for _, line := range []string{"socket as s", "bind s 127.0.0.1 0", "listen s"} {
		if err := l.enter(line); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, l.out)
		}
	}
	backlog := steps.Read(l.session.Lab().Sockets()[0]).Backlog
	over := roomOver(t)
	if over != 1 {
		t.Fatalf("the accept queue holds %d more than the backlog; the lessons say one more", over)
	}
	for _, id := range []string{"01-server", "02-client"} {
		lesson, _ := lessonByID(t, id)
		said := text(lesson)
		if !strings.Contains(said, "one more than the backlog") {
			t.Errorf("%s does not say that the accept queue takes one more than the backlog", id)
		}
		if want := strconv.Itoa(backlog + over); id == "01-server" && !strings.Contains(said, want) {
			t.Errorf("%s does not say that the accept queue takes %s with the default backlog of %d", id, want, backlog)
		}
		if strings.Contains(said, "at most "+strconv.Itoa(backlog)) {
			t.Errorf("%s says the accept queue holds at most %d; it holds %d", id, backlog, backlog+over)
		}
	}
}

// Lessons 2 and 3 let the learner choose listen's backlog, so the
// accept queues they show (n/m) have the learner's backlog after the
// slash: played with `listen server 5`, every n/m of their text has the
// backlog the kernel reports for the listener.
func TestLessonsFollowTheLearnersBacklog(t *testing.T) {
	queue := regexp.MustCompile(`\b\d+/(\d+)\b`)
	for _, id := range []string{"02-client", "03-accept"} {
		t.Run(id, func(t *testing.T) {
			lesson, n := lessonByID(t, id)
			l := newLab(t, "")
			l.enter(fmt.Sprintf("lesson %d", n))
			for i := range lesson.Pages {
				for _, line := range lesson.Pages[i].Step.Answer {
					if line == "listen server" {
						line = "listen server 5"
					}
					l.enter(l.tutor.fill(line))
				}
				if l.step() == i {
					t.Fatalf("step %d was not done:\n%s", i+1, l.out)
				}
			}
			backlog := -1
			for _, s := range l.session.Lab().Sockets() {
				if snap := steps.Read(s); snap.State == steps.Listen {
					backlog = snap.Backlog
				}
			}
			if backlog != 5 {
				t.Fatalf("the listener's backlog is %d, want the 5 given to listen", backlog)
			}
			for _, m := range queue.FindAllStringSubmatch(text(lesson), -1) {
				if m[1] != strconv.Itoa(backlog) {
					t.Errorf("%s says %s, with a backlog of %s; the learner's listener has %d", id, m[0], m[1], backlog)
				}
			}
		})
	}
}

// soType reads a lab socket's type from the kernel: SOCK_STREAM or
// SOCK_DGRAM.
func soType(t *testing.T, l *lab, name string) int {
	t.Helper()
	typ, err := unix.GetsockoptInt(labSocket(t, l, name).FD, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

// Lesson 10's first step wants a UDP socket bound to loopback: a TCP
// socket bound there does not do, nor a UDP one bound elsewhere beside
// it; a UDP one bound there does.
func TestUDPLessonWantsUDP(t *testing.T) {
	_, n := lessonByID(t, "10-udp")
	l := newLab(t, "")
	l.enter(fmt.Sprintf("lesson %d", n))
	// Each socket is added beside those before it; only the last is a
	// UDP socket on loopback, the one the step wants.
	for _, tc := range []struct {
		what, socket, bind string
		typ, step          int
	}{
		{"a TCP socket bound to loopback", "socket as stream", "bind stream 127.0.0.1 {port}", unix.SOCK_STREAM, 0},
		{"a UDP socket on every interface, beside it", "socket udp as elsewhere", `bind elsewhere "" 0`, unix.SOCK_DGRAM, 0},
		{"a UDP socket bound to loopback", "socket udp as u", "bind u 127.0.0.1 {port}", unix.SOCK_DGRAM, 1},
	} {
		l.enter(tc.socket)
		l.enter(l.tutor.fill(tc.bind))
		name := strings.Fields(tc.socket)[len(strings.Fields(tc.socket))-1]
		if typ := soType(t, l, name); typ != tc.typ {
			t.Fatalf("%s made a socket of type %d, want %d", tc.socket, typ, tc.typ)
		}
		if got := l.step(); got != tc.step {
			t.Fatalf("%s: the lesson is at step %d, want %d:\n%s", tc.what, got+1, tc.step+1, l.out)
		}
	}
}

// Lesson 10's hints and answers follow the learner's UDP sockets: played
// with names and ports of the learner's own, every answer, filled in as
// `hint answer` shows it, does its step when typed, and no hint or answer
// names the lesson's sockets or ports instead.
func TestUDPLessonFollowsTheLearner(t *testing.T) {
	lesson, n := lessonByID(t, "10-udp")
	l := newLab(t, "")
	own := freePorts(t)
	for own == l.port || own == l.port+1 || own+1 == l.port {
		own = freePorts(t)
	}
	l.enter(fmt.Sprintf("lesson %d", n))
	mine := [][]string{
		{"socket udp as e", fmt.Sprintf("bind e 127.0.0.1 %d", own)},
		{"socket udp as k", fmt.Sprintf("bind k 127.0.0.1 %d", own+1)},
	}
	theirs := regexp.MustCompile(fmt.Sprintf(`\b(echo|cli|%d|%d)\b`, l.port, l.port+1))
	for i, page := range lesson.Pages {
		if i < len(mine) {
			for _, line := range mine[i] {
				l.enter(line)
			}
			if i == 0 && l.step() != 1 {
				t.Fatalf("binding e did not do step 1:\n%s", l.out)
			}
			if i == 0 {
				continue
			}
			// The rest of step 2, as its answer has it.
			l.enter(l.tutor.fill(page.Step.Answer[len(page.Step.Answer)-1]))
			if l.step() != 2 {
				t.Fatalf("step 2 was not done:\n%s", l.out)
			}
			continue
		}
		for _, line := range append(page.Step.Hints, page.Step.Answer...) {
			if filled := l.tutor.fill(line); theirs.MatchString(filled) {
				t.Errorf("%s:%d: %q names %q, not the learner's sockets e and k on ports %d and %d",
					lesson.File, page.Step.Line, filled, theirs.FindString(filled), own, own+1)
			}
		}
		l.playStep(lesson, i)
	}
	if !l.tutor.Finished(n) {
		t.Errorf("lesson %d did not end done; it said:\n%s", n, l.out)
	}
}

// Lesson 10 says why its client binds: without bind, the kernel gives a
// UDP socket a free port at its first sendto, and the receiver sees the
// datagram come from that port.
func TestUnboundUDPClientGetsAPort(t *testing.T) {
	udp := func() int {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	echo, client := udp(), udp()
	if err := unix.Bind(echo, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	to, err := unix.Getsockname(echo)
	if err != nil {
		t.Fatal(err)
	}
	if sa, err := unix.Getsockname(client); err != nil || sa.(*unix.SockaddrInet4).Port != 0 {
		t.Fatalf("a new UDP socket has the address %+v (%v), want port 0", sa, err)
	}
	if err := unix.Sendto(client, []byte("ping"), 0, to); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(client)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*unix.SockaddrInet4).Port
	if port == 0 {
		t.Fatal("after its first sendto the client still has port 0")
	}
	buf := make([]byte, 16)
	_, from, err := unix.Recvfrom(echo, buf, unix.MSG_DONTWAIT)
	if err != nil {
		t.Fatal(err)
	}
	if got := from.(*unix.SockaddrInet4).Port; got != port {
		t.Errorf("the echo's recvfrom says the datagram came from port %d, want the client's %d", got, port)
	}
	lesson, _ := lessonByID(t, "10-udp")
	if !strings.Contains(text(lesson), "without bind, the kernel would give it a free port at its first sendto") {
		t.Errorf("lesson 10 does not say that an unbound client gets a port at its first sendto")
	}
}

// A wrong move in lesson 10's first two steps, mended as `hint answer`
// shows: the answer binds to the port the page asks for, not to one the
// kernel gave the socket at a first sendto, and the socket the answer
// closes and makes again is the same socket of the lesson, so that every
// step after it can be done, to the lesson's end.
func TestUDPLessonAfterAnAnswerThatMakesASocketAgain(t *testing.T) {
	elsewhere := freePorts(t) // nobody holds it: a datagram there is lost
	for _, c := range []struct {
		answer string   // the step, by a line of its answer
		typed  []string // the learner's wrong move
		asked  string   // the port the step's page asks the bind for
		name   string   // the socket the kernel may have given a port
	}{
		{"bind {udp:echo} 127.0.0.1 {udp-port}", []string{"socket udp as echo", `bind echo "" {udp-port}`}, "{udp-port}", ""},
		{"bind {second-udp:cli} 127.0.0.1 {second-udp-port}", []string{"socket udp as client", fmt.Sprintf(`sendto client 127.0.0.1 %d "ping"`, elsewhere)}, "{second-udp-port}", "client"},
	} {
		t.Run(strings.Join(c.typed, ";"), func(t *testing.T) {
			l, i := playUntil(t, "10-udp", "answered by "+c.answer, func(answer []string) bool {
				return slices.Contains(answer, c.answer)
			})
			for _, line := range c.typed {
				if err := l.enter(l.tutor.fill(line)); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
			}
			kernels := -1
			if c.name != "" {
				kernels = int(steps.Read(labSocket(t, l, c.name)).Local.Port())
				if kernels == 0 {
					t.Fatalf("after its sendto, %s has no port", c.name)
				}
			}
			asked := l.tutor.fill(c.asked)
			if want := strconv.Itoa(int(l.tutor.play.port) + i); asked != want {
				t.Errorf("step %d asks for port %s, want %s, the lesson's own", i+1, asked, want)
			}
			mark := l.out.Len()
			shown, commands := hintAnswer(t, l)
			for _, cmd := range commands {
				if w := strings.Fields(cmd); w[0] == "bind" && (w[3] != asked || w[3] == strconv.Itoa(kernels)) {
					t.Errorf("hint answer shows %q, not port %s that the step asks for:\n%s", cmd, asked, shown)
				}
			}
			typeAnswer(t, l, i, commands, mark, false)
			lesson, n := lessonByID(t, "10-udp")
			for k := i + 1; k < len(lesson.Pages); k++ {
				l.playStep(lesson, k)
			}
			if !l.tutor.Finished(n) {
				t.Errorf("lesson %d did not end done:\n%s", n, l.out.String()[mark:])
			}
		})
	}
}

// udpPortFree asks the kernel whether a UDP socket could bind to
// 127.0.0.1:port now, which it cannot while another socket holds it.
func udpPortFree(t *testing.T, port int) bool {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	return unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}) == nil
}

// Lesson 10's step that loses a datagram is done by a datagram to a port
// nobody holds, as the reading after it says, and not by one to the
// echo's port while the echo still holds it.
func TestLostDatagramStep(t *testing.T) {
	l, lost := playUntil(t, "10-udp", "that closes the echo", func(answer []string) bool {
		return slices.Contains(answer, "close {udp:echo}")
	})
	port, err := strconv.Atoi(l.tutor.fill("{udp-port}"))
	if err != nil {
		t.Fatal(err)
	}
	send := l.tutor.fill(`sendto {second-udp:cli} 127.0.0.1 {udp-port} "is the echo there?"`)
	l.enter(send)
	if udpPortFree(t, port) {
		t.Fatalf("port %d is free while the echo is open", port)
	}
	if l.step() != lost {
		t.Fatalf("a datagram to the echo's port, which the echo holds, did the step that loses one:\n%s", l.out)
	}
	l.enter(l.tutor.fill("close {udp:echo}"))
	l.enter(send)
	if !udpPortFree(t, port) {
		t.Fatalf("port %d is held after the echo closed", port)
	}
	if l.step() != lost+1 {
		t.Fatalf("a datagram to port %d, which nobody holds, did not do the step:\n%s", port, l.out)
	}
}

// quoted is what a lesson's text puts in backquotes.
var quoted = regexp.MustCompile("`([^`]+)`")

// Lesson 1, played with names of the learner's own, names in its last
// reading only commands and the learner's sockets, never a socket name
// of its own answers.
func TestLessonOneEndingNamesTheLearnersSockets(t *testing.T) {
	lesson, n := lessonByID(t, "01-server")
	l := newLab(t, "")
	l.enter(fmt.Sprintf("lesson %d", n))
	for i, page := range lesson.Pages {
		for _, line := range page.Step.Answer {
			line = strings.ReplaceAll(line, "server", "srv")
			l.enter(l.tutor.fill(strings.ReplaceAll(line, "local", "here")))
		}
		if l.step() == i {
			t.Fatalf("step %d was not done:\n%s", i+1, l.out)
		}
	}
	names := l.session.Lab().Names()
	for _, p := range lesson.Ending {
		for _, b := range p {
			if b.Code {
				continue
			}
			for _, m := range quoted.FindAllStringSubmatch(b.Text, -1) {
				word := strings.Fields(m[1])[0]
				if !l.session.Knows(word) && !slices.Contains(names, word) {
					t.Errorf("lesson 1's last reading names `%s`, neither a command nor one of the learner's sockets %q", m[1], names)
				}
			}
		}
	}
}

// labSocket finds a socket of the lab by its name.
func labSocket(t *testing.T, l *lab, name string) *steps.Socket {
	t.Helper()
	for _, s := range l.session.Lab().Sockets() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("the lab has no socket %s", name)
	return nil
}

// Lesson 5 says one recv returned all ten bytes of the two sends: two
// smaller recvs that empty the queue between them do not do that step.
func TestByteStreamStepWantsOneRecv(t *testing.T) {
	l, one := playUntil(t, "05-byte-stream", "answered by recv conn", func(answer []string) bool {
		return slices.Equal(answer, []string{"recv conn"})
	})
	conn := labSocket(t, l, "conn")
	waiting := steps.Read(conn).RecvQ
	if waiting != 10 {
		t.Fatalf("conn has %d bytes in its receive queue before the recv, want the ten of \"Hello\" and \"World\"", waiting)
	}
	l.enter("recv conn 2")
	l.enter("recv conn")
	if left := steps.Read(conn).RecvQ; left != 0 {
		t.Fatalf("after two recvs conn still has %d bytes waiting", left)
	}
	if l.step() != one {
		t.Errorf("two recvs of %d bytes in all did the step that says one recv returned them all:\n%s", waiting, l.out)
	}
}

// The lessons, played one after the other in one session, each right
// after the one before, well within the minute a connection of the
// lesson before may wait in TIME_WAIT, all end done, every answer
// working; a lesson that finds its port taken, as the kernel says by
// refusing a bind there, says so and starts from another.
func TestLessonsPlayInOrder(t *testing.T) {
	l := newLab(t, "")
	for n, lesson := range catalogue {
		mark := l.out.Len()
		l.enter(fmt.Sprintf("lesson %d", n+1))
		said := l.out.String()[mark:]
		taken := !canBind(l.port) || !canBind(l.port+1)
		moved := fmt.Sprintf("This lesson starts from port %d instead of %d.", l.tutor.play.port, l.port)
		switch {
		case taken && (l.tutor.play.port == l.port || !strings.Contains(said, moved)):
			t.Errorf("lesson %d starts from port %d though a bind to %d or %d fails; it said:\n%s", n+1, l.tutor.play.port, l.port, l.port+1, said)
		case !taken && l.tutor.play.port != l.port:
			t.Errorf("lesson %d starts from port %d though %d and %d are free", n+1, l.tutor.play.port, l.port, l.port+1)
		}
		if !l.playAll(lesson) && !l.tutor.Finished(n+1) {
			t.Fatalf("lesson %d, played right after lesson %d, did not end done:\n%s", n+1, n, l.out)
		}
	}
	if l.browser != nil {
		if page := l.waitForPage(); page.err != nil {
			t.Errorf("the browser got no page: %v", page.err)
		}
	}
}

// Lesson 8 says which port the demo left something on: the port the
// learner gave auto demo, where the kernel's table holds the demo's
// connection in TIME_WAIT.
func TestTutorialLessonFollowsTheDemoPort(t *testing.T) {
	lesson, n := lessonByID(t, "08-tutorial")
	l := newLab(t, "")
	if !l.session.Knows("auto") {
		t.Skip("this build has no auto command")
	}
	demo := freePorts(t)
	for demo == l.port || demo == l.port+1 || demo+1 == l.port {
		demo = freePorts(t)
	}
	l.enter(fmt.Sprintf("lesson %d", n))
	if !slices.ContainsFunc(lesson.Pages[0].Step.Answer, func(a string) bool { return strings.HasPrefix(a, "auto demo") }) {
		t.Fatal("lesson 8's first step is not auto demo")
	}
	mark := l.out.Len()
	if err := l.enter(fmt.Sprintf("auto demo --port %d", demo)); err != nil || l.step() != 1 {
		t.Fatalf("auto demo --port %d: %v, on step %d", demo, err, l.step()+1)
	}
	said := l.out.String()[mark:]
	left := false
	for _, line := range procLines(t, demo) {
		left = left || (line.state == steps.TimeWait && line.local.Port() == demo)
	}
	if !left {
		t.Fatalf("the kernel's table holds no TIME_WAIT on port %d after the demo", demo)
	}
	if want := fmt.Sprintf("left of the demo on port %d", demo); !strings.Contains(said, want) {
		t.Errorf("after auto demo --port %d the lesson does not say %q; it said:\n%s", demo, want, said[strings.LastIndex(said, "── Lesson"):])
	}
}

// A step that has one end of a connection send does not pass when the
// learner sends on the other end: the bytes then wait in the wrong
// socket's receive queue, where the next step's recv would not find them.
// The lesson says where they went, and the step's own answer still does it.
func TestSendOnTheWrongEndDoesNotPass(t *testing.T) {
	for _, c := range []struct {
		lesson, answer, wrong, arrived string
	}{
		{"04-send-recv", `send conn "You are connected"`, `send client "You are connected"`, "conn"},
		{"04-send-recv", `send client "Hello Server, I have connected on port {port}"`, `send conn "Hello Server"`, "client"},
		{"04-send-recv", `send client "Grüße ✓"`, `send conn "Grüße ✓"`, "client"},
		{"05-byte-stream", `send client "Hello"`, `send conn "Hello"`, "client"},
		{"07-errors", `send client "some bytes nobody reads"`, `send conn "some bytes nobody reads"`, "client"},
		{"08-tutorial", `send connection "You are connected"`, `send client_socket "You are connected"`, "connection"},
		{"08-tutorial", `send client_socket "Hello Server, I have connected on port {port}"`, `send connection "Hello Server"`, "client_socket"},
		{"10-udp", `sendto {second-udp:cli} 127.0.0.1 {udp-port} "ping"`, `sendto {udp:echo} 127.0.0.1 {second-udp-port} "ping"`, "cli"},
	} {
		t.Run(c.lesson+"/"+c.wrong, func(t *testing.T) {
			l, i := playUpTo(t, c.lesson, c.answer)
			wrong := l.tutor.fill(c.wrong)
			mark := l.out.Len()
			if err := l.enter(wrong); err != nil {
				t.Fatalf("%s: %v", c.wrong, err)
			}
			said := l.out.String()[mark:]
			if waiting := steps.Read(labSocket(t, l, c.arrived)).RecvQ; waiting == 0 {
				t.Fatalf("after %s the kernel shows no bytes waiting in %s", c.wrong, c.arrived)
			}
			if l.step() != i {
				t.Fatalf("%s, which leaves the bytes in %s's receive queue, did the step that wants %s:\n%s", c.wrong, c.arrived, c.answer, said)
			}
			if !strings.Contains(said, "Not yet: ") || !strings.Contains(said, "Now "+labSocket(t, l, c.arrived).Label()+" has") {
				t.Errorf("after %s the lesson does not say that the bytes wait in %s; it said:\n%s", c.wrong, c.arrived, said)
			}
			if err := l.enter(l.tutor.fill(c.answer)); err != nil || l.step() == i {
				t.Errorf("%s after %s: %v, the step not done:\n%s", c.answer, wrong, err, l.out)
			}
		})
	}
}

// Lesson 8's first step names the command that does it: typed as the
// step shows it, with the lesson's port filled in, auto demo plays on that
// port, not on the 8081 auto takes by default, which a lesson before may
// have left in TIME_WAIT.
func TestTutorialLessonDemoAsShown(t *testing.T) {
	lesson, n := lessonByID(t, "08-tutorial")
	l := newLab(t, "")
	if !l.session.Knows("auto") {
		t.Skip("this build has no auto command")
	}
	l.enter(fmt.Sprintf("lesson %d", n))
	var shown string
	for _, b := range lesson.Pages[0].Step.Prose {
		shown += " " + l.tutor.fill(b.Text)
	}
	quoted := regexp.MustCompile("`(auto demo[^`]*)`").FindAllStringSubmatch(shown, -1)
	if len(quoted) != 1 {
		t.Fatalf("lesson 8's first step shows %d auto demo commands, want one:%s", len(quoted), shown)
	}
	if err := l.enter(quoted[0][1]); err != nil || l.step() != 1 {
		t.Fatalf("%s, as the step shows it: %v, on step %d:\n%s", quoted[0][1], err, l.step()+1, l.out)
	}
	port := l.tutor.play.port
	left := false
	for _, line := range procLines(t, port) {
		left = left || (line.state == steps.TimeWait && line.local.Port() == port)
	}
	if !left {
		t.Errorf("after %s the kernel's table holds no connection of the demo on the lesson's port %d", quoted[0][1], port)
	}
}

// Lesson 11 says the learner asked for a receive buffer of 4096 bytes and
// the kernel set 8192: listing the options, which the step mentions, sets
// nothing and does not do the step; the answer does, and getsockopt then
// reads 8192 on the client.
func TestReceiveBufferStepWantsTheBufferSet(t *testing.T) {
	l, i := playUntil(t, "11-options-halfclose", "answered by option client SO_RCVBUF 4096", func(answer []string) bool {
		return slices.Equal(answer, []string{"option client SO_RCVBUF 4096"})
	})
	client := labSocket(t, l, "client")
	before, err := unix.GetsockoptInt(client.FD, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		t.Fatal(err)
	}
	mark := l.out.Len()
	l.enter("option client")
	if l.step() != i {
		t.Fatalf("`option client`, which leaves the client's receive buffer at %d bytes, did the step that says the kernel set 8192:\n%s", before, l.out.String()[mark:])
	}
	lesson, _ := lessonByID(t, "11-options-halfclose")
	l.playStep(lesson, i)
	after, err := unix.GetsockoptInt(client.FD, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		t.Fatal(err)
	}
	if after != 8192 || !strings.Contains(readingAfter(lesson, i), "4096 bytes and the kernel set 8192") {
		t.Errorf("after the answer getsockopt reads %d bytes; the lesson says:\n%s", after, readingAfter(lesson, i))
	}
}

// A learner who binds to the wrong address cannot bind that socket again:
// the kernel refuses a second bind. The step's failure says so, and a new
// socket bound as the step asks does the step.
func TestWrongAddressSaysBindOnce(t *testing.T) {
	for _, c := range []struct {
		lesson, answer, wrong string
		redo                  []string
	}{
		{"01-server", `bind server "" {port}`, "bind server 127.0.0.1 {port}",
			[]string{"close server", "socket as server", `bind server "" {port}`}},
		{"01-server", "bind local 127.0.0.1 0", `bind local "" 0`,
			[]string{"close local", "socket as local", "bind local 127.0.0.1 0"}},
	} {
		t.Run(c.lesson+"/"+c.wrong, func(t *testing.T) {
			l, i := playUpTo(t, c.lesson, c.answer)
			wrong := l.tutor.fill(c.wrong)
			if err := l.enter(wrong); err != nil || l.step() != i {
				t.Fatalf("%s: %v, on step %d", wrong, err, l.step()+1)
			}
			mark := l.out.Len()
			if err := l.enter(l.tutor.fill(c.answer)); err == nil {
				t.Fatalf("%s after %s worked; the kernel refuses a second bind", c.answer, wrong)
			}
			if said := l.out.String()[mark:]; !strings.Contains(said, "a socket keeps its first address until it is closed, and bind on it again fails") {
				t.Errorf("after a second bind failed, the lesson does not say why:\n%s", said)
			}
			for _, line := range c.redo {
				l.enter(l.tutor.fill(line))
			}
			if l.step() == i {
				t.Errorf("a new socket bound as the step asks did not do it:\n%s", l.out)
			}
		})
	}
}

// A step that has the server's side close, or shut down its writing side,
// does not pass when the learner does it on the client: the kernel then
// has the socket made by accept in CLOSE_WAIT, not the client, and the
// next step's recv on the client would wait. The lesson says which end
// closed and how to start over.
func TestCloseOnTheWrongEndDoesNotPass(t *testing.T) {
	for _, c := range []struct {
		lesson, answer, wrong, waits string
	}{
		{"06-closing", "close conn", "close client", "conn"},
		{"11-options-halfclose", "shutdown conn write", "shutdown client write", "conn"},
	} {
		t.Run(c.lesson+"/"+c.wrong, func(t *testing.T) {
			l, i := playUntil(t, c.lesson, "answered by "+c.answer, func(answer []string) bool {
				return slices.Equal(answer, []string{c.answer})
			})
			waits := labSocket(t, l, c.waits)
			mark := l.out.Len()
			if err := l.enter(c.wrong); err != nil {
				t.Fatalf("%s: %v", c.wrong, err)
			}
			said := l.out.String()[mark:]
			if state := steps.Read(waits).State; state != steps.CloseWait {
				t.Fatalf("after %s the kernel has %s in %s, not CLOSE_WAIT", c.wrong, c.waits, state)
			}
			if l.step() != i {
				t.Fatalf("%s, which leaves %s in CLOSE_WAIT, did the step that wants %s:\n%s", c.wrong, c.waits, c.answer, said)
			}
			if want := waits.Label() + " is in CLOSE_WAIT: the other end of its connection closed first"; !strings.Contains(said, want) {
				t.Errorf("after %s the lesson does not say %q; it said:\n%s", c.wrong, want, said)
			}
		})
	}
}

// Lesson 10's echo step wants the echo's answer received on the client:
// the same 4 bytes sent the other way, from the client to the echo, and
// received there, do not pass. The kernel shows where they waited; the
// lesson says which socket took them, and the step's own answer does it.
func TestEchoBackTheOtherWayDoesNotPass(t *testing.T) {
	answer := "recvfrom {second-udp:cli}"
	l, i := playUntil(t, "10-udp", "answered by "+answer, func(a []string) bool {
		return slices.Contains(a, answer)
	})
	mustEnter := func(line string) string {
		t.Helper()
		mark := l.out.Len()
		if err := l.enter(l.tutor.fill(line)); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return l.out.String()[mark:]
	}
	mustEnter(`sendto {second-udp:cli} 127.0.0.1 {udp-port} "pong"`)
	echo := labSocket(t, l, "echo")
	if q := steps.Read(echo).RecvQ; q != 4 {
		t.Fatalf("after the client's sendto the kernel shows %d bytes waiting in the echo, want 4", q)
	}
	said := mustEnter("recvfrom {udp:echo}")
	if l.step() != i {
		t.Fatalf("4 bytes received on the echo did the step that wants them received on the client:\n%s", said)
	}
	if !strings.Contains(said, "on "+echo.Label()) || !strings.Contains(said, labSocket(t, l, "cli").Label()) {
		t.Errorf("the lesson does not say which socket took the bytes, and which should:\n%s", said)
	}
	lesson, _ := lessonByID(t, "10-udp")
	for _, line := range lesson.Pages[i].Step.Answer {
		mustEnter(line)
	}
	if l.step() == i {
		t.Errorf("the step's answer did not do it:\n%s", l.out)
	}
}

// Lesson 11 wants SO_REUSEADDR on the server before its bind, so that the
// connection it accepts has it too (the kernel copies a listener's options
// into each connection as it arrives) and a restarted server can bind
// past that connection's TIME_WAIT. Set on a bound socket, step 1 does not
// pass; set on another socket than the one that becomes the server, step
// 2 does not, and the kernel shows the accepted connection without it.
func TestReuseAddrOnTheServer(t *testing.T) {
	l, i := playUntil(t, "11-options-halfclose", "answered by option server SO_REUSEADDR on", func(a []string) bool {
		return slices.Contains(a, "option server SO_REUSEADDR on")
	})
	enter := func(lines ...string) string {
		t.Helper()
		mark := l.out.Len()
		for _, line := range lines {
			if err := l.enter(l.tutor.fill(line)); err != nil {
				t.Fatalf("%s: %v\n%s", line, err, l.out.String()[mark:])
			}
		}
		return l.out.String()[mark:]
	}
	said := enter("socket as bound", "bind bound 127.0.0.1 0", "option bound SO_REUSEADDR on")
	if l.step() != i {
		t.Fatalf("SO_REUSEADDR set after bind did the step that wants it before:\n%s", said)
	}
	if !strings.Contains(said, "which has an address already") {
		t.Errorf("the lesson does not say the socket is bound already:\n%s", said)
	}
	enter("close bound", "socket as server", "socket as other", "option other SO_REUSEADDR on")
	if l.step() != i+1 {
		t.Fatalf("SO_REUSEADDR on a new socket did not do step 1:\n%s", l.out)
	}
	lesson, _ := lessonByID(t, "11-options-halfclose")
	said = enter(lesson.Pages[i+1].Step.Answer...)
	conn := labSocket(t, l, "conn")
	if on, err := unix.GetsockoptInt(conn.FD, unix.SOL_SOCKET, unix.SO_REUSEADDR); err != nil || on != 0 {
		t.Fatalf("the accepted connection's SO_REUSEADDR: %d, %v; want 0, its listener having had it off", on, err)
	}
	if l.step() != i+1 {
		t.Fatalf("a connection accepted by a listener without SO_REUSEADDR did step 2:\n%s", said)
	}
	if !strings.Contains(said, "SO_REUSEADDR is off on "+conn.Label()+", made by accept") {
		t.Errorf("the lesson does not say the accepted connection lacks SO_REUSEADDR:\n%s", said)
	}
}

// `hint answer` shows commands that work in the state the learner left:
// after a bind to another address than the step asks (a socket keeps its
// first address, and a second bind fails with EINVAL), or to the one it
// asks with the step not yet done; after a socket made with a name the
// answer's socket command would take again (a name belongs to one
// socket); in a step that wants a bind refused, after an option set on the
// socket that gets its bind past the refusal. Each command it shows is
// typed; every one must work but a last one the step wants refused, and
// the step be done. Also after bytes sent or read that a step counting
// the bytes in a receive queue exactly did not want.
func TestHintAnswerAfterABind(t *testing.T) {
	for _, c := range []struct {
		lesson, answer string   // the step, by a line of its answer
		typed          []string // what the learner typed instead
		says           string
	}{
		{"01-server", `bind server "" {port}`, []string{"bind server 127.0.0.1 {port}"}, "a socket keeps its first address"},
		{"01-server", "bind local 127.0.0.1 0", []string{"socket as local", `bind local "" 0`}, "a socket keeps its first address"},
		{"02-client", "bind server 127.0.0.1 {port}", []string{"socket as server", "bind server 127.0.0.1 0"}, "a socket keeps its first address"},
		{"02-client", "bind server 127.0.0.1 {port}", []string{"socket as server", "bind server 127.0.0.1 {port}"}, "as this step asks"},
		{"10-udp", "bind {udp:echo} 127.0.0.1 {udp-port}", []string{"socket udp as echo", `bind echo "" {udp-port}`}, "a socket keeps its first address"},
		// The socket made already, with no address: its name is taken.
		{"02-client", "bind server 127.0.0.1 {port}", []string{"socket as server"}, "made already, with no address yet"},
		{"10-udp", "bind {udp:echo} 127.0.0.1 {udp-port}", []string{"socket udp as echo"}, "made already, with no address yet"},
		{"10-udp", "bind {udp:echo} 127.0.0.1 {udp-port}", []string{"socket as echo"}, "closes it first"},
		{"02-client", "bind server 127.0.0.1 {port}", []string{"socket udp ipv6 as server"}, "closes it first"},
		// Bound elsewhere, with SO_REUSEADDR set by the step before: the
		// new socket gets it again, before its bind.
		{"11-options-halfclose", "bind server 127.0.0.1 {port}", []string{`bind server "" {port}`}, "closes it and makes a new socket first"},
		// A client whose queued connection was reset when its listener
		// closed: connect on it fails with EISCONN.
		{"04-send-recv", "socket as client", []string{"socket as server", "bind server 127.0.0.1 {port}", "listen server", "socket as client", "connect client 127.0.0.1 {port}", "close server"}, "closes it first"},
		// Bound as the step asks, but a UDP socket: it cannot listen
		// (EOPNOTSUPP).
		{"02-client", "bind server 127.0.0.1 {port}", []string{"socket udp as server", "bind server 127.0.0.1 {port}"}, "closes it first"},
		{"03-accept", "bind server 127.0.0.1 {port}", []string{"socket udp as server", "bind server 127.0.0.1 {port}"}, "closes it first"},
		// A step that wants the bind refused: SO_REUSEADDR on the new
		// socket gets it past the old connection's TIME_WAIT, before the
		// bind or after it; the answer starts from a new socket.
		{"11-options-halfclose", "socket as again", []string{"socket as again", "option again SO_REUSEADDR on"}, "closes it first and makes it again"},
		{"11-options-halfclose", "socket as again", []string{"socket as again", "option again SO_REUSEADDR on", "bind again 127.0.0.1 {port}"}, "closes it and makes a new socket first, with no option set"},
		{"07-errors", "socket as second", []string{"socket as second", "bind second 127.0.0.1 0"}, "closes it and makes a new socket first, with no option set"},
		// A step that counts the bytes waiting exactly, after a typo: they
		// cannot be taken back, so the answer reads them out first, and
		// sends again what the steps before sent.
		{"05-byte-stream", `send client "Hello"`, []string{`send client "Helo"`}, "reads them out first."},
		{"05-byte-stream", `send client "World"`, []string{`send client "Wrld"`}, "reads them out first, then sends again what the steps before sent"},
		{"05-byte-stream", "recv conn", []string{"recv conn 4"}, "reads them out first, then sends again what the steps before sent"},
		{"05-byte-stream", "recv conn", []string{"recv conn 4", "recv conn"}, "first sends again what the steps before sent"},
		// The step's send typed, then its bytes read by a recv of another
		// size: the kernel shows them gone, so the answer sends them again.
		{"05-byte-stream", "recv conn 10", []string{`send client "Hello Server, I have connected on port {port}"`, "recv conn"}, "Type these"},
		{"10-udp", "recvfrom {udp:echo} 8", []string{`sendto cli 127.0.0.1 {udp-port} "a longer second datagram"`, "recvfrom echo"}, "Type these"},
	} {
		t.Run(c.lesson+"/"+strings.Join(c.typed, ";"), func(t *testing.T) {
			l, i := playUntil(t, c.lesson, "answered by "+c.answer, func(answer []string) bool {
				return slices.Contains(answer, c.answer)
			})
			for _, line := range c.typed {
				if err := l.enter(l.tutor.fill(line)); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
			}
			if l.step() != i {
				t.Fatalf("%s did the step", strings.Join(c.typed, "; "))
			}
			lesson, _ := lessonByID(t, c.lesson)
			for range lesson.Pages[i].Step.Hints {
				l.enter("hint")
			}
			mark := l.out.Len()
			shown, commands := hintAnswer(t, l)
			if !strings.Contains(strings.Join(strings.Fields(shown), " "), c.says) {
				t.Errorf("hint answer does not say %q:\n%s", c.says, shown)
			}
			// Only the last command may fail, in a step that wants it to.
			failing := lesson.Pages[i].Step.wantsFailure("")
			typeAnswer(t, l, i, commands, mark, failing)
		})
	}
}

// typeAnswer types the commands hint answer showed, as a learner would,
// and fails the test unless they do step i; only the last may fail, when
// lastMayFail (a step that wants a call refused). What was written since
// mark is shown with a failure.
func typeAnswer(t *testing.T, l *lab, i int, commands []string, mark int, lastMayFail bool) {
	t.Helper()
	for k, cmd := range commands {
		if err := l.enter(cmd); err != nil && !(lastMayFail && k == len(commands)-1) {
			t.Fatalf("%s, as hint answer shows it: %v\n%s", cmd, err, l.out.String()[mark:])
		}
	}
	if l.step() == i {
		t.Fatalf("the commands hint answer showed did not do the step:\n%s", l.out.String()[mark:])
	}
}

// hintAnswer types `hint answer` and returns what it said and the
// commands it showed, failing the test when it showed none.
func hintAnswer(t *testing.T, l *lab) (shown string, commands []string) {
	t.Helper()
	shown, commands = l.askAnswer()
	if len(commands) == 0 {
		t.Fatalf("hint answer shows no command:\n%s", shown)
	}
	return shown, commands
}

// askAnswer types `hint answer` and returns what it said and the commands
// it showed, if any.
func (l *lab) askAnswer() (shown string, commands []string) {
	mark := l.out.Len()
	l.enter("hint answer")
	shown = l.out.String()[mark:]
	for line := range strings.Lines(shown) {
		if cmd, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "            "); ok && !strings.HasPrefix(cmd, " ") {
			commands = append(commands, cmd)
		}
	}
	return shown, commands
}

// Partway through a step, the learner having typed the first lines of its
// answer, `hint answer` shows the rest of it, as it is filled in now:
// no line done already (a send made twice sends its bytes twice), no
// socket closed and made again that is where the next line wants it, and
// no word that the answer cannot start from the learner's sockets when
// they are where its own lines left them. Every lesson is played by its
// answers, and `hint answer` asked before each line.
func TestHintAnswerPartwayShowsTheRest(t *testing.T) {
	for n, lesson := range catalogue {
		t.Run(lesson.ID, func(t *testing.T) {
			l := newLab(t, "")
			l.enter(fmt.Sprintf("lesson %d", n+1))
			l.beforeLine = func(i, k int) {
				step := lesson.Pages[i].Step
				var want []string
				for _, line := range step.Answer[k:] {
					want = append(want, l.tutor.fill(line))
				}
				shown, got := l.askAnswer()
				if !slices.Equal(got, want) {
					t.Errorf("%s:%d: after %d of the answer's %d lines, hint answer showed %q, want %q:\n%s", lesson.File, step.Line, k, len(step.Answer), got, want, shown)
				}
			}
			l.playAll(lesson)
		})
	}
}

// A step whose answer listens, then goes on (a client connects), asked
// for its answer once the listener listens, after a connect to the wrong
// port or none, shows no listen for a socket the kernel has in LISTEN: a
// second listen returns 0 and does nothing the step needs. What it shows
// does the step.
func TestHintAnswerLeavesOutAListen(t *testing.T) {
	type move struct {
		lesson string
		step   int      // index
		upTo   int      // the answer's lines typed: those before this one
		wrong  []string // then typed, and allowed to fail
	}
	var moves []move
	for _, lesson := range catalogue {
		for i, page := range lesson.Pages {
			answer := page.Step.Answer
			k := slices.IndexFunc(answer, func(line string) bool { return strings.HasPrefix(line, "listen ") })
			if k < 0 || k == len(answer)-1 {
				continue
			}
			moves = append(moves, move{lesson.ID, i, k + 1, nil})
			if k+2 < len(answer) && strings.HasPrefix(answer[k+2], "connect ") {
				moves = append(moves, move{lesson.ID, i, k + 2, []string{strings.Replace(answer[k+2], "{port}", "{second-port}", 1)}})
			}
		}
	}
	if len(moves) < 4 {
		t.Fatalf("only %d steps listen before their last line", len(moves))
	}
	for _, m := range moves {
		t.Run(fmt.Sprintf("%s/%d/%s", m.lesson, m.step+1, strings.Join(m.wrong, ";")), func(t *testing.T) {
			lesson, _ := lessonByID(t, m.lesson)
			l, i := playUntil(t, m.lesson, fmt.Sprintf("%d", m.step+1), func(answer []string) bool {
				return slices.Equal(answer, lesson.Pages[m.step].Step.Answer)
			})
			for _, line := range lesson.Pages[i].Step.Answer[:m.upTo] {
				if err := l.enter(l.tutor.fill(line)); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
			}
			for _, line := range m.wrong {
				l.enter(l.tutor.fill(line))
			}
			if l.step() != i {
				t.Fatalf("step %d was done before its answer's last line", i+1)
			}
			listening := map[string]bool{}
			for _, s := range l.session.Lab().Sockets() {
				listening[s.Name] = steps.Read(s).State == steps.Listen
			}
			mark := l.out.Len()
			shown, commands := hintAnswer(t, l)
			for k, cmd := range commands {
				w := strings.Fields(cmd)
				if w[0] == "listen" && listening[w[1]] && !slices.Contains(commands[:k], "close "+w[1]) {
					t.Errorf("hint answer shows %q for a socket the kernel has in LISTEN:\n%s", cmd, shown)
				}
			}
			typeAnswer(t, l, i, commands, mark, false)
		})
	}
}

// Lesson 5 says the lines of SMTP and of HTTP's headers end with \r\n,
// and shows a Python receiver of such lines. Its code is run, by python3,
// on the server's end of a loopback connection whose client is Python's
// own http.client, then smtplib: the first line it takes must be the
// request line, or the EHLO command, whole and without the delimiter.
func TestLineReceiverOfLesson5(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 here")
	}
	lesson, _ := lessonByID(t, "05-byte-stream")
	var code, block []string
	flush := func() {
		if strings.Contains(strings.Join(block, "\n"), ".partition(") {
			code = block
		}
		block = nil
	}
	for _, cell := range readCells(lesson) {
		for _, b := range cell {
			if !b.Code {
				flush()
				continue
			}
			block = append(block, b.Text)
		}
		flush()
	}
	if code == nil {
		t.Fatal("lesson 5 shows no Python receiver of lines")
	}
	if !strings.Contains(readingText(lesson), `HTTP's headers ends with \r\n`) {
		t.Fatalf("lesson 5 no longer says how SMTP and HTTP lines end; this test checks its receiver against that")
	}
	script := `import socket, threading, http.client, smtplib
def http_client(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/")
def smtp_client(port):
    smtplib.SMTP("127.0.0.1", port, timeout=5).ehlo()
def quietly(client, port):
    try:
        client(port)
    except OSError:
        pass  # the server closes without answering
for client, greeting in ((http_client, b""), (smtp_client, b"220 sockstep\r\n")):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    threading.Thread(target=quietly, args=(client, server.getsockname()[1]), daemon=True).start()
    connection, _ = server.accept()
    connection.settimeout(5)
    connection.sendall(greeting)
` + "    " + strings.Join(code, "\n    ") + `
    print(repr(line))
    connection.close()
    server.close()
`
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s\n%s", err, out, script)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(got) != 2 || got[0] != `b'GET / HTTP/1.1'` || !regexp.MustCompile(`^b'ehlo [^\\]+'$`).MatchString(got[1]) {
		t.Errorf("lesson 5's receiver took the lines %q from http.client and smtplib, want the request line and the EHLO command, without \\r", got)
	}
}

// readCells are a lesson's read cells, in order.
func readCells(lesson *Lesson) []Prose {
	var cells []Prose
	for _, page := range lesson.Pages {
		cells = append(cells, page.Reading...)
	}
	return append(cells, lesson.Ending...)
}

// readingText is the text of every read cell of a lesson.
func readingText(lesson *Lesson) string {
	var all []string
	for _, cell := range readCells(lesson) {
		for _, b := range cell {
			all = append(all, b.Text)
		}
	}
	return strings.Join(strings.Fields(strings.Join(all, " ")), " ")
}

// Lesson 11 restarts the server once everything is closed. A listener
// left open holds its port: a new socket's bind then fails with
// EADDRINUSE because of it, not of the TIME_WAIT the lesson explains, and
// SO_REUSEADDR does not get past it. So the closing step is not done
// while the listener is open, though its connection waits in TIME_WAIT.
func TestClosingStepWantsTheListenerClosed(t *testing.T) {
	l, i := playUntil(t, "11-options-halfclose", "answered by close all", func(a []string) bool {
		return slices.Equal(a, []string{"close all"})
	})
	mark := l.out.Len()
	for _, line := range []string{"close conn", "close client"} {
		if err := l.enter(line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	said := l.out.String()[mark:]
	server := labSocket(t, l, "server")
	if state := steps.Read(server).State; state != steps.Listen {
		t.Fatalf("server is %s, not LISTEN", state)
	}
	port := steps.Read(server).Local.Port()
	if !slices.ContainsFunc(procLines(t, port), func(p procLine) bool { return p.state == steps.TimeWait }) {
		t.Fatalf("the kernel's table has no TIME_WAIT on port %d after both ends closed", port)
	}
	if bindTo(t, port, true) == nil {
		t.Fatalf("a socket with SO_REUSEADDR could bind port %d while server listens there", port)
	}
	if l.step() != i {
		t.Fatalf("closing the connection with its listener still open did the step that closes everything:\n%s", said)
	}
	if !strings.Contains(said, "Not yet: ") || !strings.Contains(said, server.Label()) {
		t.Errorf("the lesson does not say the listener %s is still open:\n%s", server.Label(), said)
	}
	if err := l.enter("close server"); err != nil {
		t.Fatal(err)
	}
	if l.step() == i {
		t.Errorf("with every socket closed the step is not done:\n%s", l.out.String()[mark:])
	}
}

// Lesson 9's response step is done once what was sent on the browser's
// connection is a response an HTTP client reads, in one send or in
// several; not by any send. The browser (Go's HTTP client) shows what
// the learner's bytes were: a page after a whole response, an error after
// bytes that do not start as one.
func TestWebServerStepWantsAResponse(t *testing.T) {
	answer := `send browser "HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<h1>Hello from my socket!</h1>\r\n"`
	for _, c := range []struct {
		name  string
		sends []string // each but the last leaves the step not done
		done  bool     // the last does it
		page  string   // what the browser shows once browser is closed; "" for an error
	}{
		{"status line in pieces", []string{"send browser HTTP/1.0 200 OK", `send browser "\r\nContent-Type: text/plain\r\n\r\nhi there"`}, true, "hi there"},
		{"status line without its line end", []string{"send browser HTTP/1.0 200 OK"}, false, ""},
		{"no status line", []string{`send browser "<h1>hello</h1>\r\n"`}, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, i := playUpTo(t, "09-web-server", answer)
			// Not l.enter: a client may give up on bytes that are no
			// response before the connection closes.
			enter := func(line string) error {
				l.out.WriteString("› " + line + "\n")
				ctx, cancel := context.WithTimeout(context.Background(), evalTimeout)
				defer cancel()
				return l.session.Eval(ctx, line)
			}
			for k, line := range c.sends {
				mark := l.out.Len()
				if err := enter(line); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				said := l.out.String()[mark:]
				if last := k == len(c.sends)-1; last && c.done {
					if l.step() == i {
						t.Fatalf("after %s the response step is not done:\n%s", line, said)
					}
				} else if l.step() != i {
					t.Fatalf("%s did the response step:\n%s", line, said)
				} else if !strings.Contains(said, "is not yet a response an HTTP client can read") {
					t.Errorf("after %s the lesson does not say the response is not one yet:\n%s", line, said)
				}
			}
			if err := enter("close browser"); err != nil {
				t.Fatal(err)
			}
			got := l.waitForPage()
			switch {
			case c.page == "" && got.err == nil:
				t.Errorf("the browser read a page (%d, %q) from bytes the lesson calls no response", got.status, got.body)
			case c.page != "" && (got.err != nil || got.status != 200 || got.body != c.page):
				t.Errorf("the browser got %d %q, %v; want 200 %q", got.status, got.body, got.err, c.page)
			}
		})
	}
}

// Lesson 9's first page names the URL of the learner's server, at the
// port the lesson starts from, which the browser step then opens.
func TestWebServerPageNamesTheLessonsPort(t *testing.T) {
	lesson, n := lessonByID(t, "09-web-server")
	l := newLab(t, "")
	l.enter(fmt.Sprintf("lesson %d", n))
	url := fmt.Sprintf("http://127.0.0.1:%d/", l.port)
	if l.tutor.fill(lesson.Pages[1].Step.Browser) != url {
		t.Fatalf("the browser step opens %s, not %s", l.tutor.fill(lesson.Pages[1].Step.Browser), url)
	}
	if want := fmt.Sprintf("To show %s it connects to port %d,", url, l.port); !strings.Contains(l.out.String(), want) {
		t.Errorf("lesson 9 does not say %q; it said:\n%s", want, l.out)
	}
}

// A step done by recvfrom says recvfrom returned the bytes, as the call
// line above it does.
func TestReceivedNamesRecvfrom(t *testing.T) {
	l, _ := playUpTo(t, "10-udp", "recvfrom {udp:echo}")
	mark := l.out.Len()
	if err := l.enter(l.tutor.fill("recvfrom {udp:echo}")); err != nil {
		t.Fatal(err)
	}
	said := l.out.String()[mark:]
	if !strings.Contains(said, "= 4  from") || !strings.Contains(said, "✔ recvfrom returned 4 bytes.") {
		t.Errorf("recvfrom of the 4-byte datagram does not say recvfrom returned 4 bytes:\n%s", said)
	}
}

// Lesson 6 wants the server's end closed first. A learner who closes the
// client instead leaves conn in CLOSE_WAIT, which no close can undo: `hint
// answer` says so and shows no command (close conn would not do the
// step), and what it says to do, a new connection closed by the server's
// end (the old one closed, as the step's count of accepted sockets then
// asks), does the step.
func TestHintAnswerAfterTheWrongEndClosed(t *testing.T) {
	l, i := playUpTo(t, "06-closing", "close conn")
	if err := l.enter("close client"); err != nil {
		t.Fatal(err)
	}
	conn := labSocket(t, l, "conn")
	if st := steps.Read(conn).State; st != steps.CloseWait {
		t.Fatalf("after close client, conn is %v, want CLOSE_WAIT", st)
	}
	mark := l.out.Len()
	l.enter("hint answer")
	said := l.out.String()[mark:]
	if !strings.Contains(said, "does not start from where your sockets are") || !strings.Contains(said, "make a new one (socket, connect, accept)") ||
		strings.Contains(said, "Type this") {
		t.Errorf("hint answer after the wrong end closed: want what to do instead of an answer:\n%s", said)
	}
	readsAsSentences(t, said)
	for _, line := range []string{"close conn", "socket as client2", l.tutor.fill("connect client2 127.0.0.1 {port}"), "accept server as conn2", "close conn2"} {
		if err := l.enter(line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	if l.step() == i {
		t.Errorf("a new connection closed by the server's end did not do the step:\n%s", l.out.String()[mark:])
	}
}

// readsAsSentences fails the test when a capital letter follows a colon
// in what a command said: a sentence's start joined to another sentence.
func readsAsSentences(t *testing.T, said string) {
	t.Helper()
	if m := colonCapital.FindString(said); m != "" {
		t.Errorf("%q joins two sentences with a colon:\n%s", m, said)
	}
}

var colonCapital = regexp.MustCompile(`\S+: \p{Lu}\S*`)

// Lesson 5 counts the bytes of its two sends exactly. A typo in the
// first leaves bytes that no send can take away: the steps' last hints say
// to read the queue empty with recv and send again, and doing so does the
// steps.
func TestLesson5AfterATypo(t *testing.T) {
	l, i := playUpTo(t, "05-byte-stream", `send client "Hello"`)
	lesson, _ := lessonByID(t, "05-byte-stream")
	for _, c := range []struct {
		typo, redo []string
	}{
		{[]string{`send client "Hello!"`}, []string{"recv conn", `send client "Hello"`}},
		{[]string{`send client "World!"`}, []string{"recv conn", `send client "Hello"`, `send client "World"`}},
	} {
		hints := lesson.Pages[i].Step.Hints
		if last := hints[len(hints)-1]; !strings.Contains(last, "`recv conn`") {
			t.Errorf("step %d's last hint does not say to read the queue empty: %q", i+1, last)
		}
		for _, line := range c.typo {
			l.enter(line)
		}
		if l.step() != i {
			t.Fatalf("%q did step %d", c.typo, i+1)
		}
		for k, line := range c.redo {
			if err := l.enter(line); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if done := l.step() != i; done != (k == len(c.redo)-1) {
				t.Fatalf("after %q, step %d done: %v; want done only after %q:\n%s", line, i+1, done, c.redo[len(c.redo)-1], l.out)
			}
		}
		i++
	}
}

// A listen on a socket with no address is legal: the kernel binds it to
// every interface and a port it chooses. The step that asks for a
// listener takes it, and says so with the address getsockname reads.
func TestListenWithoutBindIsTold(t *testing.T) {
	_, n := lessonByID(t, "02-client")
	l := newLab(t, "")
	l.enter(fmt.Sprintf("lesson %d", n))
	l.enter("socket as server")
	mark := l.out.Len()
	if err := l.enter("listen server"); err != nil {
		t.Fatal(err)
	}
	said := l.out.String()[mark:]
	sa, err := unix.Getsockname(l.session.Lab().Sockets()[0].FD)
	if err != nil {
		t.Fatal(err)
	}
	in4, ok := sa.(*unix.SockaddrInet4)
	if !ok || in4.Addr != [4]byte{} || in4.Port == 0 {
		t.Fatalf("the kernel bound the listener to %#v, not 0.0.0.0 and a port", sa)
	}
	want := fmt.Sprintf("is listening on 0.0.0.0:%d: it had no address, so listen bound it to every interface and a port the kernel chose", in4.Port)
	if l.step() != 1 || !strings.Contains(said, want) {
		t.Errorf("after listen on a socket with no address, want the step done and %q; the lesson said:\n%s", want, said)
	}
}

// A step that wants bytes in a side's receive queue cannot be done once
// no socket of that side has a peer that can still send: `hint answer`
// then says so instead of showing a send that cannot do the step. A
// socket that shut down its own writing (FIN_WAIT2) still receives, and
// the answer is shown and does the step.
func TestHintAnswerWhenNoPeerCanSend(t *testing.T) {
	for _, c := range []struct {
		lesson, answer, typed string
		read                  string         // a socket whose state then is
		state                 steps.TCPState // this, read from the kernel
		stuck                 bool
	}{
		{"04-send-recv", `send conn "You are connected"`, "close client", "conn", steps.CloseWait, true},
		{"04-send-recv", `send client "Hello Server, I have connected on port {port}"`, "close conn", "client", steps.CloseWait, true},
		{"04-send-recv", `send conn "You are connected"`, "shutdown client write", "client", steps.FinWait2, false},
	} {
		t.Run(c.lesson+"/"+c.typed, func(t *testing.T) {
			l, i := playUpTo(t, c.lesson, c.answer)
			if err := l.enter(c.typed); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond) // the ACK of the FIN, for FIN_WAIT2
			if st := steps.Read(labSocket(t, l, c.read)).State; st != c.state {
				t.Fatalf("after %s, %s is %v, want %v", c.typed, c.read, st, c.state)
			}
			mark := l.out.Len()
			l.enter("hint answer")
			said := l.out.String()[mark:]
			if stuck := strings.Contains(said, "does not start from where your sockets are") && strings.Contains(said, "make a new one (socket, connect, accept)"); stuck != c.stuck {
				t.Fatalf("hint answer after %s: stuck is %v, want %v:\n%s", c.typed, stuck, c.stuck, said)
			}
			if c.stuck {
				readsAsSentences(t, said)
				return
			}
			l.enter(l.tutor.fill(c.answer))
			if l.step() == i {
				t.Errorf("the answer did not do the step after %s:\n%s", c.typed, l.out.String()[mark:])
			}
		})
	}
}

// A learner who runs ahead may close a socket that the step's answer
// uses, or whose port it needs (the listener it connects to, the socket
// whose port a bind wants refused), or both. One that the steps before only made,
// bound and made listen, on a port free now, is made again first, and the
// answer does the step; one that was connected or read from, or whose
// port a connection still holds, cannot be made again as it was, and
// `hint answer` says so instead of showing a call that cannot work.
func TestHintAnswerAfterASocketIsClosed(t *testing.T) {
	for _, c := range []struct {
		lesson, answer, typed string // the step, by a line of its answer; what the learner typed instead
		stuck                 bool
	}{
		{"06-closing", "recv client", "close client", true},
		{"08-tutorial", "recv connection", "close connection", true},
		{"09-web-server", `send browser "HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<h1>Hello from my socket!</h1>\r\n"`, "close browser", true},
		{"11-options-halfclose", `send client "thanks"`, "close conn", true},
		{"07-errors", "socket as client2", "close server", true},
		{"03-accept", "socket as client2", "close server", true},
		{"07-errors", "socket as second", "close server", false},
		{"01-server", "listen server", "close server", false},
		{"02-client", "connect client 127.0.0.1 {port}", "close server", false},
		{"02-client", "connect client 127.0.0.1 {port}", "close client", false},
		{"02-client", "connect client 127.0.0.1 {port}", "close client; close server", false},
		{"10-udp", `sendto {second-udp:cli} 127.0.0.1 {udp-port} "ping"`, "close echo", false},
	} {
		t.Run(c.lesson+"/"+c.typed, func(t *testing.T) {
			l, i := playUntil(t, c.lesson, "answered by "+c.answer, func(answer []string) bool {
				return slices.Contains(answer, c.answer)
			})
			var closed string
			for _, typed := range strings.Split(c.typed, "; ") {
				closed = strings.Fields(typed)[1]
				if err := l.enter(typed); err != nil {
					t.Fatal(err)
				}
				if slices.ContainsFunc(l.session.Lab().Sockets(), func(s *steps.Socket) bool { return s.Name == closed }) || l.step() != i {
					t.Fatalf("after %s, %s is still open or the step is done", typed, closed)
				}
			}
			if c.stuck {
				mark := l.out.Len()
				l.enter("hint answer")
				said := l.out.String()[mark:]
				if !strings.Contains(said, "does not start from where your sockets are") || !strings.Contains(said, closed+" is closed") || strings.Contains(said, "Type th") {
					t.Errorf("hint answer after %s: want it to say that %s is closed, and no answer:\n%s", c.typed, closed, said)
				}
				readsAsSentences(t, said)
				return
			}
			mark := l.out.Len()
			_, commands := hintAnswer(t, l)
			lesson, _ := lessonByID(t, c.lesson)
			failing := lesson.Pages[i].Step.wantsFailure("")
			typeAnswer(t, l, i, commands, mark, failing)
		})
	}
}

// A step that wants a connect refused, asked for its answer once the
// learner's own server listens on the port (the next step done first),
// shows an answer that closes that server, and the connect is refused.
func TestHintAnswerForARefusedConnectAfterAServer(t *testing.T) {
	l, i := playUntil(t, "07-errors", "answered by a connect", func(answer []string) bool {
		return slices.Contains(answer, "connect client 127.0.0.1 {port}")
	})
	for _, line := range []string{"socket as server", l.tutor.fill("bind server 127.0.0.1 {port}"), "listen server"} {
		if err := l.enter(line); err != nil {
			t.Fatal(err)
		}
	}
	if l.step() != i || steps.Read(labSocket(t, l, "server")).State != steps.Listen {
		t.Fatalf("want step %d shown, and server in LISTEN", i+1)
	}
	mark := l.out.Len()
	_, commands := hintAnswer(t, l)
	typeAnswer(t, l, i, commands, mark, true)
}

// Lesson 8's first step plays `auto demo` on the lesson's port. Once the
// learner's own server listens there (the next step done first), the
// answer gives a port that auto's server can bind, and does the step.
func TestHintAnswerForTheDemoAfterAServer(t *testing.T) {
	l, i := playUntil(t, "08-tutorial", "answered by auto demo", func(answer []string) bool {
		return slices.Contains(answer, "auto demo --port {port}")
	})
	if !l.session.Knows("auto") {
		t.Skip("this build has no auto")
	}
	for _, line := range []string{"socket as server_socket", l.tutor.fill(`bind server_socket "" {second-port}`), "listen server_socket"} {
		if err := l.enter(line); err != nil {
			t.Fatal(err)
		}
	}
	mark := l.out.Len()
	_, commands := hintAnswer(t, l)
	typeAnswer(t, l, i, commands, mark, false)
}

// auto's server binds a TCP socket to "" and the port --port gives. The
// answer keeps the lesson's port where the kernel lets such a bind be
// made (a UDP socket on it does not stop one), and gives --port 0 where
// not (a listener outside the lesson, or of the lesson, holds it), naming
// a socket of the lesson only when one holds it; either answer does the
// step.
func TestHintAnswerForTheDemoWhenItsPortIsHeld(t *testing.T) {
	for _, c := range []struct {
		name    string
		typed   []string // in the lesson, before hint answer
		outside bool     // a TCP listener outside the lesson on 127.0.0.1 and the port
		names   string   // the socket the answer names, or ""
	}{
		{"udp", []string{"socket udp as u", `bind u "" {port}`}, false, ""},
		{"outside", []string{"socket as s", "bind s 127.0.0.1 {second-port}"}, true, ""}, // the lesson stays on its ports
		{"lesson", []string{"socket as s", "bind s 127.0.0.1 {port}", "listen s"}, false, "s ("},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, i := playUntil(t, "08-tutorial", "answered by auto demo", func(answer []string) bool {
				return slices.Contains(answer, "auto demo --port {port}")
			})
			if !l.session.Knows("auto") {
				t.Skip("this build has no auto")
			}
			for _, line := range c.typed {
				if err := l.enter(l.tutor.fill(line)); err != nil {
					t.Fatal(err)
				}
			}
			port := l.tutor.fill("{port}")
			if c.outside {
				ln, err := net.Listen("tcp", "127.0.0.1:"+port)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
			}
			n, _ := strconv.Atoi(port)
			free := canBind(uint16(n))
			mark := l.out.Len()
			shown, commands := hintAnswer(t, l)
			if kept := slices.Contains(commands, "auto demo --port "+port); kept != free {
				t.Fatalf("a TCP bind to port %s can be made: %v, but the answer keeps the port: %v:\n%s", port, free, kept, shown)
			}
			if claims := strings.Contains(shown, "EADDRINUSE"); claims == free {
				t.Fatalf("a TCP bind to port %s can be made: %v, but the answer says it would fail: %v:\n%s", port, free, claims, shown)
			}
			if c.names != "" && !strings.Contains(shown, c.names) || c.names == "" && strings.Contains(shown, " holds port") {
				t.Fatalf("want the answer to name %q as holding the port (\"\" for none):\n%s", c.names, shown)
			}
			typeAnswer(t, l, i, commands, mark, false)
		})
	}
}

// A step that counts sockets or connections cannot be done by an answer
// that adds fewer than are missing: once the learner has closed one the
// steps before made (a listener with its queue, too), `hint answer` says how many there are, read from the kernel's
// sockets, and how many the step wants, instead of an answer that falls
// short; doing what it says then does the step.
func TestHintAnswerWhenACountIsShort(t *testing.T) {
	for _, c := range []struct {
		lesson, answer, typed string // the step, by a line of its answer; what the learner typed instead
		count                 func(l *lab) int
		want                  int
		then                  []string // what the sentence says to do, typed
	}{
		{"02-client", "socket as client", "close server", func(l *lab) int { return len(l.session.Lab().Sockets()) }, 2,
			[]string{"socket as client", "socket as other"}},
		{"03-accept", "accept server as conn2", "close conn", func(l *lab) int {
			return len(slices.DeleteFunc(l.session.Lab().Sockets(), func(s *steps.Socket) bool { return s.AcceptedFrom == "" }))
		}, 2, []string{"socket as client3", "connect client3 127.0.0.1 {port}", "accept server as conn2", "accept server as conn3"}},
		{"02-client", "socket as client2", "close server", func(l *lab) int {
			queued := 0 // on every listener, as the kernel counts them
			for _, s := range l.session.Lab().Sockets() {
				if snap := steps.Read(s); snap.State == steps.Listen {
					queued += snap.AcceptQueue
				}
			}
			return queued
		}, 2, []string{"socket as server", "bind server 127.0.0.1 {port}", "listen server", "socket as client2", "connect client2 127.0.0.1 {port}",
			"socket as client3", "connect client3 127.0.0.1 {port}"}},
	} {
		t.Run(c.lesson+"/"+c.typed, func(t *testing.T) {
			l, i := playUntil(t, c.lesson, "answered by "+c.answer, func(answer []string) bool {
				return slices.Contains(answer, c.answer)
			})
			if err := l.enter(c.typed); err != nil {
				t.Fatal(err)
			}
			have := c.count(l)
			mark := l.out.Len()
			l.enter("hint answer")
			said := l.out.String()[mark:]
			want := fmt.Sprintf(": %d, and this step wants at least %d, but its answer adds at most %d.", have, c.want, c.want-have-1)
			if !strings.Contains(said, "does not start from where your sockets are") || !strings.Contains(said, want) || strings.Contains(said, "Type th") {
				t.Errorf("hint answer after %s: want %q and no answer:\n%s", c.typed, want, said)
			}
			for _, line := range c.then {
				if err := l.enter(l.tutor.fill(line)); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
			}
			if l.step() == i {
				t.Errorf("what hint answer said to do did not do the step:\n%s", l.out.String()[mark:])
			}
		})
	}
}

// A step that wants a connection's end left open while its peer closes
// (peer-closed) or resets it (reset) cannot be done once the learner has
// closed the end that was to stay: no two sockets of the lesson are the
// ends of one connection, as the kernel's addresses show. `hint answer`
// says so, and a new connection, made as it says, does the step.
func TestHintAnswerWhenNoConnectionIsLeft(t *testing.T) {
	for _, c := range []struct {
		lesson, answer, typed string // the step, by its answer; what the learner typed instead
		want                  string
		then                  []string
	}{
		{"07-errors", "close conn", "close client", "No two sockets of this lesson are the ends of one connection now",
			[]string{"socket as c2", "connect c2 127.0.0.1 {port}", "accept server as conn2", `send c2 "unread"`, "close conn2"}},
		{"08-tutorial", "close connection", "close client_socket", "No client socket (made by socket, not accept) of this lesson is connected to another of its sockets now",
			[]string{"socket as c2", "connect c2 127.0.0.1 {port}", "accept server_socket as conn2", "close connection", "close conn2"}},
	} {
		t.Run(c.lesson+"/"+c.typed, func(t *testing.T) {
			l, i := playUntil(t, c.lesson, "answered by "+c.answer, func(answer []string) bool {
				return slices.Equal(answer, []string{c.answer})
			})
			if err := l.enter(c.typed); err != nil {
				t.Fatal(err)
			}
			open := l.session.Lab().Sockets()
			for _, a := range open {
				for _, b := range open {
					sa, sb := steps.Read(a), steps.Read(b)
					if a != b && sa.Connected() && steps.SameEnd(sa.Remote, sb.Local) && steps.SameEnd(sb.Remote, sa.Local) {
						t.Fatalf("after %s, %s and %s are still the ends of one connection", c.typed, a.Label(), b.Label())
					}
				}
			}
			mark := l.out.Len()
			l.enter("hint answer")
			said := l.out.String()[mark:]
			if !strings.Contains(said, "does not start from where your sockets are") || !strings.Contains(said, c.want) || strings.Contains(said, "Type th") {
				t.Errorf("hint answer after %s: want %q and no answer:\n%s", c.typed, c.want, said)
			}
			readsAsSentences(t, said)
			for _, line := range c.then {
				if err := l.enter(l.tutor.fill(line)); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
			}
			if l.step() == i {
				t.Errorf("a new connection did not do the step:\n%s", l.out.String()[mark:])
			}
		})
	}
}

// enterBounded types a line as enter does, but stops a call that waits
// after two seconds, as Ctrl-C would: an answer's call must not wait.
func (l *lab) enterBounded(line string) (waited bool) {
	l.out.WriteString("› " + line + "\n")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l.session.Eval(ctx, line)
	return ctx.Err() != nil
}

// Lesson 4's step that reads 3 bytes of "Grüße ✓" wants bytes left after
// the recv. Once the learner has read them all, or sent fewer bytes than
// the step before asked, the answer first reads out what is left and sends
// the text again, and its recv then returns the first 3 bytes of the text,
// without waiting.
func TestHintAnswerRefillsAQueueReadAhead(t *testing.T) {
	text := []byte("Grüße ✓")
	for _, typed := range [][]string{
		{`send client "Grüße ✓"`, "recv conn"},
		{`send client "ab"`},
	} {
		t.Run(typed[len(typed)-1], func(t *testing.T) {
			l, i := playUntil(t, "04-send-recv", "answered by a send of Grüße", func(answer []string) bool {
				return slices.Equal(answer, []string{`send client "Grüße ✓"`})
			})
			for _, line := range typed {
				if err := l.enter(line); err != nil {
					t.Fatal(err)
				}
			}
			i++ // the step that reads 3 bytes
			if q := steps.Read(labSocket(t, l, "conn")).RecvQ; q >= 4 || l.step() != i {
				t.Fatalf("after %q, conn has %d bytes waiting, or the learner is not on step %d", typed, q, i+1)
			}
			mark := l.out.Len()
			_, commands := hintAnswer(t, l)
			for _, cmd := range commands {
				if l.enterBounded(cmd) {
					t.Fatalf("%s, as hint answer shows it, waited:\n%s", cmd, l.out.String()[mark:])
				}
			}
			want := fmt.Sprintf("data    3 bytes  %s", steps.QuoteShort(text[:3]))
			if l.step() == i || !strings.Contains(l.out.String()[mark:], want) {
				t.Errorf("the commands hint answer showed did not do the step, or read other bytes than %q:\n%s", want, l.out.String()[mark:])
			}
		})
	}
}

// A connection whose peer sends nothing (a browser may open one ahead of
// its next request) has an empty receive queue: the answer's recv would
// wait for ever. `hint answer` says so instead of showing it, and, the
// peer being outside the lesson, says how to bound the wait rather than
// to start again. A recv given --timeout or --all does not wait for ever;
// one given --hex does.
func TestHintAnswerWhenItsRecvWouldWait(t *testing.T) {
	l, i := playUntil(t, "09-web-server", "answered by accept", func(answer []string) bool {
		return slices.Equal(answer, []string{"accept server as browser"})
	})
	var d net.Dialer
	conn, err := d.Dial("tcp", "127.0.0.1:"+l.tutor.fill("{port}"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := l.enter("accept server as browser"); err != nil || l.step() != i+1 {
		t.Fatalf("accept: %v, or the step is not done", err)
	}
	if snap := steps.Read(labSocket(t, l, "browser")); !snap.QueuesKnown || snap.RecvQ != 0 || snap.State != steps.Established {
		t.Fatalf("browser is %v with %d bytes waiting, want ESTABLISHED and none", snap.State, snap.RecvQ)
	}
	mark := l.out.Len()
	l.enter("hint answer")
	said := l.out.String()[mark:]
	if !strings.Contains(said, "has no bytes waiting in its receive queue, and its peer, outside this lesson, has not closed") || !strings.Contains(said, "`--timeout 5s`") ||
		strings.Contains(said, "`reset`") || strings.Contains(said, "Type th") {
		t.Errorf("hint answer: want it to say that recv would wait, how to bound it, no reset, and no answer:\n%s", said)
	}
	readsAsSentences(t, said)
	for _, c := range []struct {
		line  string
		waits bool
	}{
		{"recv browser 8192 --hex", true},
		{"recv browser 8192 --timeout 5s", false},
		{"recv browser --all", false},
	} {
		if got := l.tutor.waits([]string{c.line}) != ""; got != c.waits {
			t.Errorf("%s: said to wait: %v, want %v", c.line, got, c.waits)
		}
	}
}

// Lesson 3's first step sets up a listener and a client for the next
// step's accept. A learner who accepts before the client connects waits,
// and cannot type the connect meanwhile: the step says so before, with
// how to stop the wait, and the wait is real.
func TestAcceptBeforeConnectIsToldAhead(t *testing.T) {
	l, i := playUpTo(t, "03-accept", "socket as client")
	shown := l.out.String()
	for _, want := range []string{"accept waits until a client connects", "this prompt takes no command", "Ctrl-C stops the wait"} {
		if !strings.Contains(shown, want) {
			t.Errorf("before the client connects, lesson 3 did not say %q; it said:\n%s", want, shown)
		}
	}
	mark := l.out.Len()
	if !l.enterBounded("accept server as conn") || l.step() != i || slices.Contains(l.session.Lab().Names(), "conn") {
		t.Errorf("an accept before any client connected did not wait, as the step says it does:\n%s", l.out.String()[mark:])
	}
}
