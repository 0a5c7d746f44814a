package steps

import (
	"strings"
	"testing"
)

// TestSocketSuggestsItsOwnFamily types what a new socket's report suggests
// next, as a learner would, with the port made one this test owns: the
// address it suggests must be one the socket can use. An IPv6 socket
// refuses 127.0.0.1.
func TestSocketSuggestsItsOwnFamily(t *testing.T) {
	for _, f := range families {
		for _, tt := range []struct{ kind, name string }{{"tcp", "server"}, {"tcp", "client"}, {"udp", "u"}} {
			t.Run(f.name+" "+tt.kind+" "+tt.name, func(t *testing.T) {
				l := newLab(t)
				port := listener(t, l, f, "listener")
				next := run(t, l, "socket", tt.kind, f.name, "as", tt.name).Next
				// A server's suggestion ends with what a client would do
				// instead: "bind server "" 8081 (a server; a client
				// would: connect server ::1 8081)".
				main, aside, _ := strings.Cut(next, "(")
				commands := []string{main}
				if _, client, ok := strings.Cut(aside, "would: "); ok {
					commands = append(commands, strings.TrimSuffix(client, ")"))
				}
				for _, command := range commands {
					words := strings.Fields(command)
					if len(words) != 4 || words[1] != tt.name {
						t.Fatalf("suggested %q, want a bind or connect of %s to a host and port", command, tt.name)
					}
					if words[2] == `""` {
						words[2] = "" // as the shell reads it: every interface
					}
					switch words[0] {
					case "bind":
						words[3] = "0" // any free port: the suggested one may be taken
					case "connect":
						words[3] = port
					}
					run(t, l, words[0], words[1:]...)
					run(t, l, "close", tt.name)
					run(t, l, "socket", tt.kind, f.name, "as", tt.name)
				}
			})
		}
	}
}
