//go:build linux

package auto_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"sockstep/auto"
	"sockstep/repl"
)

// BenchmarkTutorialClients measures how many clients of the tutorial's
// protocol (connect, read the greeting, send the message, close) a server
// serves per second, one client after the other, for auto server against
// a minimal iterative server on the same system calls and nothing else,
// both in this process:
//
//	quiet     auto server --quiet, its output thrown away
//	narrated  auto server, every call narrated in full into a file
//	calls     no auto server: a server on raw calls that makes exactly
//	          the system calls quiet makes for each client, and nothing
//	          else; what quiet's calls cost, without its Go work
//
// Each iteration is one client of each of the two servers. The clients go
// in batches, taking the servers in turn, and a batch is timed until its
// server has finished with the last client, so that a server's own work
// counts and the slow and fast moments of a shared machine fall on both
// alike. It reports clients/s for each and the ratio the project aims at:
// quiet at least 0.9 of the minimal server, narrated at least 0.5.
// BENCHMARKS.md keeps the figures and how to reproduce them.
func BenchmarkTutorialClients(b *testing.B) {
	b.Run("quiet", func(b *testing.B) {
		sideBySide(b, startMinimal(b, b.N), startAuto(b, "quiet", io.Discard, b.N, "--quiet"))
	})
	b.Run("calls", func(b *testing.B) {
		sideBySide(b, startMinimal(b, b.N), startRaw(b, "calls", b.N, callsServer))
	})
	b.Run("narrated", func(b *testing.B) {
		narration, err := os.Create(filepath.Join(b.TempDir(), "narration.txt"))
		if err != nil {
			b.Fatal(err)
		}
		defer narration.Close()
		sideBySide(b, startMinimal(b, b.N), startAuto(b, "narrated", narration, b.N))
	})
}

// sideBySide runs b.N clients against each of two servers, in turns of a
// batch, and reports their rates and the second's against the first's.
func sideBySide(b *testing.B, servers ...*benchServer) {
	const batch = 25
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		for _, s := range servers {
			start := time.Now()
			for range n {
				if err := tutorialProtocol(s.port); err != nil {
					b.Fatalf("%s: %v", s.name, err)
				}
			}
			s.waitServed(b, n)
			s.took += time.Since(start)
		}
	}
	b.StopTimer()
	for _, s := range servers {
		if err := s.wait(); err != nil {
			b.Fatalf("%s server: %v", s.name, err)
		}
	}
	rate := func(s *benchServer) float64 { return float64(b.N) / s.took.Seconds() }
	for _, s := range servers {
		b.ReportMetric(rate(s), s.name+"-clients/s")
	}
	b.ReportMetric(rate(servers[1])/rate(servers[0]), servers[1].name+"/minimal")
}

// A benchServer is one of the servers under test, running in its own
// goroutine: where it listens, a signal for each client it has finished
// with, and the time its clients took.
type benchServer struct {
	name   string
	port   int
	served chan struct{}
	done   chan error
	took   time.Duration
}

// waitServed waits until the server has finished with n more clients. A
// server says it has finished with a client before it ends.
func (s *benchServer) waitServed(b *testing.B, n int) {
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case <-s.served:
		case err := <-s.done:
			s.done <- err // for wait
			select {
			case <-s.served:
			default:
				b.Fatalf("%s server ended early: %v", s.name, err)
			}
		case <-timeout:
			b.Fatalf("%s server did not finish %d clients within 10s", s.name, n)
		}
	}
}

// wait waits for the server to end, having served every client.
func (s *benchServer) wait() error {
	select {
	case err := <-s.done:
		return err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("did not end within 10s")
	}
}

// startAuto starts auto server for n clients, its output to out.
func startAuto(b *testing.B, name string, out io.Writer, n int, flags ...string) *benchServer {
	s := &benchServer{name: name, served: make(chan struct{}, n), done: make(chan error, 1)}
	w := &serverOutput{out: out, port: make(chan int, 1), served: s.served}
	plan, err := auto.Parse(append([]string{"server", "--host", "127.0.0.1", "--port", "0", "--count", strconv.Itoa(n)}, flags...))
	if err != nil {
		b.Fatal(err)
	}
	// The label lets a CPU profile tell the servers apart:
	// go tool pprof -tagfocus server=quiet auto.test cpu.out
	go pprof.Do(context.Background(), pprof.Labels("server", name), func(ctx context.Context) {
		s.done <- repl.New(w, repl.Options{Width: 80}).Play(ctx, plan)
	})
	select {
	case s.port = <-w.port:
	case err := <-s.done:
		b.Fatalf("%s ended before it listened: %v", name, err)
	case <-time.After(10 * time.Second):
		b.Fatalf("%s did not listen within 10s", name)
	}
	return s
}

// A serverOutput passes auto server's output on, hands over the port of
// its first Listening line, and signals each "Client disconnected", which
// the server prints when it has closed a client's connection.
type serverOutput struct {
	out    io.Writer
	port   chan int
	found  bool
	served chan struct{}
}

var (
	listeningLine = regexp.MustCompile(`Listening for incoming connections on port (\d+)`)
	disconnected  = []byte("Client disconnected")
)

func (w *serverOutput) Write(p []byte) (int, error) {
	if !w.found {
		if m := listeningLine.FindSubmatch(p); m != nil {
			w.found = true
			port, _ := strconv.Atoi(string(m[1]))
			w.port <- port
		}
	}
	for range bytes.Count(p, disconnected) {
		w.served <- struct{}{}
	}
	return w.out.Write(p)
}

// startMinimal starts the minimal server for n clients.
func startMinimal(b *testing.B, n int) *benchServer {
	return startRaw(b, "minimal", n, minimalServer)
}

// startRaw starts serve, a server on raw calls, for n clients, on a
// listener of its own.
func startRaw(b *testing.B, name string, n int, serve func(lfd, n int, served chan<- struct{}) error) *benchServer {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		b.Fatal(err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		b.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		b.Fatal(err)
	}
	s := &benchServer{name: name, port: sa.(*unix.SockaddrInet4).Port, served: make(chan struct{}, n), done: make(chan error, 1)}
	go pprof.Do(context.Background(), pprof.Labels("server", name), func(context.Context) {
		s.done <- serve(fd, n, s.served)
	})
	return s
}

var greeting = []byte(auto.DefaultGreeting)

// minimalServer is the tutorial's server with nothing else: for each of n
// clients, accept, send the greeting, recv up to 1024 bytes, close.
func minimalServer(lfd, n int, served chan<- struct{}) error {
	buf := make([]byte, 1024)
	var peer unix.RawSockaddrAny // the address the tutorial prints, as the kernel gives it
	for range n {
		// accept4 itself: x/sys/unix's Accept4 would also ask getsockopt
		// SO_PROTOCOL to convert the peer's address.
		size := uint32(unix.SizeofSockaddrAny)
		r, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&peer)), uintptr(unsafe.Pointer(&size)), unix.SOCK_CLOEXEC, 0, 0)
		if errno != 0 {
			return errno
		}
		fd := int(r)
		unix.SendmsgN(fd, greeting, nil, nil, unix.MSG_NOSIGNAL)
		unix.Read(fd, buf)
		unix.Close(fd)
		served <- struct{}{}
	}
	return nil
}

// callsServer makes, for each of n clients, the system calls auto server
// --quiet makes (counted with strace -f), in its order, and nothing else:
// poll for a client, and if none is queued, poll again in slices of
// 100 ms (as the steps' waits do, to see Ctrl-C) until one is; accept4;
// getsockname and getpeername for the tutorial's print(connection);
// sendmsg of the greeting; recvfrom with MSG_DONTWAIT, and if nothing has
// come yet, poll in slices of 100 ms until it has (recvfrom has just
// said it is not ready, so there is no poll with no wait first) and
// recvfrom again; close.
func callsServer(lfd, n int, served chan<- struct{}) error {
	buf := make([]byte, 1024)
	var peer, name unix.RawSockaddrAny
	ready := func(fd, first int) {
		poll := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for got, _ := unix.Poll(poll, first); got == 0; got, _ = unix.Poll(poll, 100) {
		}
	}
	nameOf := func(call uintptr, fd int) {
		size := uint32(unix.SizeofSockaddrAny)
		unix.Syscall(call, uintptr(fd), uintptr(unsafe.Pointer(&name)), uintptr(unsafe.Pointer(&size)))
	}
	for range n {
		ready(lfd, 0)
		size := uint32(unix.SizeofSockaddrAny)
		r, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&peer)), uintptr(unsafe.Pointer(&size)), unix.SOCK_CLOEXEC, 0, 0)
		if errno != 0 {
			return errno
		}
		fd := int(r)
		nameOf(unix.SYS_GETSOCKNAME, fd)
		nameOf(unix.SYS_GETPEERNAME, fd)
		unix.SendmsgN(fd, greeting, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		if _, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT); err == unix.EAGAIN {
			ready(fd, 100)
			unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		}
		unix.Close(fd)
		served <- struct{}{}
	}
	return nil
}

// tutorialProtocol is one client of network_client.py's protocol, on the
// raw system calls: connect, read the greeting, send the message, close.
func tutorialProtocol(port int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	buf := make([]byte, len(greeting))
	for got := 0; got < len(buf); {
		n, err := unix.Read(fd, buf[got:])
		if err != nil || n == 0 {
			return fmt.Errorf("reading the greeting: %d bytes, %v", got, err)
		}
		got += n
	}
	_, err = unix.Write(fd, []byte("Hello Server, I have connected on port "+strconv.Itoa(port)))
	return err
}
