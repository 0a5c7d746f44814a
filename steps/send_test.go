package steps

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestEmptySend sends 0 bytes: on TCP nothing goes to the peer, whose recv
// must go on waiting, as the report says; on UDP an empty datagram goes,
// and the receiver's recv returns it, 0 bytes long.
func TestEmptySend(t *testing.T) {
	t.Run("tcp", func(t *testing.T) {
		l := newLab(t)
		pair(t, l, families[0])
		rep := run(t, l, "send", "conn", "")
		if want := "sent nothing"; !strings.Contains(rep.Says, want) || len(rep.Packets) != 0 {
			t.Errorf("got %q and packets %v, want %q and no packet", rep.Says, rep.Packets, want)
		}
		if rep.Next != `send conn "hello"` {
			t.Errorf("got next %q, want a send of some text", rep.Next)
		}
		start := time.Now()
		if got, err := try(t, l, "recv", "client", "--timeout", "100ms"); err != nil || !got.Stopped {
			t.Errorf("the peer's recv: got %v after %v, want it to wait until its timeout", err, time.Since(start))
		}
	})
	t.Run("udp", func(t *testing.T) {
		l := newLab(t)
		run(t, l, "socket", "udp", "as", "a")
		run(t, l, "bind", "a", "127.0.0.1", "0")
		run(t, l, "socket", "udp", "as", "b")
		run(t, l, "connect", "b", "127.0.0.1", portOf(t, l, "a"))
		rep := run(t, l, "send", "b", "")
		if want := "one empty datagram (0 bytes)"; !strings.Contains(rep.Says, want) {
			t.Errorf("got %q, want %q", rep.Says, want)
		}
		if got := run(t, l, "recv", "a", "--timeout", "1s"); got.Stopped || len(got.Data) != 0 {
			t.Errorf("recv a: got %q, want the empty datagram", got.Call)
		}
	})
}

// TestDatagramWords checks sentences about single datagrams: a byte is
// one byte, and a recv on a UDP socket with no address, which nothing can
// reach, says so while it waits.
func TestDatagramWords(t *testing.T) {
	l := newLab(t)
	told := countWaiting(t, l)
	run(t, l, "socket", "udp", "as", "a")
	run(t, l, "bind", "a", "127.0.0.1", "0")
	run(t, l, "socket", "udp", "as", "b")
	port := portOf(t, l, "a")
	var said []*Report
	var bound netip.AddrPort // b's address once sendto has bound it
	for _, tt := range []struct {
		step []string
		says string
	}{
		{[]string{"sendto", "b", "127.0.0.1", port, "x"}, "one datagram of 1 byte to"},
		{[]string{"recvfrom", "a"}, ""},
		{[]string{"connect", "b", "127.0.0.1", port}, ""},
		{[]string{"send", "b", "y"}, "sent 1 byte as one datagram"},
	} {
		rep := run(t, l, tt.step[0], tt.step[1:]...)
		if !strings.Contains(rep.Says, tt.says) {
			t.Errorf("%s: got %q, want %q", tt.step, rep.Says, tt.says)
		}
		said = append(said, rep)
		if len(said) == 1 {
			bound = Read(sock(t, l, "b")).Local
		}
	}
	// b was bound to every interface (0.0.0.0) and a port: what the
	// receiver sees is that port, from the address the route chose.
	if want := fmt.Sprintf("bound it to %s: the receiver sees that port as the sender's", bound); !strings.Contains(said[0].Says, want) {
		t.Errorf("sendto: got %q, want %q", said[0].Says, want)
	}
	if want := fmt.Sprintf("from 127.0.0.1:%d", bound.Port()); !strings.HasSuffix(said[1].Call, want) {
		t.Errorf("recvfrom: got %q, want it to end %q", said[1].Call, want)
	}
	run(t, l, "socket", "udp", "as", "unbound")
	if rep, err := try(t, l, "recv", "unbound", "--timeout", "50ms"); err != nil || !rep.Stopped {
		t.Fatalf("recv on a socket with no address: got %v, want it to wait until its timeout", err)
	}
	if want := "none can come: the socket has no address"; len(*told) != 1 || !strings.Contains((*told)[0], want) {
		t.Errorf("got waiting %q, want %q", *told, want)
	}
}

// TestEPIPESaysWhy sends where the kernel answers EPIPE, for each reason
// the report can know, and wants that reason, from a send of text and
// from a bulk send (--bytes) alike, and from a sendto, which on a TCP
// socket ignores its address and fails as send does.
func TestEPIPESaysWhy(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup []string
		on    string
		says  string
	}{
		{"a listener", nil, "server", "is a listening socket"},
		{"after shutdown write", []string{"shutdown conn write"}, "conn", "has shut down writing (shutdown)"},
		{"after the peer's reset was reported", []string{"close client", "send conn x", "recv conn"}, "conn", "has no connection: its connection is over"},
		{"a socket that never connected", []string{"socket as lonely"}, "lonely", "has never been connected"},
		{"a client whose connect was refused", []string{"socket as again", "connect again 127.0.0.1 1"}, "again", "its connect failed"},
	} {
		for _, what := range [][]string{{"send", "more"}, {"send", "--bytes", "100K"}, {"sendto", "more"}} {
			t.Run(tt.name+" "+strings.Join(what, " "), func(t *testing.T) {
				l := newLab(t)
				pair(t, l, families[0])
				for _, line := range tt.setup {
					words := strings.Fields(line)
					try(t, l, words[0], words[1:]...)
				}
				step, args := what[0], append([]string{tt.on}, what[1:]...)
				says := []string{tt.says}
				if step == "sendto" {
					args = append([]string{tt.on, "127.0.0.1", portOf(t, l, "server")}, what[1:]...)
					says = append(says, "ignores sendto's address")
				}
				rep := refused(t, l, unix.EPIPE, step, args...)
				for _, want := range says {
					if !strings.Contains(rep.Failure.ForStep, want) {
						t.Errorf("got %q, want %q", rep.Failure.ForStep, want)
					}
				}
				// The fix must not ask for a connect the kernel refuses.
				conn, err := try(t, l, "connect", tt.on, "127.0.0.1", portOf(t, l, "server"))
				if err != nil {
					t.Fatal(err)
				}
				if conn.Failure != nil && strings.Contains(strings.ToLower(rep.Failure.Fix), "connect first") {
					t.Errorf("connect on %s was refused, yet the fix says %q", tt.on, rep.Failure.Fix)
				}
			})
		}
	}
}

// TestBulkRate tells a bulk send's rate only from 1 MiB sent in 10 ms up:
// below, the bytes were only copied into the send buffer, and the rate
// says nothing of the connection.
func TestBulkRate(t *testing.T) {
	for _, tc := range []struct {
		sent int
		took time.Duration
		want string
	}{
		{10, 20 * time.Microsecond, ""},
		{10, 3 * time.Second, ""},
		{4 << 20, 2 * time.Millisecond, ""},
		{1<<20 - 1, time.Second, ""},
		{1 << 20, 10*time.Millisecond - 1, ""},
		{1 << 20, 10 * time.Millisecond, "105 MB/s"},
		{1 << 20, 2 * time.Second, "524 kB/s"},
		{100 << 20, time.Second, "105 MB/s"},
	} {
		if got := bulkRate(tc.sent, tc.took); got != tc.want {
			t.Errorf("bulkRate(%d, %v) = %q, want %q", tc.sent, tc.took, got, tc.want)
		}
	}
	// On a live connection: a tiny send, and one the peer reads as it
	// comes, which takes long enough for its rate to be told.
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			pair(t, l, f)
			rep := run(t, l, "send", "conn", "--bytes", "10")
			if strings.Contains(rep.Says, "/s") || !strings.Contains(rep.Says, "went in") {
				t.Errorf("send --bytes 10: got %q, want no rate", rep.Says)
			}
			const size = 64 << 20
			read, client := make(chan int), sock(t, l, "client").FD
			go func() {
				buf, total := make([]byte, 1<<20), 0
				for total < size+10 {
					n, err := unix.Read(client, buf)
					if n <= 0 || err != nil {
						break
					}
					total += n
				}
				read <- total
			}()
			rep = fill(t, l, "conn", "--bytes", "64M", "--timeout", "5s")
			if got := <-read; got != size+10 {
				t.Fatalf("the peer read %d bytes, want %d", got, size+10)
			}
			took := strings.Fields(rep.Says[strings.Index(rep.Says, "went in ")+len("went in "):])
			if len(took) < 2 || (took[1] != "ms" && took[1] != "s") {
				t.Fatalf("got %q, want the time it took", rep.Says)
			}
			slow := took[1] == "s" || !strings.Contains(took[0], ".")
			if rated := strings.Contains(rep.Says, "B/s)"); rated != slow {
				t.Errorf("send --bytes 64M: got %q, want a rate: %v", rep.Says, slow)
			}
		})
	}
}

// TestSendWhileConnecting sends on a non-blocking socket whose handshake
// waits at a full accept queue: EAGAIN, which the report puts down to the
// handshake, not to a peer that does not read; once the listener accepts
// and the handshake is done, the send its fix waits for goes through.
func TestSendWhileConnecting(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			l := newLab(t)
			port := hangingConnect(t, l, f)
			connectingTo(t, l, f, port)
			rep := refused(t, l, unix.EAGAIN, "send", "client", "hello")
			says := foldParagraphs(rep.Failure.ForStep)
			if !strings.Contains(says, "still connecting (SYN_SENT)") || strings.Contains(says, "not reading") {
				t.Errorf("got %q, want it to blame the handshake", says)
			}
			run(t, l, "accept", "full", "as", "one")
			deadline := time.Now().Add(5 * time.Second)
			for Read(sock(t, l, "client")).State != Established && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if rep := run(t, l, "send", "client", "hello"); rep.Sent != 5 {
				t.Errorf("once ESTABLISHED: %s", rep.Call)
			}
		})
	}
}
