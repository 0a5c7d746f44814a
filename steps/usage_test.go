package steps

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestUsageErrors gives each step input it cannot run. The answer must be
// a usage error that says what is wrong, and nothing may have happened: no
// system call made, the table and every socket's kernel state as before.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		line []string // the step and its arguments
		want string   // a piece of the message; "" if any message will do
	}{
		{"unknown socket", []string{"bind", "nosuch", "127.0.0.1", "0"}, `"nosuch"`},
		{"unknown fd", []string{"listen", "9999"}, "fd 9999"},
		{"bind with no socket", []string{"bind"}, "which socket"},
		{"bind with no port", []string{"bind", "c"}, "port"},
		{"bind with too much", []string{"bind", "c", "127.0.0.1", "0", "extra"}, ""},
		{"listen with too much", []string{"listen", "c", "5", "6"}, ""},
		{"listen backlog -1", []string{"listen", "c", "-1"}, `"-1"`},
		{"accept with no socket", []string{"accept"}, "which socket should accept? name it"},
		{"option with no socket", []string{"option"}, "which socket? name it"},
		{"accept two sockets", []string{"accept", "server", "c"}, ""},
		{"connect with no port", []string{"connect", "c", "127.0.0.1"}, "port"},
		{"connect with no host", []string{"connect", "c"}, ""},
		{"send with no text", []string{"send", "c"}, "text"},
		{"send --timeout then --bytes", []string{"send", "c", "--timeout", "1s", "--bytes", "10M"}, "--bytes goes straight after the socket"},
		{"send --bytes of no size", []string{"send", "c", "--bytes", "20X"}, `not "20X"`},
		{"send --bytes over 1G", []string{"send", "c", "--bytes", "2G"}, `not "2G"`},
		{"send --bytes with a bad timeout", []string{"send", "c", "--bytes", "1k", "--timeout", "soon"}, `"soon"`},
		{"recv with too much", []string{"recv", "c", "10", "20"}, ""},
		{"close with no socket", []string{"close"}, ""},
		{"close two sockets", []string{"close", "c", "server"}, ""},
		{"socket of no kind", []string{"socket", "sctp"}, `"sctp"`},
		{"socket tcp and udp", []string{"socket", "tcp", "udp"}, ""},
		{"socket tcp twice", []string{"socket", "tcp", "tcp"}, "twice"},

		{"connect to port 0", []string{"connect", "c", "127.0.0.1", "0"}, "port 0"},
		{"connect to port 65536", []string{"connect", "c", "127.0.0.1", "65536"}, "65536"},
		{"bind to port 65536", []string{"bind", "c", "127.0.0.1", "65536"}, "65536"},
		{"connect to port http", []string{"connect", "c", "127.0.0.1", "http"}, "80"},
		{"bind to port http", []string{"bind", "c", "http"}, "80"},
		{"bind to port -1", []string{"bind", "c", "127.0.0.1", "-1"}, "-1"},
		{"connect to port -1", []string{"connect", "c", "127.0.0.1", "-1"}, "-1"},
		{"bind to port of words", []string{"bind", "c", "127.0.0.1", "eighty-one"}, `"eighty-one"`},
		{"bind to port 70000", []string{"bind", "c", "70000"}, "from 0 to 65535 (0: the kernel chooses)"},
		{"bind to port abc", []string{"bind", "c", "abc"}, "from 0 to 65535 (0: the kernel chooses)"},
		{"connect to port 70000", []string{"connect", "c", "127.0.0.1", "70000"}, "from 1 to 65535"},
		{"connect to port abc", []string{"connect", "c", "127.0.0.1", "abc"}, "from 1 to 65535"},
		{"sendto port abc", []string{"sendto", "c", "127.0.0.1", "abc", "hi"}, "from 1 to 65535"},

		{"connect to an unresolvable host", []string{"connect", "c", "no-such-host.invalid", "80"}, "no-such-host.invalid"},
		{"bind to an unresolvable host", []string{"bind", "c", "no-such-host.invalid", "0"}, "no-such-host.invalid"},
		{"bind IPv6 literal on IPv4", []string{"bind", "c", "::1", "0"}, "IPv6"},
		{"connect IPv6 literal on IPv4", []string{"connect", "c", "[::1]", "80"}, "IPv6"},
		{"bind IPv4 literal on IPv6", []string{"bind", "c6", "127.0.0.1", "0"}, "IPv4"},
		{"connect to every interface", []string{"connect", "c", "", "80"}, "every interface"},
		{"connect to *", []string{"connect", "c", "*", "80"}, "every interface"},

		{"name all", []string{"socket", "as", "all"}, `"all"`},
		{"name 3", []string{"socket", "as", "3"}, `"3"`},
		{"name with a space", []string{"socket", "as", "my socket"}, `"my socket"`},
		{"name too long", []string{"socket", "as", strings.Repeat("s", 33)}, "32"},
		{"as with no name", []string{"socket", "as"}, "as"},
		{"as with two names", []string{"socket", "as", "a", "b"}, "as"},
		{"as with an empty name", []string{"socket", "as", ""}, "`as server`"},
		{"accept as an empty name", []string{"accept", "server", "as", ""}, "`as server`"},
		{"duplicate name", []string{"socket", "as", "c"}, "already"},
		{"duplicate name from accept", []string{"accept", "server", "as", "c"}, "already"},

		{"bind after close", []string{"bind", "old", "127.0.0.1", "0"}, "gone"},
		{"listen after close", []string{"listen", "old"}, "gone"},
		{"accept after close", []string{"accept", "old"}, "gone"},
		{"connect after close", []string{"connect", "old", "127.0.0.1", "80"}, "gone"},
		{"send after close", []string{"send", "old", "hello"}, "gone"},
		{"recv after close", []string{"recv", "old"}, "gone"},
		{"close after close", []string{"close", "old"}, "gone"},

		{"recv buffer 0", []string{"recv", "c", "0"}, `"0"`},
		{"recv buffer too large", []string{"recv", "c", fmt.Sprint(MaxBufSize + 1)}, fmt.Sprint(MaxBufSize)},
		{"recv buffer of words", []string{"recv", "c", "lots"}, `"lots"`},

		{"sendto --bytes with text", []string{"sendto", "c", "127.0.0.1", "9", "--bytes", "10", "more"}, "takes no text"},
		{"sendto --bytes with no size", []string{"sendto", "c", "127.0.0.1", "9", "--bytes"}, "takes no text"},
		{"sendto --bytes too large", []string{"sendto", "c", "127.0.0.1", "9", "--bytes=2M"}, fmt.Sprint(MaxDatagramAsk)},
		{"sendto --bytes of words", []string{"sendto", "c", "127.0.0.1", "9", "--bytes", "lots"}, `"lots"`},
		{"option SO_LINGER 0", []string{"option", "c", "SO_LINGER", "0"}, "`on 0`"},
		{"option SO_RCVBUF beyond a C int", []string{"option", "c", "SO_RCVBUF", "5000000000"}, `"5000000000"`},
		{"option SO_RCVTIMEO 1ns", []string{"option", "c", "SO_RCVTIMEO", "1ns"}, `"1ns"`},

		{"timeout of words", []string{"recv", "c", "--timeout", "soon"}, `"soon"`},
		{"timeout 0", []string{"accept", "server", "--timeout", "0"}, `"0"`},
		{"timeout negative", []string{"accept", "server", "--timeout=-1s"}, `"-1s"`},
		{"timeout with no unit", []string{"connect", "c", "127.0.0.1", "80", "--timeout", "5"}, `"5"`},
		{"timeout with no value", []string{"recv", "c", "--timeout"}, "needs a value"},
		{"unknown option", []string{"recv", "c", "--wait", "1s"}, "--wait"},
		{"option where none is known", []string{"bind", "c", "127.0.0.1", "0", "--timeout", "1s"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			listener(t, l, families[0], "server")
			run(t, l, "socket", "as", "c")
			run(t, l, "socket", "ipv6", "as", "c6")
			run(t, l, "socket", "as", "old")
			run(t, l, "close", "old")
			before := viewLab(l)

			allow := forbidCalls(t)
			rep, err := try(t, l, tt.line[0], tt.line[1:]...)
			allow()

			if !IsUsage(err) {
				t.Fatalf("%q: got report %+v and error %v, want a usage error", tt.line, rep, err)
			}
			if rep != nil {
				t.Errorf("%q: got report %q with the usage error, want none", tt.line, rep.Call)
			}
			msg := err.Error()
			checkText(t, "usage", msg)
			if msg == "" || !strings.Contains(msg, tt.want) {
				t.Errorf("%q: got %q, want a message with %q", tt.line, msg, tt.want)
			}
			checkUnchanged(t, strings.Join(tt.line, " "), before, l)
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := map[string]int{"1": 1, "1000": 1000, "64K": 64 << 10, "64k": 64 << 10, "10M": 10 << 20, "10m": 10 << 20, "1G": 1 << 30, "1g": 1 << 30}
	for text, want := range tests {
		if got, err := parseSize(text); got != want || err != nil {
			t.Errorf("parseSize(%q): got %d, %v; want %d", text, got, err, want)
		}
	}
	for _, text := range []string{"", "0", "-1", "K", "1.5M", "2G", "1T", "10 M"} {
		if got, err := parseSize(text); err == nil {
			t.Errorf("parseSize(%q): got %d, want an error", text, got)
		}
	}
}

// TestUsageListsEveryOption asks each step about an option it cannot
// know, and reads from its answer the options it does know: each must be
// in the step's usage line and among the words it completes, after the
// socket or after the words that follow it, or a learner never finds it.
func TestUsageListsEveryOption(t *testing.T) {
	for _, st := range append(Steps(), MoreSteps()...) {
		t.Run(st.Name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "udp", "as", "c")
			_, err := try(t, l, st.Name, "c", "--no-such-option")
			_, known, found := strings.Cut(fmt.Sprint(err), "this command knows ")
			if !found {
				return // it takes no option, or not straight after the socket
			}
			for _, flag := range strings.Split(known, ", ") {
				if !strings.Contains(st.Usage, flag) {
					t.Errorf("%s knows %s, but its usage line does not show it: %s", st.Name, flag, st.Usage)
				}
				offered := false
				for _, before := range [][]string{{"c"}, {"c", "127.0.0.1"}, {"c", "127.0.0.1", "8081"}} {
					offered = offered || slices.Contains(st.Complete(l, before), flag)
				}
				if !offered {
					t.Errorf("%s knows %s, but never completes it", st.Name, flag)
				}
			}
		})
	}
}

// TestIPv4AddressOnAnIPv6SocketSaysTheSameAddress: an IPv4 address given
// to an IPv6 socket is refused with the way to write that same address,
// IPv4-mapped, and a datagram sent there as the refusal says reaches the
// IPv4 socket that holds it.
func TestIPv4AddressOnAnIPv6SocketSaysTheSameAddress(t *testing.T) {
	l := newLab(t)
	run(t, l, "socket", "udp", "ipv4", "as", "r")
	run(t, l, "bind", "r", "127.0.0.1", "0")
	port := portOf(t, l, "r")
	run(t, l, "socket", "udp", "ipv6", "as", "u")
	_, err := try(t, l, "sendto", "u", "127.0.0.1", port, "hello")
	var usage *UsageError
	if !errors.As(err, &usage) {
		t.Fatalf("sendto an IPv4 address from an IPv6 socket: %v, want a usage error", err)
	}
	mapped := regexp.MustCompile(`::ffff:[0-9.]+`).FindString(usage.Problem)
	if mapped == "" || strings.Contains(usage.Problem, "use ::1") {
		t.Fatalf("got %q; want the IPv4-mapped form of the address given, and ::1 not offered in its place", usage.Problem)
	}
	run(t, l, "sendto", "u", mapped, port, "hello")
	if got := run(t, l, "recvfrom", "r", "--timeout", "2s"); string(got.Data) != "hello" {
		t.Errorf("r received %q after sendto %s; want hello", got.Data, mapped)
	}
}
