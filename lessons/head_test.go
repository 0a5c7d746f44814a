package lessons

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// responseHead takes as a whole response head what Go's HTTP client reads
// as one, and no more.
func TestResponseHeadAsAClientReadsIt(t *testing.T) {
	for _, sent := range []string{
		"HTTP/1.0 200 OK\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<h1>Hi</h1>",
		"HTTP/1.1 404 Not Found\nServer: sockstep\n\n",
		"HTTP/1.0 200\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n",
		"HTTP/1.0 200 OK",
		"HTTP/1.0 200 OK\r\nno colon here\r\n\r\n",
		"hello\r\n\r\n",
		"http/1.0 200 OK\r\n\r\n",
		"HTTP/1.0 2000 OK\r\n\r\n",
	} {
		_, err := http.ReadResponse(bufio.NewReader(strings.NewReader(sent)), nil)
		if _, whole, _ := responseHead(sent); whole != (err == nil) {
			t.Errorf("responseHead(%q) says whole: %v; Go's HTTP client reads it with error %v", sent, whole, err)
		}
	}
}
