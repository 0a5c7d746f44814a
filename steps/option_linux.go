package steps

import "golang.org/x/sys/unix"

// keepaliveOptions are the TCP options that time SO_KEEPALIVE's probes,
// with the most Linux takes for each (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL
// and MAX_TCP_KEEPCNT in include/net/tcp.h); it refuses 0 and more with
// EINVAL.
var keepaliveOptions = []option{
	{Name: "TCP_KEEPIDLE", Level: "IPPROTO_TCP", level: unix.IPPROTO_TCP, opt: unix.TCP_KEEPIDLE, kind: seconds, stream: true, most: 32767},
	{Name: "TCP_KEEPINTVL", Level: "IPPROTO_TCP", level: unix.IPPROTO_TCP, opt: unix.TCP_KEEPINTVL, kind: seconds, stream: true, most: 32767},
	{Name: "TCP_KEEPCNT", Level: "IPPROTO_TCP", level: unix.IPPROTO_TCP, opt: unix.TCP_KEEPCNT, kind: count, stream: true, most: 127},
}
