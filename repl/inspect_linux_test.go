package repl

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"sockstep/steps"
)

// TestShowCountsDroppedDatagrams fills a UDP socket's receive buffer until
// the kernel drops a datagram, and wants show and the state line to give
// the kernel's own count of drops, as `ss -u -m` would (here through the
// socket's SO_MEMINFO, in the test straight from getsockopt).
func TestShowCountsDroppedDatagrams(t *testing.T) {
	var out strings.Builder
	s := New(&out, Options{Narration: Full})
	t.Cleanup(s.Close)
	mustEval(t, s, "socket udp as r", "bind r 127.0.0.1 0", "socket udp as u")
	r, err := s.lab.Find("r")
	if err != nil {
		t.Fatal(err)
	}
	mustEval(t, s, fmt.Sprintf("connect u 127.0.0.1 %d", steps.Read(r).Local.Port()))
	drops := func() int {
		var info [unix.SK_MEMINFO_VARS]uint32
		size := uint32(unsafe.Sizeof(info))
		if _, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(r.FD), unix.SOL_SOCKET, unix.SO_MEMINFO,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0); errno != 0 {
			t.Skipf("SO_MEMINFO: %v", errno)
		}
		return int(info[unix.SK_MEMINFO_DROPS])
	}
	got, _ := evalOut(s, &out, "show r")
	if strings.Contains(got, "dropped") {
		t.Fatalf("got\n%s\nwant no drops before anything was sent", got)
	}
	for i := 0; drops() == 0; i++ {
		if i == 20 {
			t.Fatal("20 datagrams of 60000 bytes and no drop")
		}
		mustEval(t, s, "send u --bytes 60000")
	}
	n := drops()
	got, _ = evalOut(s, &out, "show r")
	if want := fmt.Sprintf("; %d dropped by the kernel instead of queued (SO_MEMINFO)", n); !strings.Contains(got, want) {
		t.Errorf("show r: got\n%s\nwant %q", got, want)
	}
	if !strings.Contains(got, "SO_MEMINFO, fcntl, poll") || strings.Contains(got, "TCP_INFO") {
		t.Errorf("show r: got\n%s\nwant a UDP socket's sources, without TCP_INFO", got)
	}
	got, _ = evalOut(s, &out, "send u x")
	if want := fmt.Sprintf("r (fd %d)  next datagram 60000 bytes, %d dropped", r.FD, drops()); !strings.Contains(got, want) {
		t.Errorf("send u x: got\n%s\nwant the state line %q", got, want)
	}
}

// TestShowNamesAListenersSources shows a listener with a client waiting:
// the clients come from the kernel's connection table, and a listener is
// not asked for a peer or queued bytes, so its sources say so.
func TestShowNamesAListenersSources(t *testing.T) {
	s, out := pairSession(t)
	server, err := s.lab.Find("server")
	if err != nil {
		t.Fatal(err)
	}
	mustEval(t, s, "socket as waiting", fmt.Sprintf("connect waiting 127.0.0.1 %d", steps.Read(server).Local.Port()))
	got, _ := evalOut(s, out, "show server")
	if !strings.Contains(got, ", from 127.0.0.1:") {
		t.Fatalf("show server: got\n%s\nwant the waiting client", got)
	}
	if !strings.Contains(got, "TCP_INFO, /proc/net/tcp and tcp6, fcntl, poll") || strings.Contains(got, "getpeername") {
		t.Errorf("show server: got\n%s\nwant a listener's sources: the connection table, no getpeername", got)
	}
	got, _ = evalOut(s, out, "show conn")
	if !strings.Contains(got, "getpeername, TCP_INFO, SIOCINQ/SIOCOUTQ, fcntl, poll") {
		t.Errorf("show conn: got\n%s\nwant a connection's sources", got)
	}
}
