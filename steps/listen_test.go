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
			l := NewLab()
			defer l.CloseAll()
			run(t, l, SocketStep, "as", "server")
			run(t, l, BindStep, "server", host, "0")
			rep := run(t, l, ListenStep, "server")
			server, _ := l.Find("server")
			want := fmt.Sprintf("connect c 127.0.0.1 %d)", Read(server).Local.Port())
			if !strings.HasSuffix(rep.Next, want) {
				t.Errorf("got next %q, want it to end with %q", rep.Next, want)
			}
		})
	}
}
