package repl

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// tableRows reads the rows of a table that `sockets` or `ports` wrote, in
// either of its layouts: under a line of headings, each cell below its
// heading; or as records, a row's first line (at two columns) and the
// lines after it (at four) holding its values two spaces or more apart,
// those of named headings after the heading, the others in their order.
// start tells a row's first line.
func tableRows(out string, heads, named []string, start *regexp.Regexp) []map[string]string {
	lines := strings.Split(out, "\n")
	at := -1 // where the headings' line is, if there is one
	for i, l := range lines {
		if strings.HasPrefix(l, "  "+heads[0]+" ") {
			at = i
		}
	}
	var rows []map[string]string
	for i := 0; i < len(lines); i++ {
		if !start.MatchString(lines[i]) {
			continue
		}
		row := map[string]string{}
		if at >= 0 {
			cells := []rune(lines[i])
			for k, h := range heads {
				from := utf8.RuneCountInString(lines[at][:strings.Index(lines[at], h)])
				to := len(cells)
				if k+1 < len(heads) {
					to = utf8.RuneCountInString(lines[at][:strings.Index(lines[at], heads[k+1])])
				}
				if from < len(cells) {
					row[h] = strings.TrimSpace(string(cells[from:min(to, len(cells))]))
				}
			}
			rows = append(rows, row)
			continue
		}
		text := lines[i]
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "    ") {
			i++
			text += "  " + lines[i]
		}
		var unnamed []string
		for _, h := range heads {
			if !slices.Contains(named, h) {
				unnamed = append(unnamed, h)
			}
		}
	items:
		for _, item := range regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(text), -1) {
			for _, h := range named {
				if value, ok := strings.CutPrefix(item, h+" "); ok {
					row[h] = value
					continue items
				}
			}
			if len(unnamed) > 0 {
				row[unnamed[0]], unnamed = item, unnamed[1:]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// TestTablesFitTheWidth: at every width, with IPv4, IPv6 and IPv4-mapped
// addresses, no line of `sockets` or `ports` is wider than the session,
// and each shows, for every socket, what the kernel says of it: its
// addresses (getsockname, getpeername), its state and its queues.
func TestTablesFitTheWidth(t *testing.T) {
	for _, width := range []int{40, 60, 80, 100} {
		for _, family := range []string{"ipv4", "ipv6"} {
			t.Run(fmt.Sprint(width, "/", family), func(t *testing.T) {
				s, out, port, names := tableSession(t, width, family)
				socks, _ := evalOut(s, out, "sockets")
				ports, _ := evalOut(s, out, fmt.Sprint("ports ", port))
				for _, l := range strings.Split(socks+ports, "\n") {
					if n := utf8.RuneCountInString(l); n > width {
						t.Errorf("a line is %d columns wide, more than %d: %q", n, width, l)
					}
				}
				socketRows := tableRows(socks, []string{"SOCKET", "PROTO", "LOCAL", "REMOTE", "STATE", "RECV-Q", "SEND-Q", "READY"},
					[]string{"LOCAL", "REMOTE", "RECV-Q", "SEND-Q", "READY"}, regexp.MustCompile(`^  \S+ \(fd \d+\)`))
				portRows := tableRows(ports, []string{"PROTO", "LOCAL", "REMOTE", "STATE", "RECV-Q", "SEND-Q", "THIS SESSION"},
					[]string{"LOCAL", "REMOTE", "RECV-Q", "SEND-Q"}, regexp.MustCompile(`^  (tcp|udp) `))
				for _, name := range names {
					sock := mustFind(t, s, name)
					local, remote := kernelAddr(t, sock.FD, unix.Getsockname), kernelAddr(t, sock.FD, unix.Getpeername)
					kind, _ := unix.GetsockoptInt(sock.FD, unix.SOL_SOCKET, unix.SO_TYPE)
					state, inq := "LISTEN", 0
					if kind == unix.SOCK_STREAM {
						info, err := unix.GetsockoptTCPInfo(sock.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
						if err != nil {
							t.Fatal(err)
						}
						state = map[uint8]string{unix.BPF_TCP_ESTABLISHED: "ESTABLISHED", unix.BPF_TCP_LISTEN: "LISTEN"}[info.State]
						if state == "LISTEN" {
							inq = int(info.Unacked) // a listener's accept queue
						}
					} else {
						state = "bound"
					}
					label := fmt.Sprintf("%s (fd %d)", name, sock.FD)
					want := map[string]string{"SOCKET": label, "LOCAL": local, "REMOTE": remote}
					i := slices.IndexFunc(socketRows, func(r map[string]string) bool { return r["SOCKET"] == label })
					switch {
					case i < 0:
						t.Errorf("sockets: no row for %s in\n%s", label, socks)
					case state == "LISTEN":
						want["STATE"] = fmt.Sprintf("LISTEN %d/128", inq)
					default:
						want["STATE"], want["RECV-Q"], want["SEND-Q"] = state, "0", "0"
					}
					for h, v := range want {
						if i >= 0 && socketRows[i][h] != v {
							t.Errorf("sockets: %s's %s is %q, the kernel says %q:\n%s", label, h, socketRows[i][h], v, socks)
						}
					}
					if name == "u" {
						continue // ports 'port' lists the TCP port only
					}
					state = strings.Fields(want["STATE"])[0]
					if v6only, err := unix.GetsockoptInt(sock.FD, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err == nil && v6only == 0 && strings.HasPrefix(local, "[::]:") {
						local = "*:" + strings.TrimPrefix(local, "[::]:") // it takes IPv4 too, as ss shows it
					}
					j := slices.IndexFunc(portRows, func(r map[string]string) bool { return r["LOCAL"] == local && r["REMOTE"] == remote })
					switch {
					case j < 0:
						t.Errorf("ports: no row from %s to %s in\n%s", local, remote, ports)
					case portRows[j]["STATE"] != state || portRows[j]["RECV-Q"] != strconv.Itoa(inq) || portRows[j]["THIS SESSION"] != label:
						t.Errorf("ports: the row of %s is %v, the kernel says %s with %d queued:\n%s", label, portRows[j], state, inq, ports)
					}
				}
			})
		}
	}
}

// tableSession is a session width wide with a listener (on :: for
// ipv6, which IPv4 reaches too), a client over IPv4 and the connection
// accepted, a bound UDP socket and, for ipv6, a connection over IPv6 left
// in the accept queue. It returns the listener's port and the sockets'
// names.
func tableSession(t *testing.T, width int, family string) (*Session, *strings.Builder, int, []string) {
	t.Helper()
	out := new(strings.Builder)
	s := New(out, Options{Width: width})
	t.Cleanup(s.Close)
	port := freePort(t)
	host := map[string]string{"ipv4": "127.0.0.1", "ipv6": "::"}[family]
	lines := []string{"socket tcp " + family + " as server", fmt.Sprintf("bind server %s %d", host, port), "listen server",
		"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept server as conn",
		"socket udp " + family + " as u", "bind u " + map[string]string{"ipv4": "127.0.0.1", "ipv6": "::1"}[family] + " 0"}
	names := []string{"server", "client", "conn", "u"}
	if family == "ipv6" {
		lines = append(lines, "socket tcp ipv6 as c6", fmt.Sprintf("connect c6 ::1 %d", port))
		names = append(names, "c6")
	}
	mustEval(t, s, lines...)
	return s, out, port, names
}

// TestShowFitsTheWidth: at every width, with IPv4, IPv6 and IPv4-mapped
// addresses, no line of `show` is wider than the session, and it gives
// the socket's addresses as getsockname and getpeername do and its state
// as TCP_INFO does.
func TestShowFitsTheWidth(t *testing.T) {
	for _, width := range []int{40, 60, 80, 100} {
		for _, family := range []string{"ipv4", "ipv6"} {
			t.Run(fmt.Sprint(width, "/", family), func(t *testing.T) {
				s, out, _, names := tableSession(t, width, family)
				for _, name := range names {
					got, err := evalOut(s, out, "show "+name)
					if err != nil {
						t.Fatal(err)
					}
					for _, l := range strings.Split(got, "\n") {
						if n := utf8.RuneCountInString(l); n > width {
							t.Errorf("show %s: a line is %d columns wide, more than %d: %q", name, n, width, l)
						}
					}
					fd := mustFind(t, s, name).FD
					want := []string{"local " + kernelAddr(t, fd, unix.Getsockname)}
					if remote := kernelAddr(t, fd, unix.Getpeername); remote != "—" {
						want = append(want, "remote "+remote)
					}
					if info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
						state := map[uint8]string{unix.BPF_TCP_ESTABLISHED: "ESTABLISHED", unix.BPF_TCP_LISTEN: "LISTEN"}[info.State]
						want = append(want, "state "+state)
						if state == "LISTEN" {
							want = append(want, fmt.Sprintf("accept queue %d of backlog 128", info.Unacked))
						} else {
							want = append(want, "recv-q 0 bytes", "send-q 0 bytes")
						}
					}
					flat := strings.Join(strings.Fields(got), " ")
					for _, w := range want {
						if !strings.Contains(flat, w) {
							t.Errorf("show %s: got\n%s\nwant %q, as the kernel says", name, got, w)
						}
					}
				}
			})
		}
	}
}

// kernelAddr is the address get (getsockname or getpeername) gives for
// fd, as the tables write it: "—" for none.
func kernelAddr(t *testing.T, fd int, get func(int) (unix.Sockaddr, error)) string {
	t.Helper()
	sa, err := get(fd)
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		if err == nil {
			return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)).String()
		}
	case *unix.SockaddrInet6:
		if err == nil {
			return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)).String()
		}
	}
	return "—"
}
