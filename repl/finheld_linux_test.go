package repl

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestShowTheFINHeld shuts down writing on a client whose peer's receive
// window is closed, with everything it sent acknowledged: the kernel
// holds the FIN back and counts it, alone, in SIOCOUTQ and TCP_INFO's
// bytes not sent. show must call that 1 the FIN, not a byte, and tell it
// not sent; sockets shows the kernel's SEND-Q of 1, as ss does, with the
// legend that says the FIN is in it.
func TestShowTheFINHeld(t *testing.T) {
	s, out := fullSession(t)
	port := freePort(t)
	mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "option server SO_RCVBUF 1000", "listen server",
		"socket as client", "option client TCP_NODELAY on", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept server as conn")
	client := mustFind(t, s, "client")
	closed := false
	// Send what conn's window has room for until its kernel has
	// acknowledged it all and offers none.
	for deadline := time.Now().Add(2 * time.Second); !closed && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		info, err := unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
		outq, errOut := unix.IoctlGetInt(client.FD, unix.SIOCOUTQ)
		if err != nil || errOut != nil {
			t.Fatalf("TCP_INFO: %v; SIOCOUTQ: %v", err, errOut)
		}
		switch room := int(info.Snd_wnd) - (outq - int(info.Notsent_bytes)); {
		case info.Notsent_bytes > 0:
		case info.Snd_wnd == 0 && outq == 0:
			closed = true
		case room > 0:
			mustEval(t, s, fmt.Sprintf("send client --bytes %d", room))
		}
	}
	if !closed {
		t.Fatal("conn's window did not close within 2 s")
	}
	mustEval(t, s, "shutdown client write")
	if outq, err := unix.IoctlGetInt(client.FD, unix.SIOCOUTQ); err != nil || outq != 1 {
		t.Fatalf("SIOCOUTQ after shutdown: got %d (%v), want 1: the FIN held back", outq, err)
	}
	got, _ := evalOut(s, out, "show client")
	got = strings.Join(strings.Fields(got), " ")
	for _, want := range []string{"send-q 1: the FIN, not yet acknowledged by the peer", "of the send-q, the FIN not yet sent (TCP_INFO)"} {
		if !strings.Contains(got, want) {
			t.Errorf("show client: got\n%s\nwant %q", got, want)
		}
	}
	table, _ := evalOut(s, out, "sockets")
	row := false
	for line := range strings.Lines(table) {
		// client (fd N)  tcp4  LOCAL  REMOTE  STATE  RECV-Q  SEND-Q  READY
		if f := strings.Fields(line); len(f) > 8 && f[0] == "client" {
			row = true
			if f[6] != "FIN_WAIT1" || f[8] != "1" {
				t.Errorf("sockets: got client's row %q, want FIN_WAIT1 with SEND-Q 1, as ss counts it", line)
			}
		}
	}
	if want := "SEND-Q counts it as 1"; !row || !strings.Contains(table, want) {
		t.Errorf("sockets: got\n%s\nwant client's row and %q", table, want)
	}
}
