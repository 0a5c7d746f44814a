//go:build linux

package steps

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRefusedConnectReportedLater makes a non-blocking TCP connect over
// loopback that returns EINPROGRESS and is then refused, and has recv,
// send (of text, or of --bytes N), recvfrom or sendto meet the
// ECONNREFUSED it leaves. The report
// must say why, as connect's own refusal does: that nothing listens at the
// address the connect went to, or which listener holds the port for the
// other family only; and the fix it gives, followed, must connect.
func TestRefusedConnectReportedLater(t *testing.T) {
	for i, tc := range []struct {
		name string
		// The lab's listener, named server, or "" for none at the port.
		listenOn string
		// The refused client's family and where it connects.
		client, host string
		// What the report must say, and must not (%s: the port), and the
		// fix's connect, from a socket of fixFamily to fixHost.
		says, notSays []string
		fix           []string
		fixFamily     string
		fixHost       string
	}{
		{name: "no listener", client: "ipv6", host: "::1",
			says: []string{"had begun was refused. Nothing listens on [::1]:%s: the kernel there answered the SYN with a reset (RST)",
				"once the server listens"},
			notSays: []string{"takes", "0.0.0.0", "Connect to"}},
		{name: "ipv4 client, no listener", client: "ipv4", host: "127.0.0.1",
			says:    []string{"Nothing listens on 127.0.0.1:%s"},
			notSays: []string{"takes", "Connect to"}},
		{name: "ipv6 client, listener on 0.0.0.0", listenOn: "0.0.0.0", client: "ipv6", host: "::1",
			says: []string{"had begun was refused. Nothing that takes IPv6 listens on [::1]:%s: server (fd",
				"on 0.0.0.0, the IPv4 address for every interface", "takes IPv4 clients only", "IPv6 SYN with a reset"},
			notSays:   []string{"Nothing listens", "once the server listens"},
			fix:       []string{"Connect to 127.0.0.1 %s from an IPv4 socket (socket tcp ipv4)", "a new IPv6 socket bound to ::"},
			fixFamily: "ipv4", fixHost: "127.0.0.1"},
		{name: "ipv4 client, listener on ::1", listenOn: "::1", client: "ipv4", host: "127.0.0.1",
			says:      []string{"Nothing that takes IPv4 listens on 127.0.0.1:%s: server (fd", "on ::1, an IPv6 address", "takes IPv6 clients only"},
			notSays:   []string{"Nothing listens"},
			fix:       []string{"Connect to ::1 %s from an IPv6 socket (socket tcp ipv6)", "in place of ::1"},
			fixFamily: "ipv6", fixHost: "::1"},
	} {
		for j, call := range []struct {
			step string
			args []string // after the socket's name
		}{
			{"recv", nil}, {"send", []string{"hello"}}, {"send", []string{"--bytes", "100000"}},
			{"recvfrom", nil}, {"sendto", []string{tc.host, "%s", "hello"}},
		} {
			step := call.step
			t.Run(tc.name+", "+strings.Join(append([]string{step}, call.args...), " "), func(t *testing.T) {
				port := strconv.Itoa(23110 + 10*i + j)
				l := newLab(t)
				if tc.listenOn != "" {
					family := "ipv6"
					if !strings.Contains(tc.listenOn, ":") {
						family = "ipv4"
					}
					run(t, l, "socket", "tcp", family, "as", "server")
					run(t, l, "option", "server", "SO_REUSEADDR", "on")
					run(t, l, "bind", "server", tc.listenOn, port)
					run(t, l, "listen", "server")
				}
				run(t, l, "socket", "tcp", tc.client, "as", "c")
				run(t, l, "option", "c", "O_NONBLOCK", "on")
				rep, err := try(t, l, "connect", "c", tc.host, port)
				if err != nil || !strings.HasSuffix(rep.Call, "= -1 EINPROGRESS") {
					t.Fatalf("connect: got %q, %v, want EINPROGRESS", rep.Call, err)
				}
				c := sock(t, l, "c")
				for end := time.Now().Add(time.Second); !errorPending(c.FD); time.Sleep(10 * time.Millisecond) {
					if time.Now().After(end) {
						t.Fatalf("the connect to %s port %s has no error pending after a second: the test's premise failed", tc.host, port)
					}
				}
				args := []string{"c"}
				for _, a := range call.args {
					args = append(args, strings.ReplaceAll(a, "%s", port))
				}
				rep = refused(t, l, unix.ECONNREFUSED, step, args...)
				says := strings.Join(strings.Fields(rep.Failure.ForStep), " ")
				fix := strings.Join(strings.Fields(rep.Failure.Fix), " ")
				want := append([]string{"The connect that " + c.Label(), step + " reports the connect's error"}, tc.says...)
				for _, w := range want {
					if w = strings.ReplaceAll(w, "%s", port); !strings.Contains(says, w) {
						t.Errorf("got %q, want it to say %q", says, w)
					}
				}
				for _, not := range tc.notSays {
					if strings.Contains(says, not) || strings.Contains(fix, not) {
						t.Errorf("got %q, fix %q, want no %q in them", says, fix, not)
					}
				}
				for _, w := range tc.fix {
					if w = strings.ReplaceAll(w, "%s", port); !strings.Contains(fix, w) {
						t.Errorf("got fix %q, want it to say %q", fix, w)
					}
				}
				if tc.fixFamily != "" {
					// The fix is true: its connect reaches the listener.
					run(t, l, "socket", "tcp", tc.fixFamily, "as", "fixed")
					run(t, l, "connect", "fixed", tc.fixHost, port)
				}
			})
		}
	}
}
