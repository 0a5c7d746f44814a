package steps

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLoopbackDownBindSaysNothingHereReachesIt: in a network namespace
// whose loopback interface is down, bind to every interface or to
// 127.0.0.1 succeeds, yet nothing on this machine reaches the socket: a
// connect or sendto to it through 127.0.0.1 fails with ENETUNREACH, and
// through ::1 with EADDRNOTAVAIL. So bind says lo is down and names the
// command that brings it up, instead of offering ::1 or 127.0.0.1 as the
// way to keep the socket to this machine. Once lo is up it offers them.
func TestLoopbackDownBindSaysNothingHereReachesIt(t *testing.T) {
	if !inNetnsLoopbackDown(t) {
		return
	}
	lo := loopbackOnly(t)
	tests := []struct {
		kind, family, host string
		upSays             string // what it says only once lo is up, if anything
	}{
		{"udp", "ipv6", "", "To keep it to this machine, bind to ::1 instead."},
		{"tcp", "ipv6", "::", "To keep it to this machine, bind to ::1 instead."},
		{"udp", "ipv4", "", "To keep it to this machine, bind to 127.0.0.1 instead."},
		{"tcp", "ipv4", "127.0.0.1", ""},
	}
	downSays := []string{"The loopback interface, " + lo.Name + ", is down", "`ip link set " + lo.Name + " up`"}
	for _, up := range []bool{false, true} {
		if up {
			bringUp(t, lo)
		}
		for _, tt := range tests {
			l := newLab(t)
			run(t, l, "socket", tt.kind, tt.family, "as", "s")
			says := run(t, l, "bind", "s", tt.host, "0").Says
			for _, want := range downSays {
				if strings.Contains(says, want) != !up {
					t.Errorf("%s %s bound to %q, lo up %v: says %q; want %q only while lo is down", tt.kind, tt.family, tt.host, up, says, want)
				}
			}
			if tt.upSays != "" && strings.Contains(says, tt.upSays) != up {
				t.Errorf("%s %s bound to %q, lo up %v: says %q; want %q only while lo is up", tt.kind, tt.family, tt.host, up, says, tt.upSays)
			}
			if up {
				continue
			}
			// What it says, checked: nothing here reaches the socket.
			port := portOf(t, l, "s")
			if tt.kind == "tcp" {
				run(t, l, "listen", "s")
			}
			for _, to := range []struct {
				family, host string
				refusal      unix.Errno
			}{{"ipv4", "127.0.0.1", unix.ENETUNREACH}, {"ipv6", "::1", unix.EADDRNOTAVAIL}} {
				if tt.family == "ipv4" && to.family == "ipv6" {
					continue
				}
				run(t, l, "socket", tt.kind, to.family, "as", "c")
				if tt.kind == "tcp" {
					refused(t, l, to.refusal, "connect", "c", to.host, port)
				} else {
					refused(t, l, to.refusal, "sendto", "c", to.host, port, "hi")
				}
				run(t, l, "close", "c")
			}
			if tt.family == "ipv6" {
				run(t, l, "socket", tt.kind, "ipv6", "as", "b")
				refused(t, l, unix.EADDRNOTAVAIL, "bind", "b", "::1", "0")
			}
		}
	}
}

// takeLoopbackDown runs ip link set lo down, as a learner would after lo
// was up, and returns a function that runs ip with other arguments and
// returns what it printed.
func takeLoopbackDown(t *testing.T, lo string) (ip func(args ...string) string) {
	t.Helper()
	path := ipOnPath(t, "the loopback cannot be taken down as a learner would")
	ip = func(args ...string) string {
		t.Helper()
		out, err := exec.Command(path, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	ip("link", "set", lo, "down")
	return ip
}

// saysLoopbackDown checks that text says lo is down and names the command
// that brings it up.
func saysLoopbackDown(t *testing.T, what, text, lo string) {
	t.Helper()
	for _, want := range []string{"the loopback interface, " + lo + ", is down", "`ip link set " + lo + " up`"} {
		if !strings.Contains(text, want) {
			t.Errorf("%s: says %q; want %q", what, text, want)
		}
	}
}

// TestLoopbackTakenDownConnectSaysWhy: where lo was up and is taken down,
// 127.0.0.1 keeps its address and routes, so a connect there is not
// refused: its SYNs are dropped, and it waits in SYN_SENT, for a listener
// and for a port where nothing listens alike. Each way a connect can wait
// (non-blocking, SO_SNDTIMEO, --timeout) says lo is down and names the
// command that brings it up, and suggests no accept, which would wait
// too. Then the commands the explanation names are checked, and once lo
// is up the handshake left in SYN_SENT completes.
func TestLoopbackTakenDownConnectSaysWhy(t *testing.T) {
	if !inNetns(t) {
		return
	}
	lo := loopbackOnly(t).Name
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	ip := takeLoopbackDown(t, lo)
	tests := []struct {
		name    string
		option  []string // set on the client before connect
		connect []string
	}{
		{"non-blocking", []string{"O_NONBLOCK", "on"}, []string{"127.0.0.1", port}},
		{"SO_SNDTIMEO", []string{"SO_SNDTIMEO", "200ms"}, []string{"127.0.0.1", port}},
		{"--timeout", nil, []string{"127.0.0.1", port, "--timeout", "200ms"}},
		{"--timeout, where nothing listens", nil, []string{"127.0.0.2", port, "--timeout", "200ms"}},
	}
	for i, tt := range tests {
		c := "c" + strconv.Itoa(i)
		run(t, l, "socket", "tcp", "as", c)
		if tt.option != nil {
			run(t, l, "option", append([]string{c}, tt.option...)...)
		}
		rep, err := try(t, l, "connect", append([]string{c}, tt.connect...)...)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		saysLoopbackDown(t, tt.name, rep.Says, lo)
		if strings.HasPrefix(rep.Next, "accept") {
			t.Errorf("%s: got next %q; want no accept, which would wait for a SYN that lo drops", tt.name, rep.Next)
		}
	}

	// What the explanation says, checked with the commands it names.
	if out := ip("route", "get", "127.0.0.1"); !strings.Contains(out, "local") || !strings.Contains(out, "dev "+lo) {
		t.Errorf("ip route get 127.0.0.1: %q; want local, dev %s", out, lo)
	}
	stats := strings.Fields(ip("-s", "link", "show", lo))
	if i := slices.Index(stats, "collsns"); i < 0 || i+4 >= len(stats) || stats[i+4] == "0" {
		t.Errorf("ip -s link show %s: %q; want a count of TX dropped above 0", lo, stats)
	}
	ip("link", "set", lo, "up")
	c := sock(t, l, "c0") // non-blocking, left in SYN_SENT
	for deadline := time.Now().Add(10 * time.Second); Read(c).State != Established; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s is %s 10s after ip link set %s up; want its handshake done by the SYN sent again", c.Name, Read(c).State, lo)
		}
	}
}

// TestLoopbackTakenDownConnectTimesOut: where lo was up and is taken
// down, a blocking connect to 127.0.0.1 ends in ETIMEDOUT once the
// kernel stops sending SYNs (one retry here, net.ipv4.tcp_syn_retries=1,
// so it takes 3 seconds, not 2 minutes). The refusal says why, lo is
// down, and names the command that brings it up, not a firewall.
func TestLoopbackTakenDownConnectTimesOut(t *testing.T) {
	if !inNetns(t) {
		return
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/tcp_syn_retries", []byte("1"), 0); err != nil {
		t.Skipf("net.ipv4.tcp_syn_retries cannot be set in this namespace (%v), and the default makes connect wait two minutes", err)
	}
	lo := loopbackOnly(t).Name
	l := newLab(t)
	port := listener(t, l, families[0], "server")
	takeLoopbackDown(t, lo)
	run(t, l, "socket", "tcp", "as", "c")
	f := refused(t, l, unix.ETIMEDOUT, "connect", "c", "127.0.0.1", port, "--timeout", "20s").Failure
	if want := "the loopback interface, " + lo + ", is down"; !strings.Contains(f.ForStep, want) {
		t.Errorf("ETIMEDOUT: says %q; want %q", f.ForStep, want)
	}
	if want := "`ip link set " + lo + " up`"; !strings.Contains(f.Fix, want) {
		t.Errorf("ETIMEDOUT: fix %q; want %q", f.Fix, want)
	}
}
