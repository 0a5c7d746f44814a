package kerneltest

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// SuggestedPortsFree returns an error when a port that sockstep's
// suggestions start from is taken on this machine: TCP 8081 on every
// interface, UDP 9090 on loopback. Transcripts show those suggestions
// (bind s "" 8081), which name the next free port instead while another
// program, such as a sockstep auto server in another terminal, holds one.
func SuggestedPortsFree() error {
	var taken []string
	for _, p := range []struct {
		what   string
		domain int
		typ    int
		addr   unix.Sockaddr
	}{
		{"TCP 0.0.0.0:8081", unix.AF_INET, unix.SOCK_STREAM, &unix.SockaddrInet4{Port: 8081}},
		{"TCP [::]:8081", unix.AF_INET6, unix.SOCK_STREAM, &unix.SockaddrInet6{Port: 8081}},
		{"UDP 127.0.0.1:9090", unix.AF_INET, unix.SOCK_DGRAM, &unix.SockaddrInet4{Port: 9090, Addr: [4]byte{127, 0, 0, 1}}},
		{"UDP [::1]:9090", unix.AF_INET6, unix.SOCK_DGRAM, &unix.SockaddrInet6{Port: 9090, Addr: [16]byte{15: 1}}},
	} {
		fd, err := unix.Socket(p.domain, p.typ, 0)
		if err != nil {
			continue // nothing is known, so nothing is claimed
		}
		if unix.Bind(fd, p.addr) != nil {
			taken = append(taken, p.what)
		}
		unix.Close(fd)
	}
	if len(taken) > 0 {
		return fmt.Errorf("%s taken on this machine: the transcripts show sockstep's suggested binds on those ports; free them (a sockstep auto server, or a TIME_WAIT: `ss -tuan | grep -E ':(8081|9090)'`) and run the tests again", strings.Join(taken, " and "))
	}
	return nil
}
