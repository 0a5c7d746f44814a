// Package steps is sockstep's socket engine: each file makes one system call
// of the BSD socket API on a real operating-system socket (socket.go, bind.go,
// listen.go, accept.go, connect.go, send.go, recv.go, close.go) and keeps its
// narration beside it in a text file of the same name (bind.txt), so that a
// teacher can change what a step says without reading Go.
//
// A Lab holds the live sockets a learner has made. Every step returns a
// Report: the call as the kernel saw it, what it means, the state read back
// from the kernel before and after, the same line in Python, and what to try
// next. Kernel state comes from kernel_linux.go (getsockname, getpeername,
// TCP_INFO, SIOCINQ/SIOCOUTQ, poll, /proc/net/tcp); on other systems
// kernel_other.go says what it cannot read.
//
// System calls go through the package variables in hooks.go, so a test can
// make one fail with an errno the network will not produce on demand.
package steps
