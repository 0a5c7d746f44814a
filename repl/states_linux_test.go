package repl

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sockstep/steps"
)

// TestStatesNoteOnReset resets connections on loopback in the states the
// note of `show --states` speaks of, and wants the calls that follow to
// return what the note says, for the sentence of each state it has.
func TestStatesNoteOnReset(t *testing.T) {
	note := strings.Join(strings.Fields(statesText("conn (fd 5)", 0, &renderer{st: newStyle(false), width: 80})), " ")
	loopback := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	var fail error
	check := func(err error) {
		if err != nil && fail == nil {
			fail = err
		}
	}
	// newSocket makes a TCP socket that the test closes at its end, unless
	// abort has closed it.
	open := map[int]bool{}
	t.Cleanup(func() {
		for fd := range open {
			unix.Close(fd)
		}
	})
	newSocket := func() int {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		check(err)
		open[fd] = true
		return fd
	}
	name := func(fd int) unix.Sockaddr {
		sa, err := unix.Getsockname(fd)
		check(err)
		return sa
	}
	// connection connects a client to a listener on 127.0.0.1 and
	// accepts it.
	connection := func() (client, conn int) {
		listener := newSocket()
		check(unix.Bind(listener, loopback))
		check(unix.Listen(listener, 1))
		client = newSocket()
		check(unix.Connect(client, name(listener)))
		conn, _, err := unix.Accept(listener)
		check(err)
		open[conn] = true
		return client, conn
	}
	result := func(err error) string {
		var errno unix.Errno
		switch {
		case errors.As(err, &errno):
			return errno.Error()
		case err != nil:
			return err.Error()
		}
		return "ok"
	}
	send := func(fd int, text string) string {
		_, err := unix.SendmsgN(fd, []byte(text), nil, nil, unix.MSG_NOSIGNAL)
		return result(err)
	}
	// recv reads without waiting: what it returned, quoted, or its error.
	recv := func(fd int) string {
		buf := make([]byte, 64)
		n, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			return result(err)
		}
		return `"` + string(buf[:n]) + `"`
	}
	// abort closes fd with SO_LINGER on and 0 seconds: its kernel sends
	// RST.
	abort := func(fd int) {
		check(unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}))
		delete(open, fd)
		check(unix.Close(fd))
	}

	tests := []struct {
		says  string
		calls func() []string // the reset, then the calls after it, and what each returned
		want  []string
	}{
		{
			says: "RST, which ends a connection in any state but LISTEN. The next call then fails with ECONNRESET (a recv returns what is queued first)",
			calls: func() []string {
				client, conn := connection()
				send(client, "hi")
				abort(client)
				return []string{recv(conn), recv(conn)}
			},
			want: []string{`"hi"`, "connection reset by peer"},
		},
		{
			says: "in SYN_SENT connect fails with ECONNREFUSED",
			calls: func() []string {
				// A bound socket that does not listen answers a SYN with RST.
				closed := newSocket()
				check(unix.Bind(closed, loopback))
				return []string{result(unix.Connect(newSocket(), name(closed)))}
			},
			want: []string{"connection refused"},
		},
		{
			says: "in CLOSE_WAIT, where the peer's FIN came first, recv returns what is queued, then 0 bytes, and send fails with EPIPE",
			calls: func() []string {
				client, conn := connection()
				send(client, "hi")
				check(unix.Shutdown(client, unix.SHUT_WR))
				abort(client)
				return []string{recv(conn), recv(conn), send(conn, "x")}
			},
			want: []string{`"hi"`, `""`, "broken pipe"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.says, func(t *testing.T) {
			if !strings.Contains(note, tt.says) {
				t.Errorf("the note %q does not say %q", note, tt.says)
			}
			got := tt.calls()
			if fail != nil {
				t.Fatal(fail)
			}
			if strings.Join(got, ", ") != strings.Join(tt.want, ", ") {
				t.Errorf("after the reset the calls returned %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStatesOfASocketWhoseConnectionWaits: a socket that shut down its
// writing half and got the peer's FIN stays open while its connection
// waits in TIME_WAIT; the kernel then reports the socket itself CLOSED,
// and what `show --states` says there must tell where the wait went.
func TestStatesOfASocketWhoseConnectionWaits(t *testing.T) {
	s, out := pairSession(t)
	c := mustFind(t, s, "client")
	local := steps.Read(c).Local
	mustEval(t, s, "shutdown client write", "shutdown conn write")
	waits := false
	for deadline := time.Now().Add(2 * time.Second); !waits && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		conns, err := steps.Connections()
		if err != nil {
			t.Skip(err)
		}
		for _, conn := range conns {
			waits = waits || conn.Local == local && conn.State == steps.TimeWait
		}
	}
	if !waits {
		t.Fatalf("the kernel shows no TIME_WAIT from %s", local)
	}
	if state := steps.Read(c).State; state == steps.TimeWait {
		t.Fatalf("the kernel reports the open socket in %s", state)
	}
	said, err := evalOut(s, out, "show client --states")
	if err != nil {
		t.Fatal(err)
	}
	_, here, _ := strings.Cut(said, "you are here: ")
	here, _, _ = strings.Cut(here, "\n\n")
	if here = strings.Join(strings.Fields(here), " "); !strings.Contains(here, "TIME_WAIT") || !strings.Contains(here, "`ports`") {
		t.Errorf("the connection of client waits in TIME_WAIT, but show --states says %q", here)
	}
}
