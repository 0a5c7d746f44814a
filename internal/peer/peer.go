// Package peer gives tests a program outside sockstep to talk to: a TCP
// server on 127.0.0.1, written with Go's net package, that serves each
// client as the test says. It stands for the other end a learner's
// sockets meet (nc, a browser, a server of their own), never for the
// socket calls under test.
package peer

import (
	"net"
	"testing"
	"time"
)

// Serve listens on 127.0.0.1, at a port the kernel chooses, and serves
// every client that connects with serve, one at a time, closing the
// connection after it, until the test ends. Each connection has a
// deadline of 20 s, so a serve that reads or writes never hangs the
// test. It returns the port.
func Serve(t testing.TB, serve func(net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // the test has ended
			}
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			serve(conn)
			conn.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
