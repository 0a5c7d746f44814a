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
