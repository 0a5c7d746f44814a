package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFloodKeepsMemoryBounded has a peer send 100 MB as fast as it can to
// a connection the shell reads with recv, and checks that the sockstep
// process's peak resident memory stays under 64 MB.
func TestFloodKeepsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("the flood test sends 100 MB; skipped with -short")
	}
	const total = 100 << 20
	port := freeTestPort(t)
	cmd := exec.Command(binary(t), "--narrate", "off")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sawClose := make(chan bool, 1)
	go func() {
		closed := false
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			closed = closed || strings.HasPrefix(sc.Text(), "  recv(") && strings.HasSuffix(sc.Text(), ") = 0")
		}
		sawClose <- closed
	}()
	fmt.Fprintf(stdin, "socket as server\nbind server 127.0.0.1 %d\nlisten server\n", port)
	var peer net.Conn
	for deadline := time.Now().Add(5 * time.Second); ; {
		if peer, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	fmt.Fprintf(stdin, "accept server as conn --timeout 5s\n")
	sent := make(chan error, 1)
	go func() {
		chunk := make([]byte, 1<<20)
		for i := range chunk {
			chunk[i] = byte(i)
		}
		peer.SetWriteDeadline(time.Now().Add(60 * time.Second))
		for n := 0; n < total; n += len(chunk) {
			if _, err := peer.Write(chunk); err != nil {
				sent <- err
				return
			}
		}
		sent <- peer.(*net.TCPConn).CloseWrite()
	}()
	// Each recv takes at most 1 MB; enough of them read all 100 MB and the
	// close, and the ones after the close return 0 at once.
	for range total/(1<<20)*2 + 100 {
		io.WriteString(stdin, "recv conn 1048576 --timeout 10s\n")
	}
	if err := <-sent; err != nil {
		t.Fatalf("the peer could not send everything: %v", err)
	}
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("sockstep did not finish reading the flood")
	}
	if !<-sawClose {
		t.Error("sockstep never read the peer's close: it did not read the whole flood")
	}
	peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // kB on Linux
	t.Logf("peak RSS of sockstep while reading 100 MB: %d kB", peak)
	if peak > 64<<10 {
		t.Errorf("peak RSS: got %d kB, want under 64 MB", peak)
	}
}
