package steps

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestClosedSendsNothing resets a connection that has bytes unsent, as a
// send to a peer that closed does, and checks what the state lines say of
// its send queue against the memory the kernel holds for it (SO_MEMINFO):
// none, though SIOCOUTQ still counts the bytes.
func TestClosedSendsNothing(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	run(t, l, "close", "client")
	run(t, l, "send", "conn", "lost")
	conn := sock(t, l, "conn")
	snap := Read(conn)
	if snap.State != Closed {
		t.Fatalf("conn is %s after the reset, want CLOSED", snap.State)
	}
	outq, err := unix.IoctlGetInt(conn.FD, unix.SIOCOUTQ)
	if err != nil || outq == 0 {
		t.Logf("SIOCOUTQ gives %d (%v): this kernel no longer counts the lost bytes", outq, err)
	}
	if queued := writeQueued(t, conn.FD); queued != 0 {
		t.Fatalf("the kernel holds %d bytes of send queue for a CLOSED socket", queued)
	}
	if snap.SendQ != 0 {
		t.Errorf("got send-q %d, want 0: nothing is left to send", snap.SendQ)
	}
}

// writeQueued is SO_MEMINFO's SK_MEMINFO_WMEM_QUEUED: the memory of the
// bytes in the socket's send queue.
func writeQueued(t *testing.T, fd int) uint32 {
	t.Helper()
	var info [unix.SK_MEMINFO_VARS]uint32
	size := uint32(unsafe.Sizeof(info))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		t.Fatalf("getsockopt SO_MEMINFO: %v", errno)
	}
	return info[unix.SK_MEMINFO_WMEM_QUEUED]
}

// TestAnEmptyDatagramIsSeen queues an empty datagram and then one of one
// byte. SIOCINQ says 0 for the empty one as for none; the state lines
// must still say that one waits, as recv finds, and what its size is. A
// socket whose reading is shut down, which poll calls readable for ever,
// has none waiting until one comes.
func TestAnEmptyDatagramIsSeen(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "udp", "as", "srv")
	run(t, l, "bind", "srv", "127.0.0.1", "0")
	port := portOf(t, l, "srv")
	refused(t, l, unix.ENOTCONN, "shutdown", "srv", "read") // with no peer, and Linux shuts it all the same
	run(t, l, "socket", "udp", "as", "cli")
	srv := sock(t, l, "srv")
	if Read(srv).DatagramWaiting() {
		t.Fatal("shut for reading, nothing sent: got a datagram waiting")
	}
	rep := run(t, l, "sendto", "cli", "127.0.0.1", port, "")
	wantState(t, "sendto of an empty datagram", rep, srv, "next datagram empty (0 bytes)")
	run(t, l, "sendto", "cli", "127.0.0.1", port, "x")

	for _, want := range []int{0, 1} {
		if snap := Read(srv); !snap.DatagramWaiting() || snap.RecvQ != want {
			t.Errorf("before the recv of %d bytes: got waiting %v, next %d bytes", want, snap.DatagramWaiting(), snap.RecvQ)
		}
		n, _, err := unix.Recvfrom(srv.FD, make([]byte, 8), unix.MSG_DONTWAIT)
		if err != nil || n != want {
			t.Fatalf("recv: %d bytes, %v; want %d bytes", n, err, want)
		}
	}
	if Read(srv).DatagramWaiting() {
		t.Error("after both were read: got a datagram waiting")
	}
}
