package steps

import "golang.org/x/sys/unix"

// The system calls the steps make. Tests replace one of these to produce an
// errno on demand (EMFILE from socket, ECONNRESET from recv); everything
// else always runs on real sockets.
var (
	socketCall   = newSocket
	bindCall     = unix.Bind
	listenCall   = unix.Listen
	acceptCall   = accept
	connectCall  = unix.Connect
	sendCall     = unix.SendmsgN
	recvCall     = unix.Recvfrom
	closeCall    = unix.Close
	shutdownCall = unix.Shutdown
	pollCall     = unix.Poll
)
