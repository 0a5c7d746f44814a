package steps

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLoopbackDownNamesTheInterface: in a network namespace whose
// loopback interface is down, as unshare -rn makes it, ::1 is gone, so
// bind, connect and sendto there fail with EADDRNOTAVAIL; no route leads
// to 127.0.0.1, so connect and sendto there fail with ENETUNREACH, while a
// bind there succeeds. Each refusal says the loopback is down and names
// the command that brings it up; once that command has run, as the fix
// writes it, the same calls reach a socket on the loopback.
func TestLoopbackDownNamesTheInterface(t *testing.T) {
	if !inNetnsLoopbackDown(t) {
		return
	}
	ip := ipOnPath(t, "the commands the explanation names cannot be tried")
	lo := loopbackOnly(t).Name
	ipSays := func(args ...string) string {
		out, _ := exec.Command(ip, args...).CombinedOutput()
		return string(out)
	}
	cases := []struct {
		family, loopback string
		refusal          unix.Errno
		bindRefused      bool
	}{
		{"ipv4", "127.0.0.1", unix.ENETUNREACH, false},
		{"ipv6", "::1", unix.EADDRNOTAVAIL, true},
	}

	// What the explanation says of the interface, checked with the
	// commands it names.
	if out := ipSays("addr", "show", lo); strings.Contains(out, "inet6") {
		t.Errorf("ip addr show %s: %q; want no IPv6 address while it is down", lo, out)
	}
	if out := ipSays("route", "get", "127.0.0.1"); !strings.Contains(out, "unreachable") {
		t.Errorf("ip route get 127.0.0.1: %q; want it to say the network is unreachable", out)
	}

	var bringUp string // the fix's command
	for _, c := range cases {
		l := newLab(t)
		run(t, l, "socket", "udp", c.family, "as", "u")
		run(t, l, "socket", "tcp", c.family, "as", "t")
		run(t, l, "socket", "udp", c.family, "as", "b")
		calls := [][]string{{"sendto", "u", c.loopback, "9", "hi"}, {"connect", "t", c.loopback, "9"}}
		if c.bindRefused {
			calls = append(calls, []string{"bind", "b", c.loopback, "0"})
		} else {
			run(t, l, "bind", "b", c.loopback, "0")
		}
		for _, call := range calls {
			f := refused(t, l, c.refusal, call[0], call[1:]...).Failure
			if want := "The loopback interface, " + lo + ", is down"; !strings.Contains(f.ForStep, want) {
				t.Errorf("%s %s: says %q; want %q", c.family, call, f.ForStep, want)
			}
			m := regexp.MustCompile("`(ip link set " + regexp.QuoteMeta(lo) + " up)`").FindStringSubmatch(f.Fix)
			if m == nil {
				t.Errorf("%s %s: fix %q; want it to name ip link set %s up", c.family, call, f.Fix, lo)
				continue
			}
			bringUp = m[1]
		}
	}
	if bringUp == "" {
		t.FailNow()
	}

	words := strings.Fields(bringUp)
	if out, err := exec.Command(ip, words[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v %s", bringUp, err, out)
	}
	if out := ipSays("addr", "show", lo); !strings.Contains(out, "127.0.0.1") || !strings.Contains(out, "::1") {
		t.Errorf("ip addr show %s after %s: %q; want 127.0.0.1 and ::1", lo, bringUp, out)
	}
	for _, c := range cases {
		l := newLab(t)
		run(t, l, "socket", "udp", c.family, "as", "server")
		run(t, l, "bind", "server", c.loopback, "0")
		run(t, l, "socket", "udp", c.family, "as", "u")
		run(t, l, "sendto", "u", c.loopback, portOf(t, l, "server"), "hi")
		if rep := run(t, l, "recvfrom", "server"); !strings.Contains(rep.Says, "2 bytes") {
			t.Errorf("%s: the datagram to %s did not arrive: %s", c.family, c.loopback, rep.Says)
		}
		port := listener(t, l, family{c.family, c.loopback}, "listener")
		run(t, l, "socket", "tcp", c.family, "as", "t")
		run(t, l, "connect", "t", c.loopback, port)
	}
}

// TestLoopbackDownSuggestsNoLoopback: in a network namespace whose
// loopback interface is down, the steps whose next suggestion names
// 127.0.0.1 or ::1 (a bind there, a connect or sendto to it) suggest
// quit instead and say why: no call reaches those addresses, and ::1
// cannot be bound. The same steps name the loopback once it is up.
func TestLoopbackDownSuggestsNoLoopback(t *testing.T) {
	if !inNetnsLoopbackDown(t) {
		return
	}
	lo := loopbackOnly(t)
	tests := []struct {
		name  string
		setup [][]string
		step  []string
	}{
		{"an IPv6 UDP socket", nil, []string{"socket", "udp", "ipv6", "as", "u"}},
		{"an IPv4 UDP socket", nil, []string{"socket", "udp", "as", "u"}},
		{"a TCP socket", nil, []string{"socket", "tcp", "as", "t"}},
		{"a UDP socket bound", [][]string{{"socket", "udp", "ipv6", "as", "u"}}, []string{"bind", "u", "", "0"}},
		{"a listener", [][]string{{"socket", "tcp", "as", "t"}, {"bind", "t", "127.0.0.1", "0"}}, []string{"listen", "t"}},
		{"an option set before bind", [][]string{{"socket", "tcp", "as", "t"}}, []string{"option", "t", "SO_REUSEADDR", "on"}},
	}
	for _, up := range []bool{false, true} {
		if up {
			bringUp(t, lo)
		}
		for _, tt := range tests {
			l := newLab(t)
			for _, step := range tt.setup {
				run(t, l, step[0], step[1:]...)
			}
			next := run(t, l, tt.step[0], tt.step[1:]...).Next
			switch {
			case up && !namesLoopback(next):
				t.Errorf("%s, %s up: got next %q, want it to name the loopback", tt.name, lo.Name, next)
			case !up && (!strings.HasPrefix(next, "quit ") || !strings.Contains(next, "interface, "+lo.Name+", is down")):
				t.Errorf("%s, %s down: got next %q, want quit, and why: %s is down", tt.name, lo.Name, next, lo.Name)
			}
		}
	}
}
