// Package kerneltest checks, before a package's tests start, that the
// machine's kernel can show what they watch: a test that sees a connection
// enter TIME_WAIT cannot pass while the kernel keeps no TIME_WAIT at all.
package kerneltest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// TimeWaitRoom returns an error when the kernel's table of connections in
// TIME_WAIT is full. Linux then keeps no TIME_WAIT for a connection that
// closes (nstat's TcpExtTCPTimeWaitOverflow counts them), which is what a
// run of BENCHMARKS.md's benchmark leaves behind for a minute. Where the
// table cannot be read, it says nothing.
func TimeWaitRoom() error {
	text, err := os.ReadFile("/proc/sys/net/ipv4/tcp_max_tw_buckets")
	if err != nil {
		return nil
	}
	limit, err := strconv.Atoi(string(bytes.TrimSpace(text)))
	if err != nil || limit <= 0 {
		return nil
	}
	waiting := 0
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		text, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for line := range bytes.Lines(text) {
			// sl local remote st …: TIME_WAIT is state 06.
			if f := bytes.Fields(line); len(f) > 3 && string(f[3]) == "06" {
				waiting++
			}
		}
	}
	if waiting*100 < limit*95 {
		return nil
	}
	return fmt.Errorf("the kernel's TIME_WAIT table is full (%d connections, net.ipv4.tcp_max_tw_buckets = %d): "+
		"it keeps no TIME_WAIT for connections that close now, so the tests that watch one cannot pass. "+
		"Entries expire 60 s after they were made; wait until `ss -tan state time-wait | wc -l` is small", waiting, limit)
}
