package steps

import (
	"fmt"
	"strings"
	"testing"
)

// The command listen suggests for a client must be one connect accepts:
// the host and the port as two words.
func TestListenSuggestsAConnectThatWorks(t *testing.T) {
	for name, host := range map[string]string{"loopback": "127.0.0.1", "every interface": ""} {
		t.Run(name, func(t *testing.T) {
			l := newLab(t)
			run(t, l, "socket", "as", "server")
			run(t, l, "bind", "server", host, "0")
			rep := run(t, l, "listen", "server")
			server, _ := l.Find("server")
			want := fmt.Sprintf("connect c 127.0.0.1 %d)", Read(server).Local.Port())
			if !strings.HasSuffix(rep.Next, want) {
				t.Errorf("got next %q, want it to end with %q", rep.Next, want)
			}
		})
	}
}
