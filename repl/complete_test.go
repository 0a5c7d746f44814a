package repl

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestComplete(t *testing.T) {
	s := New(io.Discard, Options{})
	defer s.Close()
	for _, line := range []string{"socket as server", "socket udp as sink", "socket as host", "bind host 127.0.0.1 0", "listen host",
		"socket ipv6 as six", "socket udp ipv6 as sink6"} {
		if err := s.Eval(context.Background(), line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	tests := []struct {
		line     string
		want     []string
		wantWord string
	}{
		{"so", []string{"socket", "sockets"}, "so"},
		{"li", []string{"listen"}, "li"},
		{"bind ", []string{"host", "server", "sink", "sink6", "six"}, ""},
		{"bind server ", []string{`""`, "127.0.0.1", "8081", "localhost"}, ""},
		{"bind six ", []string{`""`, "8081", "::1"}, ""},                     // an IPv6 socket refuses 127.0.0.1
		{"bind sink ", []string{`""`, "127.0.0.1", "9090", "localhost"}, ""}, // the port a UDP socket's next line suggests
		{"connect six ", []string{"::1"}, ""},
		{"sendto sink6 ", []string{"::1"}, ""},
		{"bind se", []string{"server"}, "se"},
		{"connect server ", []string{"127.0.0.1", "localhost"}, ""}, // not "", which connect refuses, nor ::1
		{"connect server 127.0.0.1 8081 ", []string{"--timeout"}, ""},
		{"send server ", []string{"--bytes", "--timeout"}, ""},
		{"send server --bytes ", nil, ""}, // a number
		{"send server --bytes 64K ", []string{"--timeout"}, ""},
		{"send server --bytes=64K ", []string{"--timeout"}, ""},
		{"send server --bytes 64K --timeout 1s ", nil, ""},
		{"send server --timeout ", nil, ""},    // a duration
		{"send server --timeout 1s ", nil, ""}, // text; --bytes would be refused here
		{"send server hello ", nil, ""},
		{"shutdown server ", []string{"both", "read", "write"}, ""},
		{"shutdown server read ", nil, ""}, // one direction
		{"recv server ", []string{"--all", "--hex", "--timeout", "1024"}, ""},
		{"recv server 10 ", []string{"--hex", "--timeout"}, ""}, // a size is given
		{"recv server --timeout ", nil, ""},                     // a duration
		{"recv server --timeout 1s ", []string{"--hex", "1024"}, ""},
		{"recv server --hex ", []string{"--all", "--timeout", "1024"}, ""},
		{"recv server --all ", []string{"--hex"}, ""}, // --all takes no size and no timeout
		{"recvfrom sink 10 --hex ", []string{"--timeout"}, ""},
		{"sendto sink ", []string{"127.0.0.1", "localhost"}, ""},
		{"sendto sink 127.0.0.1 9090 ", []string{"--bytes"}, ""},
		{"close ", []string{"all", "host", "server", "sink", "sink6", "six"}, ""},
		{"accept ", []string{"host"}, ""}, // the one that listens
		{"accept host ", []string{"--timeout", "as"}, ""},
		{"accept host as ", nil, ""}, // a name for the connection
		{"auto ", []string{"client", "demo", "server"}, ""},
		{"auto demo ", []string{"--host", "--port", "--step"}, ""},
		{"auto server --port ", nil, ""},                          // a port number
		{"auto demo --port 0 ", []string{"--host", "--step"}, ""}, // each flag once
		{"auto client --quiet ", []string{"--host", "--message", "--port", "--step", "--wait"}, ""},
		{"accept host as conn ", []string{"--timeout"}, ""},
		{"accept host --timeout ", nil, ""}, // a duration
		{"accept host --timeout 2s ", []string{"as"}, ""},
		{"accept host --timeout=2s as conn ", nil, ""},
		{"socket ", []string{"as", "ipv4", "ipv6", "tcp", "udp"}, ""},
		{"socket tcp ", []string{"as", "ipv4", "ipv6"}, ""}, // a socket is one type
		{"socket udp ipv6 ", []string{"as"}, ""},
		{"socket as ", nil, ""},       // the name is the learner's to choose
		{"socket tcp as x ", nil, ""}, // as NAME comes last
		{"expect ECONNRE", []string{"ECONNREFUSED", "ECONNRESET"}, "ECONNRE"},
		{"expect econnre", []string{"econnrefused", "econnreset"}, "econnre"}, // an errno in any case
		{"expect ECONNREFUSED soc", []string{"socket"}, "soc"},                // a socket call, not sockets
		{"expect ECONNREFUSED connect server ", []string{"127.0.0.1", "localhost"}, ""},
		{"expect EPIPE shutdown server Wr", []string{"Write"}, "Wr"},
		{"expect EPIPE sockets ", nil, ""},
		{"narrate b", []string{"brief"}, "b"},
		{"narrate brief ", nil, ""}, // narrate takes one word
		{"code ", []string{"all", "c", "go", "python"}, ""},
		{"code python ", []string{"c", "go"}, ""},
		{"code all ", nil, ""}, // all stands alone
		{"show ", []string{"host", "server", "sink", "sink6", "six"}, ""},
		{"show host ", []string{"--states"}, ""},
		{"show --states ", []string{"host", "server", "sink", "sink6", "six"}, ""}, // the socket, after the flag
		{"show host --states ", nil, ""},
		{"show --states host ", nil, ""},
		{"diagram --last ", nil, ""}, // a number
		{"diagram --last 5 ", nil, ""},
		{"help acc", []string{"accept"}, "acc"},
		{"help option SO_RE", []string{"SO_REUSEADDR", "SO_REUSEPORT"}, "SO_RE"},
		{"help option SO_RCVBUF ", nil, ""},
		{"help option so_re", []string{"so_reuseaddr", "so_reuseport"}, "so_re"}, // help takes it in any case
		{"help option So_Rcvb", []string{"So_Rcvbuf"}, "So_Rcvb"},
		{"help quit L", nil, "L"}, // quit lesson: the command is not in any case
		{"option server tcp_no", []string{"tcp_nodelay"}, "tcp_no"},
		{"option server TCP_NODELAY O", []string{"OFF", "ON"}, "O"},
		{"shutdown server Wr", []string{"Write"}, "Wr"},
		{"shutdown S", nil, "S"}, // a name is in the case it was given
		{"socket TC", nil, "TC"}, // socket takes tcp in lower case only
		{"option server nodelay ", []string{"off", "on"}, ""},
		{"option server ", []string{"O_NONBLOCK", "SO_BROADCAST", "SO_KEEPALIVE", "SO_LINGER", "SO_RCVBUF", "SO_RCVTIMEO",
			"SO_REUSEADDR", "SO_REUSEPORT", "SO_SNDBUF", "SO_SNDTIMEO", "TCP_KEEPCNT", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_NODELAY"}, ""}, // not IPV6_V6ONLY
		{"option sink6 ", []string{"IPV6_V6ONLY", "O_NONBLOCK", "SO_BROADCAST", "SO_RCVBUF", "SO_RCVTIMEO",
			"SO_REUSEADDR", "SO_REUSEPORT", "SO_SNDBUF", "SO_SNDTIMEO"}, ""}, // not TCP's
		{"option sink TCP_NODELAY ", nil, ""},
		{"option nosuch SO_REUSEADDR ", nil, ""},
		{"option server nosuch ", nil, ""},
		{"option server SO_RCVBUF ", nil, ""}, // a size, not a word
		{"option server rcvtimeo ", nil, ""},
		{"option server keepidle ", nil, ""},     // seconds, not a word
		{`bind server ""`, []string{`""`}, `""`}, // not 127.0.0.1 after it: ""127.0.0.1
		{`bind server \"`, nil, `\"`},            // not "": \"" opens a quote
		{`close server\ `, nil, ""},              // the space is part of the word
		{"close # ", nil, ""},                    // a comment
		{"nosuch ", nil, ""},
		{"listen ", []string{"host", "server", "six"}, ""}, // not the UDP sockets
		{"shutdown nosuch ", nil, ""},
		{"recv nosuch ", nil, ""},
		{`send "unterminated`, nil, ""},
	}
	server := mustFind(t, s, "server")
	tests = append(tests, struct { // a socket given by its fd number
		line     string
		want     []string
		wantWord string
	}{fmt.Sprintf("recv %d ", server.FD), []string{"--all", "--hex", "--timeout", "1024"}, ""})
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, word := s.Complete(tt.line)
			if !reflect.DeepEqual(got, tt.want) || word != tt.wantWord {
				t.Errorf("Complete(%q) = %q, %q; want %q, %q", tt.line, got, word, tt.want, tt.wantWord)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	s := New(io.Discard, Options{})
	// A word that shares no letter with a command is not that command
	// misspelt: "c" is not "?" (help).
	tests := map[string]string{"bnid": "bind", "lisen": "listen", "sokcet": "socket", "acept": "accept", "quti": "quit", "xyzzy": "", "sock": "socket", "c": "", "x": ""}
	for typed, want := range tests {
		if got := s.suggest(typed); got != want {
			t.Errorf("suggest(%q): got %q, want %q", typed, got, want)
		}
	}
}

// A line of a megabyte, not a command, is answered without comparing it
// letter by letter with every command (which took 200 MB and 2 s).
func TestSuggestForAHugeWord(t *testing.T) {
	s := New(io.Discard, Options{})
	for _, word := range []string{strings.Repeat("a", 1<<20), strings.Repeat("é", 1<<19)} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got := s.suggest(word)
		runtime.ReadMemStats(&after)
		if got != "" {
			t.Errorf("suggest(%d letters): got %q, want none", utf8.RuneCountInString(word), got)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
			t.Errorf("suggest(%d letters) allocated %d bytes, want at most 4 MiB", utf8.RuneCountInString(word), alloc)
		}
	}
}

// TestUnknownCommandIsQuotedOnce checks how a command that does not exist
// is named back: escaped once, as a peer's bytes are, and cut when long.
func TestUnknownCommandIsQuotedOnce(t *testing.T) {
	tests := []struct{ typed, want string }{
		{"\x1b[31mfoo", `there is no command "\x1b[31mfoo" (`},
		{strings.Repeat("x", 5000), `there is no command "` + strings.Repeat("x", 64) + `"…(+4936) (`},
	}
	for _, tt := range tests {
		var out strings.Builder
		s := New(&out, Options{})
		got, err := evalOut(s, &out, tt.typed)
		if err == nil || !strings.Contains(problemSaid(got), tt.want) {
			t.Errorf("%q: got %q (%v), want an error containing %q", tt.typed, got, err, tt.want)
		}
		s.Close()
	}
}

func TestWrap(t *testing.T) {
	got := wrap("one two three four five six seven eight nine ten eleven twelve thirteen", 20)
	want := []string{"one two three four", "five six seven eight", "nine ten eleven", "twelve thirteen"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, line := range got {
		if len(line) > 20 {
			t.Errorf("line %q is longer than 20", line)
		}
	}
}

// TestTabKeepsTheWordsTyped checks what Tab does to the line in the
// terminal: the words typed before the one being completed read as
// before, and that one reads as the candidate, whatever quotes or
// escapes it was typed with.
func TestTabKeepsTheWordsTyped(t *testing.T) {
	s := New(io.Discard, Options{})
	defer s.Close()
	if err := s.Eval(context.Background(), "socket as server"); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{`bind server ""`, `bind server ''`, `bind server "127`, `bind server '1`, `bind server \1`,
		`bind server 1`, `bind se`, `bind "se"`, `close server\ `, `close # s`, `bind server "" 80`, `so`, `bind server `, `bind server \"`, `"so"`} {
		t.Run(line, func(t *testing.T) {
			candidates, _ := s.Complete(line)
			suffixes, _ := completer{s}.Do([]rune(line), len([]rune(line)))
			for i, suffix := range suffixes {
				got, err := SplitWords(line + string(suffix))
				if err != nil {
					t.Errorf("Tab makes %q of %q: %v", line+string(suffix), line, err)
					continue
				}
				typed, _ := SplitWords(line)
				want, _ := SplitWords(candidates[i])
				if len(got) == 0 || len(want) != 1 || got[len(got)-1] != want[0] ||
					!reflect.DeepEqual(got[:len(got)-1], typed[:len(got)-1]) {
					t.Errorf("Tab with %q makes %q of %q: the words %q", candidates[i], line+string(suffix), line, got)
				}
				// and the candidate stands on the line as offered, a word of its own
				if start := len(line) + len(string(suffix)) - len(candidates[i]) - 1; start < 0 ||
					(line + string(suffix))[start:] != candidates[i]+" " || start > 0 && line[start-1] != ' ' {
					t.Errorf("Tab with %q makes %q of %q", candidates[i], line+string(suffix), line)
				}
			}
		})
	}
}

// TestHostsOfferedAreTaken runs the commands Tab suggests: every host it
// offers after a socket of each kind and family, bind and sendto take on
// a socket of that kind, and the kernel binds or sends.
func TestHostsOfferedAreTaken(t *testing.T) {
	eachKindAndFamily(t, func(t *testing.T, s *Session, kind, family string) {
		ctx := context.Background()
		made := 0
		fresh := func() string {
			made++
			name := fmt.Sprintf("s%d", made)
			if err := s.Eval(ctx, fmt.Sprintf("socket %s %s as %s", kind, family, name)); err != nil {
				t.Fatal(err)
			}
			return name
		}
		hosts, _ := s.Complete("bind " + fresh() + " ")
		for _, host := range hosts {
			if _, err := strconv.Atoi(host); err == nil {
				continue // a port alone
			}
			if err := s.Eval(ctx, fmt.Sprintf("bind %s %s 0", fresh(), host)); err != nil {
				t.Errorf("Tab offers %s after bind on a %s %s socket, and bind fails: %v", host, kind, family, err)
			}
		}
		if kind == "udp" {
			name := fresh()
			to, _ := s.Complete("sendto " + name + " ")
			for _, host := range to {
				if err := s.Eval(ctx, fmt.Sprintf("sendto %s %s 9 x", name, host)); err != nil {
					t.Errorf("Tab offers %s after sendto on a udp %s socket, and sendto fails: %v", host, family, err)
				}
			}
		}
	})
}

// TestOptionsOfferedApply reads every option Tab offers for a socket of
// each kind and family, which the kernel must answer, and checks that
// each option it leaves out is one option refuses for that socket.
func TestOptionsOfferedApply(t *testing.T) {
	eachKindAndFamily(t, func(t *testing.T, s *Session, kind, family string) {
		ctx := context.Background()
		if err := s.Eval(ctx, fmt.Sprintf("socket %s %s as s", kind, family)); err != nil {
			t.Fatal(err)
		}
		offered, _ := s.Complete("option s ")
		every, _ := s.Complete("help option ")
		if len(offered) == 0 || len(every) < len(offered) {
			t.Fatalf("offered %q of %q", offered, every)
		}
		for _, name := range every {
			err := s.Eval(ctx, "option s "+name)
			if taken := err == nil; taken != slices.Contains(offered, name) {
				t.Errorf("option s %s on a %s %s socket: %v; Tab offers it: %v", name, kind, family, err, !taken)
			}
		}
	})
}

// eachKindAndFamily runs test in a new session for TCP and UDP, each in
// IPv4 and IPv6.
func eachKindAndFamily(t *testing.T, test func(t *testing.T, s *Session, kind, family string)) {
	for _, kind := range []string{"tcp", "udp"} {
		for _, family := range []string{"ipv4", "ipv6"} {
			t.Run(kind+" "+family, func(t *testing.T) {
				s := New(io.Discard, Options{})
				defer s.Close()
				test(t, s, kind, family)
			})
		}
	}
}

// TestFlagsOfferedAreInTheUsage checks that each flag Tab offers is one
// the command's usage shows, in a form of the usage (the parts between
// |) that has every flag already on the line: help and Tab tell of the
// same command.
func TestFlagsOfferedAreInTheUsage(t *testing.T) {
	s := New(io.Discard, Options{})
	defer s.Close()
	for _, line := range []string{"socket as s", "socket udp as u"} {
		if err := s.Eval(context.Background(), line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	for _, line := range []string{
		"recv s ", "recv s --all ", "recv s --hex ", "recv s 10 ", "recv s --timeout 1s ",
		"recvfrom u ", "recvfrom u --all ", "recvfrom u --hex ",
		"send s ", "send s --bytes 1K ", "sendto u 127.0.0.1 9090 ",
		"accept s ", "connect s 127.0.0.1 8081 ", "show s ", "show --states ", "diagram ",
	} {
		words, err := SplitWords(line)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := s.find(words)
		offered, _ := s.Complete(line)
		for _, flag := range offered {
			if !strings.HasPrefix(flag, "--") {
				continue
			}
			if !slices.ContainsFunc(strings.Split(c.usage, " | "), func(form string) bool {
				for _, w := range append(words, flag) {
					if strings.HasPrefix(w, "--") && !strings.Contains(form, w) {
						return false
					}
				}
				return true
			}) {
				t.Errorf("Tab offers %s after %q, but no form of the usage has it: %s", flag, line, c.usage)
			}
		}
	}
}
