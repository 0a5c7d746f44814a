package steps

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestConnectRefusedSaysWhoRefused makes, in a network namespace of its
// own, TCP connects that the kernel refuses for causes other than a
// missing listener of this machine, and checks that the report says only
// what is true of each: a listener on 0.0.0.0 bound to another interface
// (SO_BINDTODEVICE) takes 127.0.0.1, yet this kernel resets the SYN that
// comes in on lo, and the report names that interface, v0, whose address
// the listener takes, as the fix says; 192.0.2.2, an address of a second namespace at the
// other end of a veth pair where nothing listens, is not this machine's,
// so its refusal cannot be told from a firewall's. The fix's advice on
// trying again is checked too: after connect itself was refused, the
// same socket connects again (and is refused again, not ECONNABORTED);
// after recv reported the refusal, its next connect fails with
// ECONNABORTED, as the fix says.
func TestConnectRefusedSaysWhoRefused(t *testing.T) {
	if !inNetns(t) {
		return
	}
	ip := ipOnPath(t, "no second interface can be made")
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		t.Skip("nsenter is not on PATH, so no address of a second namespace can be set up")
	}
	if out, err := exec.Command(ip, "link", "add", "v0", "type", "veth", "peer", "name", "v1").CombinedOutput(); err != nil {
		t.Skipf("no veth pair can be made in the namespace (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	// The second namespace lives as long as a sleep in it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	other := exec.CommandContext(ctx, "unshare", "-n", "sleep", "30")
	if err := other.Start(); err != nil {
		t.Fatalf("unshare -n sleep 30: %v", err)
	}
	defer other.Wait()
	defer other.Process.Kill()
	pid := strconv.Itoa(other.Process.Pid)
	sh := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v %s", name, strings.Join(args, " "), err, out)
		}
	}
	// Until unshare -n has made its namespace, the process is still in
	// this one, and moving v1 to it would leave v1 here.
	ours, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if theirs, err := os.Readlink("/proc/" + pid + "/ns/net"); err == nil && theirs != ours {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("unshare -n (pid %s) made no namespace of its own within 3s: %s, %v", pid, theirs, err)
		}
	}
	sh(ip, "link", "set", "v1", "netns", pid)
	sh(ip, "addr", "add", "192.0.2.1/24", "dev", "v0")
	sh(ip, "link", "set", "v0", "up")
	for _, args := range [][]string{{"addr", "add", "192.0.2.2/24", "dev", "v1"}, {"link", "set", "v1", "up"}} {
		sh(nsenter, append([]string{"-t", pid, "-n", "--preserve-credentials", ip}, args...)...)
	}

	// A listener outside the lab, on 0.0.0.0 but bound to v0.
	const boundPort = 23520
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.BindToDevice(fd, "v0"); err != nil {
		t.Skipf("SO_BINDTODEVICE v0: %v", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: boundPort}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 5); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, host, port string
		says, fix        []string
		packet           string // the diagram's answer to the SYN
		fixHost          string // where the fix's connect, which must succeed, goes
	}{
		{name: "listener bound to another interface", host: "127.0.0.1", port: strconv.Itoa(boundPort),
			says: []string{"A listener covers this address, but not the interface the SYN came in on: a socket outside this session listens at port 23520 on 0.0.0.0, which covers 127.0.0.1:23520",
				"tied to interface v0 (SO_BINDTODEVICE)", "connections to an address of v0", "answered it with a reset (RST)"},
			fix: []string{"Connect to an address of v0 (`ip addr show v0`)", "without SO_BINDTODEVICE"}, packet: "RST", fixHost: "192.0.2.1"},
		{name: "address of another machine", host: "192.0.2.2", port: "23521",
			says: []string{"192.0.2.2:23521 is not an address of this machine", "nothing listens there", "a firewall on the way"},
			fix:  []string{"On that machine, `ss -tlnp`"}, packet: "RST or ICMP unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "tcp", "as", "c")
			rep := refused(t, l, unix.ECONNREFUSED, "connect", "c", tc.host, tc.port)
			says := strings.Join(strings.Fields(rep.Failure.ForStep), " ")
			fix := strings.Join(strings.Fields(rep.Failure.Fix), " ")
			if strings.Contains(says, "Nothing listens") {
				t.Errorf("got %q, want no claim that nothing listens", says)
			}
			for _, want := range tc.says {
				if !strings.Contains(says, want) {
					t.Errorf("got %q, want it to say %q", says, want)
				}
			}
			for _, want := range append(tc.fix, "Then connect again") {
				if !strings.Contains(fix, want) {
					t.Errorf("got fix %q, want it to say %q", fix, want)
				}
			}
			if p := rep.Packets; len(p) == 0 || p[len(p)-1].What != tc.packet {
				t.Errorf("got packets %v, want the answer to be %s", p, tc.packet)
			}
			// The fix is true: the same socket tries again, and is refused
			// again; where the fix names an address, it reaches the listener.
			refused(t, l, unix.ECONNREFUSED, "connect", "c", tc.host, tc.port)
			if tc.fixHost != "" {
				run(t, l, "socket", "tcp", "as", "fixed")
				run(t, l, "connect", "fixed", tc.fixHost, tc.port)
			}

			// Refused after EINPROGRESS, and reported by recv.
			run(t, l, "socket", "tcp", "as", "later")
			run(t, l, "option", "later", "O_NONBLOCK", "on")
			if rep, err := try(t, l, "connect", "later", tc.host, tc.port); err != nil || !strings.HasSuffix(rep.Call, "= -1 EINPROGRESS") {
				t.Fatalf("connect: got %q, %v, want EINPROGRESS", rep.Call, err)
			}
			later := sock(t, l, "later")
			for end := time.Now().Add(time.Second); !errorPending(later.FD); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(end) {
					t.Fatalf("the connect to %s port %s has no error pending after a second", tc.host, tc.port)
				}
			}
			rep = refused(t, l, unix.ECONNREFUSED, "recv", "later")
			says = strings.Join(strings.Fields(rep.Failure.ForStep), " ")
			fix = strings.Join(strings.Fields(rep.Failure.Fix), " ")
			for _, want := range tc.says {
				if !strings.Contains(says, want) {
					t.Errorf("recv: got %q, want it to say %q", says, want)
				}
			}
			for _, want := range append(tc.fix, "connect a new socket", "would fail with ECONNABORTED, once") {
				if !strings.Contains(fix, want) {
					t.Errorf("recv: got fix %q, want it to say %q", fix, want)
				}
			}
			run(t, l, "option", "later", "O_NONBLOCK", "off")
			refused(t, l, unix.ECONNABORTED, "connect", "later", tc.host, tc.port)
		})
	}
}
