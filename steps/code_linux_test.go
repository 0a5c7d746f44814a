package steps

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// codeSessions are played to collect the C and Go lines of every step
// and its main variants. {f} is the family's name and {lo} its loopback
// address; {NAME} is the port the socket NAME has then. A command that
// starts with "! " must be refused by the kernel.
var codeSessions = []struct {
	name     string
	families []family
	commands []string
}{
	{"tcp", families, []string{
		"socket tcp {f} as server", "bind server {lo} 0", "listen server",
		"socket tcp {f} as client", "connect client {lo} {server}", "accept server as srv-conn",
		"send client hello", "send client --bytes 100000", "send client --bytes 1", "recv srv-conn 5", "recv srv-conn", "recv srv-conn --all",
		"send srv-conn hi", "recvfrom client", "sendto srv-conn {lo} {server} bye", "recvfrom client 2",
		"recvfrom client --all", "shutdown client write", "shutdown srv-conn read", "shutdown srv-conn both",
		"close srv-conn", "close client", "close all",
	}},
	{"every", families, []string{`socket tcp {f} as every`, `bind every "" 0`, "close all"}},
	{"localhost", families[:1], []string{"socket tcp as named", "bind named localhost 0", "listen named 5",
		"socket tcp as c", "connect c localhost {named}", "accept named", "close all"}},
	{"mapped", families[1:], []string{"socket tcp ipv6 as s", "bind s ::ffff:127.0.0.1 0", "listen s",
		"socket tcp ipv6 as c", "connect c ::ffff:127.0.0.1 {s}", "accept s as conn", "close all"}},
	{"udp", families, []string{
		"socket udp {f} as a", "bind a {lo} 0", "socket udp {f} as b",
		"sendto b {lo} {a} hello", "sendto b {lo} {a} --bytes 10", "sendto b {lo} {a} --bytes 1", "recvfrom a", "recv a 3",
		"connect b {lo} {a}", "send b hi", "send b --bytes 10", "send b --bytes 1", "recv a --all", "recvfrom a --all",
		"shutdown b both", "close all",
	}},
	{"options", families, []string{
		"socket tcp {f} as o",
		"option o SO_REUSEADDR on", "option o SO_REUSEADDR", "option o SO_REUSEADDR off",
		"option o SO_REUSEPORT on", "option o SO_REUSEPORT",
		"option o SO_KEEPALIVE on", "option o SO_KEEPALIVE",
		"option o TCP_KEEPIDLE 5", "option o TCP_KEEPIDLE", "option o TCP_KEEPINTVL 2", "option o TCP_KEEPCNT 3",
		"! option o TCP_KEEPCNT 0",
		"option o SO_LINGER on 5", "option o SO_LINGER on 0", "option o SO_LINGER", "option o SO_LINGER off",
		"option o SO_RCVBUF 5000", "option o SO_RCVBUF", "option o SO_SNDBUF 9000", "option o SO_SNDBUF",
		"option o SO_RCVTIMEO 250ms", "option o SO_RCVTIMEO", "option o SO_RCVTIMEO 0",
		"option o SO_SNDTIMEO 2s", "option o SO_SNDTIMEO",
		"option o TCP_NODELAY on", "option o TCP_NODELAY",
		"option o O_NONBLOCK on", "option o O_NONBLOCK", "option o O_NONBLOCK off",
		"socket udp {f} as d", "option d SO_BROADCAST on", "option d SO_BROADCAST", "close all",
	}},
	{"nonblocking", families, []string{
		"socket tcp {f} as server", "bind server {lo} 0", "listen server", "socket tcp {f} as c",
		"option c O_NONBLOCK on", "connect c {lo} {server}", "shutdown server both",
		"socket udp {f} as u", "bind u {lo} 0", "option u O_NONBLOCK on", "! recv u", "close all",
	}},
	{"v6only", families[1:], []string{"socket tcp ipv6 as six", "option six IPV6_V6ONLY on",
		"option six IPV6_V6ONLY", "bind six ::1 0", "! option six IPV6_V6ONLY off", "close all"}},
	{"failures", families, []string{
		"socket tcp {f} as x", "socket tcp {f} as holder", "bind holder {lo} 0",
		"! accept x", "! recv x", "! recv x --all", "! recvfrom x", "! send x hi", "! send x --bytes 100",
		"! sendto x {lo} {holder} hi", "! shutdown x write", "! connect x {lo} {holder}", "socket tcp {f} as y", "! bind y {lo} {holder}",
		"socket udp {f} as u", "! listen u", "! send u hi", "! send u --bytes 10", "close all",
	}},
}

// A codeLine is one report's line in C or Go, with the call line it
// stands for.
type codeLine struct {
	call, line string
}

// TestCodeLinesCompileAndMakeTheCall plays codeSessions and holds each
// report's C and Go lines to the call the step made: each names the same
// call on the same socket with the same arguments, and together they
// compile, in a C program and in a Go program with golang.org/x/sys/unix,
// where the only variables declared for them are the sockets and those a
// line's comment explains (// addr: …).
func TestCodeLinesCompileAndMakeTheCall(t *testing.T) {
	var cLines, goLines, pyLines []codeLine
	names := map[string]bool{} // every socket's variable
	for _, s := range codeSessions {
		for _, f := range s.families {
			l := newLab(t)
			for _, command := range s.commands {
				for _, sock := range l.Sockets() {
					if port := Read(sock).Local.Port(); port != 0 {
						command = strings.ReplaceAll(command, "{"+sock.Name+"}", fmt.Sprint(port))
					}
				}
				command = strings.NewReplacer("{f}", f.name, "{lo}", f.loopback, `""`, "").Replace(command)
				what := s.name + " " + f.name + ": " + command
				mustFail := strings.HasPrefix(command, "! ")
				words := strings.Split(strings.TrimPrefix(command, "! "), " ")
				py := map[int]string{}
				for _, sock := range l.Sockets() {
					py[sock.FD] = sock.Py()
				}
				rep, err := try(t, l, words[0], words[1:]...)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if rep.Failed() != mustFail {
					t.Fatalf("%s: got %q, want it to fail: %v", what, rep.Call, mustFail)
				}
				for _, sock := range l.Sockets() {
					py[sock.FD] = sock.Py()
					names[sock.Py()] = true
				}
				c, g := rep.Code("c"), rep.Code("go")
				if (c != "") != (rep.Python != "") || (g != "") != (rep.Python != "") {
					t.Errorf("%s: got python %q, c %q, go %q; want all three or none", what, rep.Python, c, g)
				}
				if c == "" || g == "" {
					continue
				}
				wantC, wantGo := codeWants(t, what, rep.Call, py)
				for _, w := range wantC {
					if !strings.Contains(c, w) {
						t.Errorf("%s: call %q, got c %q, want it to contain %q", what, rep.Call, c, w)
					}
				}
				for _, w := range wantGo {
					if !strings.Contains(g, w) {
						t.Errorf("%s: call %q, got go %q, want it to contain %q", what, rep.Call, g, w)
					}
				}
				cLines = append(cLines, codeLine{what, c})
				goLines = append(goLines, codeLine{what, g})
				pyLines = append(pyLines, codeLine{what, rep.Python})
			}
		}
	}
	var sockets []string
	for name := range names {
		sockets = append(sockets, name)
	}
	slices.Sort(sockets)
	t.Run("names", func(t *testing.T) {
		for _, lines := range []struct {
			comment string
			lines   []codeLine
		}{{"//", cLines}, {"//", goLines}, {"#", pyLines}} {
			for _, l := range lines.lines {
				for _, word := range namesUsed(l.line, lines.comment) {
					if !names[word] && validName(word) == nil {
						t.Errorf("%s: the line %q uses %s, which a socket may still be named", l.call, l.line, word)
					}
				}
			}
		}
	})
	t.Run("c", func(t *testing.T) { compileC(t, cProgram(t, sockets, cLines)) })
	t.Run("go", func(t *testing.T) { vetGo(t, goProgram(t, sockets, goLines)) })
}

// codeWants is what the C and Go lines of a report must contain to make
// the call its call line shows; py names the variable of each socket by
// its descriptor.
func codeWants(t *testing.T, what, call string, py map[int]string) (c, g []string) {
	t.Helper()
	name := func(fd string) string {
		n, _ := strconv.Atoi(fd)
		return py[n]
	}
	match := func(pattern string) []string {
		return regexp.MustCompile(`^` + pattern).FindStringSubmatch(call)
	}
	if m := match(`socket\((AF_INET6?), (SOCK_\w+), 0\) = (\d+)`); m != nil {
		return []string{fmt.Sprintf("int %s = socket(%s, %s, 0);", name(m[3]), m[1], m[2])},
			[]string{fmt.Sprintf("%s, err := unix.Socket(unix.%s, unix.%s, 0)", name(m[3]), m[1], m[2])}
	}
	if m := match(`(bind|connect)\((\d+), (\S+)\) = `); m != nil {
		ap := netip.MustParseAddrPort(m[3])
		host := ap.Addr().String()
		switch {
		case ap.Addr() == netip.IPv4Unspecified():
			host = "INADDR_ANY"
		case ap.Addr() == netip.IPv6Unspecified():
			host = "in6addr_any"
		}
		addr := fmt.Sprintf("// addr: %s, port %d", host, ap.Port())
		if m[1] == "connect" {
			addr = "// addr: " + ap.String()
		}
		goCall := map[string]string{"bind": "Bind", "connect": "Connect"}[m[1]]
		return []string{fmt.Sprintf("%s(%s, (struct sockaddr *)&addr, sizeof addr);", m[1], name(m[2])), addr},
			[]string{fmt.Sprintf("err := unix.%s(%s, %s)", goCall, name(m[2]), goSockaddrOf(ap))}
	}
	if m := match(`listen\((\d+), (\d+)\) = `); m != nil {
		return []string{fmt.Sprintf("listen(%s, %s);", name(m[1]), m[2])},
			[]string{fmt.Sprintf("err := unix.Listen(%s, %s)", name(m[1]), m[2])}
	}
	if m := match(`accept\((\d+)\) = (-1|\d+)`); m != nil {
		c = []string{fmt.Sprintf("= accept(%s, (struct sockaddr *)&client_address, &address_length);", name(m[1]))}
		g = []string{fmt.Sprintf(", clientAddress, err := unix.Accept(%s)", name(m[1]))}
		if m[2] != "-1" {
			c = append(c, fmt.Sprintf("int %s = accept(", name(m[2])))
			g = append(g, fmt.Sprintf("%s, clientAddress, err := ", name(m[2])))
		}
		return c, g
	}
	if m := match(`(send|sendto)\((\d+), (?:(".*"), )?(\d+)(?: bytes?)?(?:, (\S+))?\) = `); m != nil {
		data := "data" // N bytes of sockstep's pattern, which the comment explains
		if m[3] != "" {
			text, err := strconv.Unquote(m[3])
			if err != nil {
				t.Fatalf("%s: the call %q shows text the test cannot read: send shorter text", what, call)
			}
			data = fmt.Sprintf("[]byte(%s)", strconv.QuoteToASCII(text))
		} else {
			count := m[4] + " bytes"
			if m[4] == "1" {
				count = "1 byte"
			}
			if !strings.Contains(call, ", "+count+")") && !strings.Contains(call, ", "+count+",") {
				t.Errorf("%s: got call %q, want it to send %s", what, call, count)
			}
			g = append(g, "// data: "+count+" of sockstep's pattern")
		}
		c = append(c, "// buf: the "+m[4]+" byte")
		if m[1] == "send" {
			return append(c, fmt.Sprintf("ssize_t n = send(%s, buf, %s, MSG_NOSIGNAL);", name(m[2]), m[4])),
				append(g, fmt.Sprintf("n, err := unix.SendmsgN(%s, %s, nil, nil, unix.MSG_NOSIGNAL)", name(m[2]), data))
		}
		ap := netip.MustParseAddrPort(m[5])
		return append(c, fmt.Sprintf("sendto(%s, buf, %s, MSG_NOSIGNAL, (struct sockaddr *)&to, sizeof to);", name(m[2]), m[4]), "; to: "+ap.String()),
			append(g, fmt.Sprintf("err := unix.Sendto(%s, %s, unix.MSG_NOSIGNAL, %s)", name(m[2]), data, goSockaddrOf(ap)))
	}
	if m := match(`(recv|recvfrom)\((\d+), (\d+)(, MSG_DONTWAIT)?\)`); m != nil {
		flags, goFlags, from, goFrom := "0", "0", "", "_"
		if m[4] != "" { // --all
			flags, goFlags = "MSG_DONTWAIT", "unix.MSG_DONTWAIT"
			c, g = []string{"// repeated until it fails (EAGAIN"}, []string{"// repeated until it fails (EAGAIN"}
		}
		if m[1] == "recvfrom" {
			from, goFrom = ", (struct sockaddr *)&from, &fromlen", "from"
		}
		return append(c, fmt.Sprintf("char buf[%s]; ", m[3]), fmt.Sprintf("ssize_t n = %s(%s, buf, sizeof buf, %s%s);", m[1], name(m[2]), flags, from)),
			append(g, fmt.Sprintf("buf := make([]byte, %s); ", m[3]), fmt.Sprintf("n, %s, err := unix.Recvfrom(%s, buf, %s)", goFrom, name(m[2]), goFlags))
	}
	if m := match(`shutdown\((\d+), (SHUT_\w+)\) = `); m != nil {
		return []string{fmt.Sprintf("shutdown(%s, %s);", name(m[1]), m[2])},
			[]string{fmt.Sprintf("err := unix.Shutdown(%s, unix.%s)", name(m[1]), m[2])}
	}
	if m := match(`setsockopt\((\d+), (\w+), (\w+), (.*)\) = `); m != nil {
		s, level, opt := name(m[1]), m[2], m[3]
		if v := regexp.MustCompile(`^\{on=(\d), (\d+)s\}$`).FindStringSubmatch(m[4]); v != nil {
			return []string{fmt.Sprintf("setsockopt(%s, %s, %s, &(struct linger){ %s, %s }, sizeof(struct linger));", s, level, opt, v[1], v[2])},
				[]string{fmt.Sprintf("err := unix.SetsockoptLinger(%s, unix.%s, unix.%s, &unix.Linger{Onoff: %s, Linger: %s})", s, level, opt, v[1], v[2])}
		}
		if _, err := strconv.Atoi(m[4]); err == nil {
			return []string{fmt.Sprintf("setsockopt(%s, %s, %s, &(int){ %s }, sizeof(int));", s, level, opt, m[4])},
				[]string{fmt.Sprintf("err := unix.SetsockoptInt(%s, unix.%s, unix.%s, %s)", s, level, opt, m[4])}
		}
		d, err := time.ParseDuration(m[4])
		if err != nil {
			t.Fatalf("%s: the call %q sets neither a number, nor a linger, nor a time", what, call)
		}
		tv := unix.NsecToTimeval(d.Nanoseconds())
		return []string{fmt.Sprintf("setsockopt(%s, %s, %s, &(struct timeval){ %d, %d }, sizeof(struct timeval));", s, level, opt, tv.Sec, tv.Usec)},
			[]string{fmt.Sprintf("err := unix.SetsockoptTimeval(%s, unix.%s, unix.%s, &unix.Timeval{Sec: %d, Usec: %d})", s, level, opt, tv.Sec, tv.Usec)}
	}
	if m := match(`getsockopt\((\d+), (\w+), (\w+)\) = `); m != nil {
		cType, goKind := "int", "Int"
		switch {
		case m[3] == "SO_LINGER":
			cType, goKind = "struct linger", "Linger"
		case strings.HasSuffix(m[3], "TIMEO"):
			cType, goKind = "struct timeval", "Timeval"
		}
		return []string{fmt.Sprintf("%s value; socklen_t len = sizeof value; getsockopt(%s, %s, %s, &value, &len);", cType, name(m[1]), m[2], m[3])},
			[]string{fmt.Sprintf("value, err := unix.Getsockopt%s(%s, unix.%s, unix.%s)", goKind, name(m[1]), m[2], m[3])}
	}
	if m := match(`fcntl\((\d+), F_GETFL\) = [^;]*(?:; fcntl\(\d+, F_SETFL, (\S+)\))?`); m != nil {
		s := name(m[1])
		switch {
		case m[2] == "":
			return []string{fmt.Sprintf("fcntl(%s, F_GETFL) & O_NONBLOCK;", s)},
				[]string{fmt.Sprintf("flags, err := unix.FcntlInt(uintptr(%s), unix.F_GETFL, 0); nonblocking := flags&unix.O_NONBLOCK != 0", s)}
		case strings.Contains(m[2], "O_NONBLOCK"):
			return []string{fmt.Sprintf("fcntl(%s, F_SETFL, fcntl(%s, F_GETFL) | O_NONBLOCK);", s, s)},
				[]string{fmt.Sprintf("err := unix.SetNonblock(%s, true)", s)}
		}
		return []string{fmt.Sprintf("fcntl(%s, F_SETFL, fcntl(%s, F_GETFL) & ~O_NONBLOCK);", s, s)},
			[]string{fmt.Sprintf("err := unix.SetNonblock(%s, false)", s)}
	}
	if m := match(`close\((\d+)\) = `); m != nil {
		return []string{fmt.Sprintf("close(%s);", name(m[1]))}, []string{fmt.Sprintf("err := unix.Close(%s)", name(m[1]))}
	}
	t.Errorf("%s: the test does not know the call %q", what, call)
	return nil, nil
}

// goSockaddrOf writes an address as x/sys/unix takes it, from its bytes.
func goSockaddrOf(ap netip.AddrPort) string {
	a := ap.Addr()
	kind, bytes := "6", a.AsSlice()
	if a.Is4() {
		kind = "4"
	}
	if a.IsUnspecified() {
		return fmt.Sprintf("&unix.SockaddrInet%s{Port: %d}", kind, ap.Port())
	}
	var elems []string
	for i, b := range bytes {
		switch {
		case kind == "4":
			elems = append(elems, fmt.Sprint(b))
		case b != 0:
			elems = append(elems, fmt.Sprintf("%d: %#x", i, b))
		}
	}
	return fmt.Sprintf("&unix.SockaddrInet%s{Port: %d, Addr: [%d]byte{%s}}", kind, ap.Port(), len(bytes), strings.Join(elems, ", "))
}

// namesUsed are the names a line of code uses that a variable of the
// same name would hide or break: not those inside strings or after the
// comment mark, nor a field (addr.Port, Port: 1) or a struct's tag
// (struct linger).
func namesUsed(line, comment string) []string {
	code := regexp.MustCompile(`"(?:[^"\\]|\\.)*"`).ReplaceAllString(line, `""`)
	code, _, _ = strings.Cut(code, comment)
	var words []string
	for _, m := range regexp.MustCompile(`(\.|struct\s+)?\b([A-Za-z_]\w*)\b(\s*:[^=])?`).FindAllStringSubmatch(code, -1) {
		if m[1] == "" && m[3] == "" {
			words = append(words, m[2])
		}
	}
	return words
}

// explained are the variables a line's comment says what they are:
// "// buf: the 5 bytes; to: 127.0.0.1:9090" explains buf and to.
func explained(line string) []string {
	_, comment, ok := strings.Cut(line, "//")
	if !ok {
		return nil
	}
	var names []string
	for part := range strings.SplitSeq(comment, ";") {
		if m := regexp.MustCompile(`^\s*(\w+): `).FindStringSubmatch(part); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

// cProgram puts each C line in a block of its own, after the variables
// its comment explains, and marks those it declares as used.
func cProgram(t *testing.T, sockets []string, lines []codeLine) string {
	t.Helper()
	explain := map[string]string{
		"addr": "struct sockaddr_storage addr;",
		"to":   "struct sockaddr_storage to;",
		"buf":  "static char buf[1 << 16];",
	}
	declares := regexp.MustCompile(`(?:^|;\s*)(?:int|ssize_t|socklen_t|char|struct \w+) (\w+)`)
	var b strings.Builder
	for _, h := range []string{"sys/socket.h", "sys/time.h", "netinet/in.h", "netinet/tcp.h", "arpa/inet.h", "unistd.h", "fcntl.h", "string.h"} {
		fmt.Fprintf(&b, "#include <%s>\n", h)
	}
	b.WriteString("\nvoid lines(void) {\n")
	for _, s := range sockets {
		fmt.Fprintf(&b, "\tint %s = -1; (void)%s;\n", s, s)
	}
	writeBlocks(t, &b, "C", lines, explain, "(void)%s;", func(line string) (names []string) {
		code, _, _ := strings.Cut(line, "//")
		for _, m := range declares.FindAllStringSubmatch(code, -1) {
			names = append(names, m[1])
		}
		return names
	})
	b.WriteString("}\n")
	return b.String()
}

// goProgram puts each Go line in a block of its own, after the variables
// its comment explains, and marks those it declares as used.
func goProgram(t *testing.T, sockets []string, lines []codeLine) string {
	t.Helper()
	explain := map[string]string{"data": "var data []byte"}
	var b strings.Builder
	b.WriteString("package main\n\nimport \"golang.org/x/sys/unix\"\n\nfunc main() {\n")
	for _, s := range sockets {
		fmt.Fprintf(&b, "\tvar %s int\n\t_ = %s\n", s, s)
	}
	writeBlocks(t, &b, "Go", lines, explain, "_ = %s", goDeclared)
	b.WriteString("}\n")
	return b.String()
}

// writeBlocks writes each line in a block of its own, after the
// declarations (explain) of the variables its comment explains, and marks
// each variable the line declares as used (use, a format for its name).
func writeBlocks(t *testing.T, b *strings.Builder, language string, lines []codeLine, explain map[string]string, use string, declared func(line string) []string) {
	t.Helper()
	for _, l := range lines {
		fmt.Fprintf(b, "\t{ // %s\n", l.call)
		for _, v := range explained(l.line) {
			if explain[v] == "" {
				t.Errorf("%s: the %s line %q explains %s, which the test cannot declare", l.call, language, l.line, v)
			}
			fmt.Fprintf(b, "\t\t%s\n", explain[v])
		}
		fmt.Fprintf(b, "\t\t%s\n", l.line)
		for _, v := range declared(l.line) {
			fmt.Fprintf(b, "\t\t"+use+"\n", v)
		}
		b.WriteString("\t}\n")
	}
}

// goDeclared are the variables a Go line declares with :=.
func goDeclared(line string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\nfunc _() {\n"+line+"\n}\n", 0)
	if err != nil {
		return nil // the compiler says what is wrong
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		if a, ok := n.(*ast.AssignStmt); ok && a.Tok == token.DEFINE {
			for _, e := range a.Lhs {
				if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
					names = append(names, id.Name)
				}
			}
		}
		return true
	})
	return names
}

// compileC checks a C program with the C compiler's -fsyntax-only.
func compileC(t *testing.T, program string) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) is on PATH, so the C lines cannot be compiled")
	}
	file := filepath.Join(t.TempDir(), "lines.c")
	if err := os.WriteFile(file, []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cc, "-fsyntax-only", "-Wall", "-Werror", file).CombinedOutput(); err != nil {
		t.Errorf("cc: %v\n%s\nprogram:\n%s", err, out, numbered(program))
	}
}

// vetGo type-checks a Go program with go vet, in a module that requires
// this module's golang.org/x/sys, from the module cache alone.
func vetGo(t *testing.T, program string) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH, so the Go lines cannot be compiled")
	}
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(mod)
	sysVersion := regexp.MustCompile(`golang.org/x/sys (\S+)`).FindSubmatch(mod)
	if goVersion == nil || sysVersion == nil {
		t.Fatalf("go.mod names no go version or no golang.org/x/sys:\n%s", mod)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cache, err := exec.CommandContext(ctx, goCmd, "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	modCache := strings.TrimSpace(string(cache))
	zip := filepath.Join(modCache, "cache", "download", "golang.org", "x", "sys", "@v", string(sysVersion[1])+".zip")
	if _, err := os.Stat(zip); err != nil {
		t.Skipf("golang.org/x/sys %s is not in the module cache (%v), so the Go lines cannot be compiled offline", sysVersion[1], err)
	}
	sum, err := os.ReadFile("../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  fmt.Sprintf("module lines\n\ngo %s\n\nrequire golang.org/x/sys %s\n", goVersion[1], sysVersion[1]),
		"go.sum":  string(sum),
		"main.go": program,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vet := exec.CommandContext(ctx, goCmd, "vet", ".")
	vet.Dir = dir
	vet.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local", "GOMODCACHE="+modCache)
	if out, err := vet.CombinedOutput(); err != nil {
		t.Errorf("go vet: %v\n%s\nprogram:\n%s", err, out, numbered(program))
	}
}

// numbered is a program with its line numbers, as the compilers cite them.
func numbered(program string) string {
	var b strings.Builder
	for i, line := range strings.Split(program, "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, line)
	}
	return b.String()
}
