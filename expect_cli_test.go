package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestExpectedFailures: a lab script whose every failure was expected
// (a refused connect, a port in use) exits 0 and lists no failure; one
// whose expectation is not met exits 1 and lists that command.
func TestExpectedFailures(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	refusing, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusing.Close() // nothing listens on its port now: a connect there is refused
	ports := strings.NewReplacer("HELD", strconv.Itoa(held.Addr().(*net.TCPAddr).Port),
		"FREE", strconv.Itoa(refusing.Addr().(*net.TCPAddr).Port))

	tests := []struct {
		name       string
		script     string
		wantStatus int
		wantOut    []string
		wantNot    []string
	}{
		{"every failure expected", "# a lab that shows two refusals on purpose\n" +
			"socket as c\nexpect ECONNREFUSED connect c 127.0.0.1 FREE\n" +
			"socket as s\nexpect EADDRINUSE bind s 127.0.0.1 HELD\n", 0,
			[]string{"= -1 ECONNREFUSED", "✔ connect failed with ECONNREFUSED, as expected",
				"= -1 EADDRINUSE", "✔ bind failed with EADDRINUSE, as expected"},
			[]string{"commands failed", "✗"}},
		{"an expectation not met", "socket as c\nexpect EADDRINUSE connect c 127.0.0.1 FREE\n" +
			"expect ECONNREFUSED bind c 127.0.0.1 0\nsockets\n", 1,
			[]string{"✗ connect failed with ECONNREFUSED, where EADDRINUSE was expected",
				"✗ bind succeeded, where ECONNREFUSED was expected",
				"✗ 2 of 4 commands failed:\n    [2] expect EADDRINUSE connect c 127.0.0.1 FREE\n    [3] expect ECONNREFUSED bind c 127.0.0.1 0\n"},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := filepath.Join(t.TempDir(), "lab.txt")
			if err := os.WriteFile(script, []byte(ports.Replace(tt.script)), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errs bytes.Buffer
			status := run([]string{"--timeout", "5s", "run", script}, strings.NewReader(""), &out, &errs)
			if status != tt.wantStatus {
				t.Errorf("status: got %d, want %d\nstdout:\n%s\nstderr:\n%s", status, tt.wantStatus, out.String(), errs.String())
			}
			for _, want := range tt.wantOut {
				if want := ports.Replace(want); !strings.Contains(out.String(), want) {
					t.Errorf("got %q, want it to hold %q", out.String(), want)
				}
			}
			for _, not := range tt.wantNot {
				if strings.Contains(out.String(), not) {
					t.Errorf("got %q, want no %q in it", out.String(), not)
				}
			}
		})
	}
}
