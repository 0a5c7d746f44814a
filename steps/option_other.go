//go:build !linux

package steps

// keepaliveOptions is empty here: the options that time SO_KEEPALIVE's
// probes are Linux's as sockstep teaches them (macOS calls the idle time
// TCP_KEEPALIVE, and takes other values).
var keepaliveOptions []option

// keepaliveTimes gives 0 for each: sockstep does not read them here.
func keepaliveTimes(int) (idle, intvl, probes int) { return 0, 0, 0 }
