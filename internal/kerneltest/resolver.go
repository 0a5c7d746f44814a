package kerneltest

import (
	"context"
	"errors"
	"net"
)

// NoDNS is a resolver for tests, which connect only to this machine: it
// reads /etc/hosts, where localhost is, and sends no DNS query, so that a
// name it does not find there has no address, as a name that resolves
// nowhere does, without a packet leaving the machine to say so.
var NoDNS = &net.Resolver{
	PreferGo: true,
	Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errNoDNS
	},
}

var errNoDNS = errors.New("tests send no DNS query")
