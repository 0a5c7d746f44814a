//go:build linux

package repl

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"sockstep/steps"
)

// TestPortsListsEveryHolder: `ports N` lists every socket that holds port
// N, as the kernel knows them: a TCP socket only bound (which stands in
// another bind's way, though /proc/net/tcp leaves it out) and UDP
// sockets, bound or connected, whether this session's or not. Each row
// must name the address getsockname gives the socket, and this session's
// rows their socket.
func TestPortsListsEveryHolder(t *testing.T) {
	if !boundListed(t) {
		t.Skip("this kernel's sock_diag does not list TCP sockets that are only bound (Linux 6.9)")
	}
	outside := func(t *testing.T, kind int, port int) string {
		fd, err := unix.Socket(unix.AF_INET, kind|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			t.Fatal(err)
		}
		a := sa.(*unix.SockaddrInet4)
		return fmt.Sprintf("%d.%d.%d.%d:%d", a.Addr[0], a.Addr[1], a.Addr[2], a.Addr[3], a.Port)
	}
	tests := []struct {
		name  string
		lines []string // PORT is the port
		// outside makes a socket no session holds, bound to the port.
		outside int
		row     []string // the fields of the row wanted; LOCAL is the address
	}{
		{"a TCP socket only bound, not this session's", nil, unix.SOCK_STREAM,
			[]string{"tcp", "LOCAL", "—", "CLOSED", "0", "0"}},
		{"a TCP socket only bound, this session's", []string{"socket as s", "bind s 127.0.0.2 PORT"}, 0,
			[]string{"tcp", "127.0.0.2:PORT", "—", "CLOSED", "0", "0", "s", "(fd"}},
		{"a UDP socket bound, not this session's", nil, unix.SOCK_DGRAM,
			[]string{"udp", "LOCAL", "—", "bound", "0", "0"}},
		{"a UDP socket bound, this session's", []string{"socket udp as u", "bind u 127.0.0.2 PORT"}, 0,
			[]string{"udp", "127.0.0.2:PORT", "—", "bound", "0", "0", "u", "(fd"}},
		{"a UDP socket connected to the port, this session's", []string{"socket udp as u", "bind u 127.0.0.3 0", "connect u 127.0.0.2 PORT"}, 0,
			[]string{"udp", "LOCAL", "127.0.0.2:PORT", "connected", "0", "0", "u", "(fd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, out := fullSession(t)
			port := freePort(t)
			local := ""
			if tt.outside != 0 {
				local = outside(t, tt.outside, port)
			}
			for _, line := range tt.lines {
				mustEval(t, s, strings.ReplaceAll(line, "PORT", fmt.Sprint(port)))
			}
			if u, err := s.lab.Find("u"); err == nil && local == "" {
				local = steps.Read(u).Local.String()
			}
			want := strings.Join(tt.row, " ")
			want = strings.NewReplacer("PORT", fmt.Sprint(port), "LOCAL", local).Replace(want)
			got, err := evalOut(s, out, fmt.Sprint("ports ", port))
			if err != nil {
				t.Fatal(err)
			}
			rows := 0
			for _, line := range strings.Split(got, "\n") {
				if f := strings.Fields(line); len(f) > 1 && (f[0] == "tcp" || f[0] == "udp") {
					rows++
					if strings.Join(f[:min(len(f), 8)], " ") != want {
						t.Errorf("got row %q, want %q", strings.Join(f, " "), want)
					}
				}
			}
			if rows != 1 {
				t.Errorf("ports %d: got %d rows, want 1\n%s", port, rows, got)
			}
		})
	}
}

// boundListed says whether this kernel's sock_diag lists TCP sockets that
// are only bound (Linux 6.9 and later).
func boundListed(t *testing.T) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var major, minor int
	fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor)
	return major > 6 || major == 6 && minor >= 9
}

// TestPortsNamesTheAcceptQueue: a connection in an accept queue is named
// so, also once its client has closed (CLOSE_WAIT there), which accept
// still returns.
func TestPortsNamesTheAcceptQueue(t *testing.T) {
	for _, tt := range []struct {
		name  string
		lines []string
		state steps.TCPState
	}{
		{"waiting", nil, steps.Established},
		{"its client closed", []string{"close client"}, steps.CloseWait},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, out := fullSession(t)
			port := freePort(t)
			mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
				"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port))
			client := mustFind(t, s, "client")
			from := steps.Read(client).Local.String()
			mustEval(t, s, tt.lines...)
			conns, err := steps.Connections()
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, c := range conns {
				found = found || c.Remote.String() == from && int(c.Local.Port()) == port && c.State == tt.state && c.Inode == 0
			}
			if !found {
				t.Fatalf("no %s line from %s without a descriptor in the kernel's table", tt.state, from)
			}
			got, err := evalOut(s, out, fmt.Sprint("ports ", port))
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(got, "\n") {
				if f := strings.Fields(line); len(f) > 3 && f[2] == from {
					if f[3] != tt.state.String() || !strings.HasSuffix(line, "(in an accept queue)") {
						t.Errorf("got row %q, want %s (in an accept queue)", line, tt.state)
					}
					return
				}
			}
			t.Errorf("no row from %s in\n%s", from, got)
		})
	}
}

// TestPortsNamesOnlyTheSessionsListener: with SO_REUSEPORT another socket
// listens on the same address and port as this session's; only the line
// of the session's socket, by its inode, may carry its name.
func TestPortsNamesOnlyTheSessionsListener(t *testing.T) {
	s, out := fullSession(t)
	port := freePort(t)
	mustEval(t, s, "socket as server", "option server SO_REUSEPORT on", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server")
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 5); err != nil {
		t.Fatal(err)
	}
	got, err := evalOut(s, out, fmt.Sprint("ports ", port))
	if err != nil {
		t.Fatal(err)
	}
	listeners, named := 0, 0
	for _, line := range strings.Split(got, "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[3] == "LISTEN" {
			listeners++
			if strings.Contains(line, "server (fd") {
				named++
			}
		}
	}
	if listeners != 2 || named != 1 {
		t.Errorf("got %d listeners, %d named server, want 2 and 1\n%s", listeners, named, got)
	}
}

// TestPortsGivesEachListenersBacklog: for a listener, `ports` gives what ss
// gives, its accept queue in RECV-Q and its backlog in SEND-Q, for this
// session's listener and for one of another program, each as TCP_INFO
// reads them from the listener itself (tcpi_unacked, tcpi_sacked).
func TestPortsGivesEachListenersBacklog(t *testing.T) {
	s, out := fullSession(t)
	port := freePort(t)
	mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server 3")
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 7); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	other := sa.(*unix.SockaddrInet4).Port
	mustEval(t, s, "socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", other))
	for _, tt := range []struct {
		port int
		fd   int
	}{{port, mustFind(t, s, "server").FD}, {other, fd}} {
		info, err := unix.GetsockoptTCPInfo(tt.fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			t.Fatal(err)
		}
		got, err := evalOut(s, out, fmt.Sprint("ports ", tt.port))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("tcp 127.0.0.1:%d — LISTEN %d %d", tt.port, info.Unacked, info.Sacked)
		found := false
		for _, line := range strings.Split(got, "\n") {
			if f := strings.Fields(line); len(f) > 5 && f[3] == "LISTEN" {
				found = true
				if strings.Join(f[:6], " ") != want {
					t.Errorf("ports %d: got row %q, want it to begin %q (TCP_INFO)", tt.port, line, want)
				}
			}
		}
		if !found {
			t.Errorf("ports %d: no listener in\n%s", tt.port, got)
		}
	}
}

// TestPortsLegendNamesTheOrphansState: after close, the kernel keeps the
// connection without a descriptor in FIN_WAIT2 while the peer has not
// closed; the legend of `ports`, which says that it lists such
// connections, must name the state the kernel's table gives it.
func TestPortsLegendNamesTheOrphansState(t *testing.T) {
	s, out := pairSession(t)
	from := steps.Read(mustFind(t, s, "client")).Local
	mustEval(t, s, "close client")
	conns, err := steps.Connections()
	if err != nil {
		t.Fatal(err)
	}
	var state steps.TCPState
	for _, c := range conns {
		if c.Local == from && c.Inode == 0 {
			state = c.State
		}
	}
	if state == 0 {
		t.Fatalf("no line from %s without a descriptor in the kernel's table", from)
	}
	got, err := evalOut(s, out, fmt.Sprint("ports ", from.Port()))
	if err != nil {
		t.Fatal(err)
	}
	_, legend, _ := strings.Cut(got, "Read now")
	if !strings.Contains(legend, state.String()) {
		t.Errorf("the closed client's connection is %s in the kernel's table; the legend does not name it:\n%s", state, got)
	}
}

// TestPortsSaysWhetherAnIPv6SocketTakesIPv4: an IPv6 socket bound to
// [::] takes IPv4 clients too unless its IPV6_V6ONLY is on; `ports` shows
// one that does as *:P, as ss does, and one that does not as [::]:P, for
// this session's sockets and another program's alike. Whether it takes
// IPv4 is judged by an IPv4 client: a connect, or a datagram that
// arrives.
func TestPortsSaysWhetherAnIPv6SocketTakesIPv4(t *testing.T) {
	for _, tt := range []struct {
		name   string
		kind   int
		v6only int
		own    bool
	}{
		{"a TCP listener, IPV6_V6ONLY off, another program's", unix.SOCK_STREAM, 0, false},
		{"a TCP listener, IPV6_V6ONLY on, another program's", unix.SOCK_STREAM, 1, false},
		{"a UDP socket, IPV6_V6ONLY off, another program's", unix.SOCK_DGRAM, 0, false},
		{"a UDP socket, IPV6_V6ONLY on, another program's", unix.SOCK_DGRAM, 1, false},
		{"a TCP listener, IPV6_V6ONLY off, this session's", unix.SOCK_STREAM, 0, true},
		{"a TCP listener, IPV6_V6ONLY on, this session's", unix.SOCK_STREAM, 1, true},
		{"a UDP socket, IPV6_V6ONLY on, this session's", unix.SOCK_DGRAM, 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, out := fullSession(t)
			var fd int
			if tt.own {
				kind := map[int]string{unix.SOCK_STREAM: "tcp", unix.SOCK_DGRAM: "udp"}[tt.kind]
				mustEval(t, s, "socket "+kind+" ipv6 as s", fmt.Sprint("option s IPV6_V6ONLY ", tt.v6only), "bind s :: 0")
				if tt.kind == unix.SOCK_STREAM {
					mustEval(t, s, "listen s")
				}
				fd = mustFind(t, s, "s").FD
			} else {
				var err error
				if fd, err = unix.Socket(unix.AF_INET6, tt.kind|unix.SOCK_CLOEXEC, 0); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { unix.Close(fd) })
				if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, tt.v6only); err != nil {
					t.Fatal(err)
				}
				if err := unix.Bind(fd, &unix.SockaddrInet6{}); err != nil {
					t.Fatal(err)
				}
				if tt.kind == unix.SOCK_STREAM {
					if err := unix.Listen(fd, 5); err != nil {
						t.Fatal(err)
					}
				}
			}
			sa, err := unix.Getsockname(fd)
			if err != nil {
				t.Fatal(err)
			}
			port := sa.(*unix.SockaddrInet6).Port
			want := fmt.Sprintf("[::]:%d", port)
			if takesIPv4(t, fd, tt.kind, port) {
				want = fmt.Sprintf("*:%d", port)
			}
			got, err := evalOut(s, out, fmt.Sprint("ports ", port))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, line := range strings.Split(got, "\n") {
				if f := strings.Fields(line); len(f) > 3 && (f[3] == "LISTEN" || f[3] == "bound") {
					found = true
					if f[1] != want {
						t.Errorf("got LOCAL %s, want %s\n%s", f[1], want, got)
					}
				}
			}
			if !found {
				t.Errorf("no row of the socket in\n%s", got)
			}
			if strings.HasPrefix(want, "*") && !strings.Contains(strings.Join(strings.Fields(got), " "), "*:P is an IPv6 socket") {
				t.Errorf("the legend does not say what *:P is\n%s", got)
			}
		})
	}
}

// takesIPv4 says whether the IPv6 socket fd, on port, takes IPv4: an IPv4
// client connects to 127.0.0.1 there (TCP), or its datagram arrives (UDP).
func takesIPv4(t *testing.T, fd, kind, port int) bool {
	t.Helper()
	c, err := unix.Socket(unix.AF_INET, kind|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(c)
	to := &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	if kind == unix.SOCK_STREAM {
		return unix.Connect(c, to) == nil // refused at once on loopback
	}
	if err := unix.Sendto(c, []byte("x"), 0, to); err != nil {
		t.Fatal(err)
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 1000)
	return err == nil && n > 0
}
