package steps

import "net/netip"

// maxEnded bounds how many closed sockets' connections a lab remembers.
const maxEnded = MaxSockets

// An endKey is one end of a TCP connection, as that end sees it.
type endKey struct{ local, remote netip.AddrPort }

// endOf is the key of the end with these addresses, IPv4-mapped addresses
// unmapped so that an IPv6 socket and an IPv4 one compare alike.
func endOf(local, remote netip.AddrPort) endKey {
	unmap := func(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }
	return endKey{unmap(local), unmap(remote)}
}

// rememberEnd keeps the name of a socket whose connection outlives its file
// descriptor: after close the kernel still holds the connection (FIN_WAIT,
// TIME_WAIT) and answers the peer, so a FIN the peer sends later belongs in
// that socket's column of the diagram, not in a column of its own.
func (l *Lab) rememberEnd(s *Socket, snap Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keepEndLocked(endOf(snap.Local, snap.Remote), s.Name)
}

// keepEndLocked is rememberEnd for a lab already locked.
func (l *Lab) keepEndLocked(k endKey, name string) {
	if l.ended == nil {
		l.ended = map[endKey]string{}
	}
	if len(l.ended) >= maxEnded {
		for k := range l.ended {
			delete(l.ended, k) // any one: an old connection is long gone
			break
		}
	}
	l.ended[k] = name
}

// endedPeer names the closed socket at the other end of snap's connection.
func (l *Lab) endedPeer(snap Snapshot) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	name, ok := l.ended[endOf(snap.Remote, snap.Local)]
	return name, ok
}
