// Package kerneltest checks, before a package's tests start, that the
// machine's kernel can show what they watch: a test that sees a connection
// enter TIME_WAIT cannot pass while the kernel keeps no TIME_WAIT at all.
package kerneltest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"testing"
)

// Main runs a package's tests, as its TestMain, unless the kernel's table
// of connections in TIME_WAIT is full; then it says so, once, and fails.
func Main(m *testing.M) {
	if err := TimeWaitRoom(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// TimeWaitRoom returns an error when the kernel's table of connections in
// TIME_WAIT is full. Linux then keeps no TIME_WAIT for a connection that
// closes (nstat's TcpExtTCPTimeWaitOverflow counts them), which is what a
// run of BENCHMARKS.md's benchmark leaves behind for a minute. Where the
// table cannot be read, it says nothing.
func TimeWaitRoom() error {
	limit, ok := readNumber("/proc/sys/net/ipv4/tcp_max_tw_buckets", "")
	if !ok || limit <= 0 {
		return nil
	}
	// "TCP: inuse 1 orphan 0 tw 1412 alloc 1 mem 186": IPv4 and IPv6 alike.
	waiting, ok := readNumber("/proc/net/sockstat", "tw")
	if !ok || waiting*100 < limit*95 {
		return nil
	}
	return fmt.Errorf("the kernel's TIME_WAIT table is full (%d connections, net.ipv4.tcp_max_tw_buckets = %d): "+
		"it keeps no TIME_WAIT for connections that close now, so the tests that watch one cannot pass. "+
		"Entries expire 60 s after they were made; wait until `ss -tan state time-wait | wc -l` is small", waiting, limit)
}

// readNumber reads the number a file holds alone (after ""), or the one
// that follows the word after.
func readNumber(file, after string) (int, bool) {
	text, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	words := bytes.Fields(text)
	for i := range words {
		if after == "" || i > 0 && string(words[i-1]) == after {
			n, err := strconv.Atoi(string(words[i]))
			return n, err == nil
		}
	}
	return 0, false
}
