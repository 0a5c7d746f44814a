package steps

import (
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netnsEnv names, in the run of a test that inNetns starts, the test it
// runs in a network namespace of its own.
const netnsEnv = "SOCKSTEP_TEST_NETNS"

// inNetns runs the calling test again, alone, in a network namespace of
// its own (unshare -rn) whose only interface is the loopback, brought up:
// there nothing has a route off the machine, so an address no route leads
// to can be tried without sending anything anywhere. It returns true in
// that run, which goes on with the test, and false in the first, once
// the other has passed. It skips the test where no namespace can be made.
func inNetns(t *testing.T) bool {
	t.Helper()
	if !inNetnsLoopbackDown(t) {
		return false
	}
	bringUp(t, loopbackOnly(t))
	return true
}

// inNetnsLoopbackDown is inNetns with the loopback left down, as a new
// namespace has it.
func inNetnsLoopbackDown(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) == t.Name() {
		if lo := loopbackOnly(t); lo.Flags&net.FlagUp != 0 {
			t.Fatalf("%s is up in a new network namespace; the test wants it down", lo.Name)
		}
		return true
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare is not on PATH, so no network namespace with no route out can be made for this test")
	}
	if out, err := exec.Command(unshare, "-rn", "true").CombinedOutput(); err != nil {
		t.Skipf("unshare -rn cannot make a network namespace here (%v: %s), so the test cannot run without a route out", err, strings.TrimSpace(string(out)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "-rn", os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), netnsEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("in a network namespace of its own (%v):\n%s", err, out)
	}
	return false
}

// ipOnPath is the path of ip (iproute2); without it the test is skipped,
// saying why it needs it.
func ipOnPath(t *testing.T, why string) string {
	t.Helper()
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("ip (iproute2) is not on PATH, so " + why)
	}
	return ip
}

// loopbackOnly returns the loopback interface of the namespace, after
// checking that it is the only interface there.
func loopbackOnly(t *testing.T) net.Interface {
	t.Helper()
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 1 || ifaces[0].Flags&net.FlagLoopback == 0 {
		t.Fatalf("the namespace has the interfaces %v; the test runs only where the loopback is the only one", ifaces)
	}
	return ifaces[0]
}

// bringUp brings an interface up, as ip link set NAME up does.
func bringUp(t *testing.T, iface net.Interface) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	req, err := unix.NewIfreq(iface.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, req); err != nil {
		t.Fatal(err)
	}
	req.SetUint16(req.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, req); err != nil {
		t.Fatalf("bringing %s up: %v", iface.Name, err)
	}
}

// TestNoRouteFixFitsTheFamily: where no route leads to an address, connect
// and sendto fail with ENETUNREACH, for IPv4 and IPv6 alike. The fix names
// a command that finds the route to an address of either family, and the
// loopback address of the socket's own family, which reaches a socket
// there.
func TestNoRouteFixFitsTheFamily(t *testing.T) {
	if !inNetns(t) {
		return
	}
	ip := ipOnPath(t, "the command the fix names cannot be tried")
	cases := []struct {
		family   string
		nowhere  string // an address of a documentation range, which no route reaches in the namespace
		loopback string
	}{
		{"ipv4", "192.0.2.1", "127.0.0.1"},
		{"ipv6", "2001:db8::1", "::1"},
	}
	for _, c := range cases {
		// What the command the fix names says, for the address and for the loopback.
		none, err := exec.Command(ip, "route", "get", c.nowhere).CombinedOutput()
		if err == nil || !strings.Contains(string(none), "unreachable") {
			t.Errorf("ip route get %s: %v %s; want it to say the network is unreachable", c.nowhere, err, none)
		}
		if out, err := exec.Command(ip, "route", "get", c.loopback).CombinedOutput(); err != nil || !strings.Contains(string(out), "dev lo") {
			t.Errorf("ip route get %s: %v %s; want the route through lo", c.loopback, err, out)
		}

		l := newLab(t)
		run(t, l, "socket", "udp", c.family, "as", "server")
		run(t, l, "bind", "server", c.loopback, "0")
		port := portOf(t, l, "server")
		run(t, l, "socket", "udp", c.family, "as", "u")
		run(t, l, "socket", "tcp", c.family, "as", "t")
		for _, call := range [][]string{{"sendto", "u", c.nowhere, "9", "hi"}, {"connect", "t", c.nowhere, "9"}} {
			rep := refused(t, l, unix.ENETUNREACH, call[0], call[1:]...)
			for _, want := range []string{"ip route get ADDRESS", c.loopback} {
				if !strings.Contains(rep.Failure.Fix, want) {
					t.Errorf("%s %s: fix %q; want it to name %q", c.family, call, rep.Failure.Fix, want)
				}
			}
		}
		run(t, l, "sendto", "u", c.loopback, port, "hi")
		if rep := run(t, l, "recvfrom", "server"); !strings.Contains(rep.Says, "2 bytes") {
			t.Errorf("%s: the datagram to %s did not arrive: %s", c.family, c.loopback, rep.Says)
		}
	}
}

// TestHostUnreachableFixNamesACommandThatWorks: a route of type
// unreachable makes connect and sendto fail with EHOSTUNREACH, for IPv4
// and IPv6 alike. The fix names a command that is on this machine and
// says, for that address, that there is no route to the host.
func TestHostUnreachableFixNamesACommandThatWorks(t *testing.T) {
	if !inNetns(t) {
		return
	}
	ip := ipOnPath(t, "no unreachable route can be made")
	cases := []struct {
		family, route, to string
	}{
		{"ipv4", "192.0.2.0/24", "192.0.2.1"},
		{"ipv6", "2001:db8::/32", "2001:db8::1"},
	}
	for _, c := range cases {
		if out, err := exec.Command(ip, "route", "add", "unreachable", c.route).CombinedOutput(); err != nil {
			t.Fatalf("ip route add unreachable %s: %v %s", c.route, err, out)
		}
		l := newLab(t)
		run(t, l, "socket", "udp", c.family, "as", "u")
		run(t, l, "socket", "tcp", c.family, "as", "t")
		for _, call := range [][]string{{"sendto", "u", c.to, "9", "hi"}, {"connect", "t", c.to, "9"}} {
			failure := refused(t, l, unix.EHOSTUNREACH, call[0], call[1:]...).Failure
			if call[0] == "connect" && !strings.Contains(failure.ForStep, "the route says unreachable") {
				t.Errorf("%s %s: %q does not name the unreachable route this machine has", c.family, call, failure.ForStep)
			}
			fix := failure.Fix
			m := regexp.MustCompile(`\b(ip route get|ping)\b`).FindStringSubmatch(fix)
			if m == nil {
				t.Errorf("%s %s: fix %q names no command to try", c.family, call, fix)
				continue
			}
			words := append(strings.Fields(m[1]), c.to)
			path, err := exec.LookPath(words[0])
			if err != nil {
				t.Errorf("%s %s: fix %q names %s, which is not on this machine", c.family, call, fix, words[0])
				continue
			}
			out, _ := exec.Command(path, words[1:]...).CombinedOutput()
			if !strings.Contains(string(out), "No route to host") {
				t.Errorf("%s %s: the fix's %q says %q; want it to say there is no route to the host", c.family, call, strings.Join(words, " "), out)
			}
		}
	}
}

// TestSendtoLinkLocalNamesTheInterface: with two interfaces that have
// link-local routes (a veth pair, inside the namespace), a sendto to a
// link-local address with no interface succeeds, where connect refuses
// it. sendto says so, and names a command that gives the interface the
// kernel took: the one whose count of packets sent grows (the neighbour
// solicitations for the address).
func TestSendtoLinkLocalNamesTheInterface(t *testing.T) {
	if !inNetns(t) {
		return
	}
	ip := ipOnPath(t, "no second interface can be made")
	// No duplicate address detection: the link-local addresses are usable
	// at once, rather than a second or two after the interfaces come up.
	if err := os.WriteFile("/proc/sys/net/ipv6/conf/default/accept_dad", []byte("0"), 0); err != nil {
		t.Skipf("cannot turn off duplicate address detection in the namespace: %v", err)
	}
	if out, err := exec.Command(ip, "link", "add", "v0", "type", "veth", "peer", "name", "v1").CombinedOutput(); err != nil {
		t.Skipf("no veth pair can be made in the namespace (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	for _, dev := range []string{"v0", "v1"} {
		if out, err := exec.Command(ip, "link", "set", dev, "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set %s up: %v %s", dev, err, out)
		}
	}
	// The kernel adds an interface's fe80::/64 route a moment after the
	// interface comes up, not as ip link set returns.
	const to = "fe80::1"
	var (
		route []byte
		dev   [][]byte
		err   error
	)
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		route, err = exec.Command(ip, "route", "get", to).CombinedOutput()
		dev = regexp.MustCompile(`\bdev (v[01])\b`).FindSubmatch(route)
		if err == nil && dev != nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || dev == nil {
		t.Fatalf("ip route get %s: %v %s; want a route through v0 or v1 within 3s of bringing them up", to, err, route)
	}
	sentBy := func() int {
		out, err := exec.Command(ip, "-s", "link", "show", string(dev[1])).Output()
		m := regexp.MustCompile(`TX:[^\n]*\n\s*\d+\s+(\d+)`).FindSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("ip -s link show %s: %v %s", dev[1], err, out)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	before := sentBy()

	l := newLab(t)
	run(t, l, "socket", "udp", "ipv6", "as", "c")
	refused(t, l, unix.EINVAL, "connect", "c", to, "9")
	run(t, l, "socket", "udp", "ipv6", "as", "s")
	rep := run(t, l, "sendto", "s", to, "9", "hi")
	says := strings.Join(strings.Fields(rep.Says), " ")
	for _, want := range []string{"link-local", "connect and bind refuse that; sendto does not", "ip route get " + to} {
		if !strings.Contains(says, want) {
			t.Errorf("sendto %s: says %q; want %q", to, says, want)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for sentBy() == before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if sentBy() == before {
		t.Errorf("nothing went out of %s, which ip route get %s names", dev[1], to)
	}
}
