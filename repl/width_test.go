package repl

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestHexDumpFitsTheWidth: recv --hex shows the bytes that came, every
// one of them, in lines that fit the terminal wherever a dump's line
// (74 columns) and its mark can: on the usual 80 columns too.
func TestHexDumpFitsTheWidth(t *testing.T) {
	sent := "line one\r\nline two is here and it is long\r\n\x00\xff"
	row := regexp.MustCompile(`│[0-9a-f]{4}  ((?:[0-9a-f]{2} {1,2})+) *\|`)
	for _, width := range []int{77, 80, 84, 100} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			out := new(strings.Builder)
			s := New(out, Options{Width: width})
			t.Cleanup(s.Close)
			port := freePort(t)
			mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
				"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept server as conn",
				"send client "+strconv.Quote(sent))
			got, err := evalOut(s, out, "recv conn --hex")
			if err != nil {
				t.Fatal(err)
			}
			var dumped string
			for _, l := range strings.Split(got, "\n") {
				if n := utf8.RuneCountInString(l); n > width {
					t.Errorf("a line is %d columns wide, more than %d: %q", n, width, l)
				}
				if m := row.FindStringSubmatch(l); m != nil {
					dumped += strings.ReplaceAll(m[1], " ", "")
				}
			}
			if want := hex.EncodeToString([]byte(sent)); dumped != want {
				t.Errorf("the dump holds %s, want %s (what was sent):\n%s", dumped, want, got)
			}
		})
	}
}
