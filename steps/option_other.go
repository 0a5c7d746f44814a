//go:build !linux

package steps

// keepaliveOptions is empty here: the options that time SO_KEEPALIVE's
// probes are Linux's as sockstep teaches them (macOS calls the idle time
// TCP_KEEPALIVE, and takes other values).
var keepaliveOptions []option
