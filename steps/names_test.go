package steps

import (
	"fmt"
	"go/token"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNames plays short sessions and checks the names the sockets got:
// s1, s2, … for sockets, c1, c2, … for accepted connections, the learner's
// own with `as NAME`, and no automatic name that is already taken.
func TestNames(t *testing.T) {
	// A session starts with a listener, server, on port PORT.
	tests := []struct {
		name  string
		lines []string
		want  []string // the names of the live sockets, in order
	}{
		{"sockets count up", []string{"socket", "socket udp", "socket ipv6"}, []string{"server", "s1", "s2", "s3"}},
		{"own names", []string{"socket as client", "socket tcp ipv6 as my-client", "socket"}, []string{"server", "client", "my-client", "s1"}},
		{"taken names are skipped", []string{"socket as s2", "socket", "socket"}, []string{"server", "s2", "s1", "s3"}},
		{"names are not handed out twice", []string{"socket", "close s1", "socket"}, []string{"server", "s2"}},
		{"an own name may be used again after close", []string{"socket as a", "close a", "socket as a"}, []string{"server", "a"}},
		{"accepted connections", []string{
			"socket", "connect s1 127.0.0.1 PORT", "socket", "connect s2 127.0.0.1 PORT", "socket", "connect s3 127.0.0.1 PORT",
			"accept server", "accept server as conn", "accept server",
		}, []string{"server", "s1", "s2", "s3", "c1", "conn", "c2"}},
		{"accepted skip taken names", []string{"socket as c1", "connect c1 127.0.0.1 PORT", "accept server"}, []string{"server", "c1", "c2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			port := listener(t, l, families[0], "server")
			for _, line := range tt.lines {
				words := strings.Fields(strings.ReplaceAll(line, "PORT", port))
				run(t, l, words[0], words[1:]...)
			}
			if got := l.Names(); !slices.Equal(got, tt.want) {
				t.Errorf("got names %q, want %q", got, tt.want)
			}
			for _, s := range l.Sockets() {
				checkSocket(t, l, s)
			}
		})
	}
}

// checkSocket checks that a socket of the table is what it says: found by
// name and by fd, labelled with both, and its fd is a live socket of its
// kind and family.
func checkSocket(t *testing.T, l *Lab, s *Socket) {
	t.Helper()
	if want := fmt.Sprintf("%s (fd %d)", s.Name, s.FD); s.Label() != want {
		t.Errorf("got label %q, want %q", s.Label(), want)
	}
	for _, ref := range []string{s.Name, strconv.Itoa(s.FD)} {
		if got, err := l.Find(ref); err != nil || got != s {
			t.Errorf("find %q: got %v, %v, want %s", ref, got, err, s.Label())
		}
	}
	typ, err := unix.GetsockoptInt(s.FD, unix.SOL_SOCKET, unix.SO_TYPE)
	wantType := map[Kind]int{Stream: unix.SOCK_STREAM, Datagram: unix.SOCK_DGRAM}[s.Kind]
	if err != nil || typ != wantType {
		t.Errorf("%s: got SO_TYPE %d (%v), want %d", s.Label(), typ, err, wantType)
	}
	// The family, as getsockname gives it (SO_DOMAIN is Linux's alone).
	sa, err := unix.Getsockname(s.FD)
	family := map[bool]Family{true: IPv4, false: IPv6}[isInet4(sa)]
	if err != nil || family != s.Family {
		t.Errorf("%s: getsockname gave %T (%v), want family %v", s.Label(), sa, err, s.Family)
	}
	proto := map[Kind]string{Stream: "tcp", Datagram: "udp"}[s.Kind] + map[Family]string{IPv4: "4", IPv6: "6"}[s.Family]
	if s.Proto() != proto {
		t.Errorf("%s: got proto %q, want %q", s.Label(), s.Proto(), proto)
	}
	if strings.Contains(s.Py(), "-") {
		t.Errorf("%s: got Python name %q, want no -", s.Label(), s.Py())
	}
}

// TestFindByFD checks that a socket is found by its fd number, and that a
// number that is not one of the session's fds is a usage error naming it.
func TestFindByFD(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "as", "a")
	run(t, l, "socket", "udp", "as", "b")
	a, b := sock(t, l, "a"), sock(t, l, "b")
	rep := run(t, l, "bind", strconv.Itoa(b.FD), "127.0.0.1", "0")
	if want := fmt.Sprintf("bind(%d, ", b.FD); !strings.HasPrefix(rep.Call, want) {
		t.Errorf("got call %q, want it to start %q", rep.Call, want)
	}
	if !Read(b).Bound() || Read(a).Bound() {
		t.Errorf("got a bound %v, b bound %v, want only b bound", Read(a).Bound(), Read(b).Bound())
	}
	run(t, l, "close", strconv.Itoa(a.FD))
	_, err := l.Find(strconv.Itoa(a.FD))
	if want := fmt.Sprintf("fd %d", a.FD); !IsUsage(err) || !strings.Contains(err.Error(), want) {
		t.Errorf("find a closed fd: got %v, want a usage error about %q", err, want)
	}
	if _, err := l.Find("a"); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("find a: got %v, want that it is gone", err)
	}
}

func isInet4(sa unix.Sockaddr) bool {
	_, ok := sa.(*unix.SockaddrInet4)
	return ok
}

// TestNamesTheCodeLinesNeed refuses, as socket names, the words the
// Python, C and Go lines would read as something else: every keyword of
// Python (as its keyword module lists them) and of Go (go/token), and the
// names the lines declare. The refusal changes nothing.
func TestNamesTheCodeLinesNeed(t *testing.T) {
	words := []string{"err", "buf", "int", "unix", "socket", "len", "struct"}
	for tok := token.Token(0); tok < token.Token(200); tok++ {
		if tok.IsKeyword() {
			words = append(words, tok.String())
		}
	}
	if python, err := exec.LookPath("python3"); err == nil {
		out, err := exec.Command(python, "-c", "import keyword; print(' '.join(keyword.kwlist))").Output()
		if err != nil {
			t.Fatal(err)
		}
		words = append(words, strings.Fields(string(out))...)
	} else {
		t.Log("python3 is not installed: Python's keywords are not asked for")
	}
	l := newLab(t)
	for _, w := range words {
		if _, err := try(t, l, "socket", "as", w); err == nil || !strings.Contains(err.Error(), "cannot name a socket") {
			t.Errorf("socket as %s: got %v, want it refused", w, err)
		}
	}
	if len(l.Sockets()) != 0 {
		t.Errorf("the refusals left sockets: %v", l.Names())
	}
}
