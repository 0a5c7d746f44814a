package repl

import (
	"regexp"
	"strings"
)

// pythonCall matches one line of the tutorial's Python socket code: an
// optional assignment (`s =`, `conn, addr =`), the object a method is
// called on, the method, and what is inside its parentheses.
var pythonCall = regexp.MustCompile(`^\s*(?:([A-Za-z_]\w*)\s*(?:,\s*[A-Za-z_]\w*\s*)?=\s*)?([A-Za-z_]\w*)\.(socket|bind|listen|accept|connect|sendall|send|recv|close)\s*\((.*)\)\s*$`)

// pythonAddress matches the ("host", port) tuple that bind and connect
// take in Python.
var pythonAddress = regexp.MustCompile(`^\(\s*["']([^"']*)["']\s*,\s*(\d+)\s*\)$`)

// pythonBytes matches a bytes or string literal, as send takes.
var pythonBytes = regexp.MustCompile(`^b?(["'])(.*)["']$`)

// fromPython is the sockstep command for a line of Python socket code
// (`s = socket.socket()` is `socket as s`), or "" when the line is not
// one it knows.
func fromPython(line string) string {
	m := pythonCall.FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	result, object, method, inside := m[1], m[2], m[3], strings.TrimSpace(m[4])
	switch method {
	case "socket":
		return pythonSocket(inside, result)
	case "bind", "connect":
		a := pythonAddress.FindStringSubmatch(inside)
		if a == nil {
			return method + " " + object + " HOST PORT"
		}
		host := a[1]
		if host == "" {
			host = `""`
		}
		return method + " " + object + " " + host + " " + a[2]
	case "listen":
		return strings.TrimSpace("listen " + object + " " + inside)
	case "accept":
		if result == "" {
			return "accept " + object
		}
		return "accept " + object + " as " + result
	case "send", "sendall":
		if b := pythonBytes.FindStringSubmatch(inside); b != nil {
			return "send " + object + ` "` + strings.ReplaceAll(b[2], `"`, `\"`) + `"`
		}
		return "send " + object + ` "TEXT"`
	case "recv":
		return strings.TrimSpace("recv " + object + " " + inside)
	}
	return "close " + object
}

// python says that a line is Python, not a command, and which command
// makes the same call; it reports whether the line was Python it knows.
func (s *Session) python(line string) bool {
	same := fromPython(line)
	if same == "" {
		return false
	}
	name, _, _ := strings.Cut(same, " ")
	shown := &command{example: same}
	if c := s.lookup(name); c != nil {
		shown.usage = c.usage
	}
	s.problem("that is Python: sockstep's commands are words, the socket's name after the call's, with no dots or parentheses. The same call, as a command, is below.", shown)
	return true
}

// pythonSocket is the socket command for socket.socket(inside), named
// result: its type and family words where Python gives SOCK_DGRAM or
// AF_INET6 (TCP and IPv4 are both's defaults), or "" for a family sockstep
// does not make (AF_UNIX, AF_PACKET).
func pythonSocket(inside, result string) string {
	if strings.Contains(inside, "AF_") && !strings.Contains(inside, "AF_INET") {
		return ""
	}
	command := "socket"
	if strings.Contains(inside, "SOCK_DGRAM") {
		command += " udp"
	}
	if strings.Contains(inside, "AF_INET6") {
		command += " ipv6"
	}
	if result != "" {
		command += " as " + result
	}
	return command
}
