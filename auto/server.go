package auto

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"sockstep/steps"
)

// server plays network_server.py: listen once, then serve clients one at
// a time until --count have been served or the learner stops it.
func (f *flow) server(ctx context.Context) error {
	p := f.plan
	f.stage.Tell(Server, prose.Render("server intro", serverIntro{Every: everyInterface(p.Host), Tutorial: p.Host == "", IPv6: isIPv6(p.Host), To: demoClientHost(p.Host), Count: p.Count, IdleTimeout: p.IdleTimeout.String()}))
	if err := f.listen(ctx, p.Host, p.Port); err != nil {
		return err
	}
	each := p.callsForEachClient()
	for p.Count == 0 || f.sum.Clients < p.Count {
		said, err := f.serveOne(ctx, each)
		if err != nil {
			return err
		}
		// After every client whose message came, the last too, as
		// network_server.py does inside its `if data:`: the listener
		// still listens until it is closed.
		if said {
			f.sayListening()
		}
	}
	_, err := f.must(ctx, Server, steps.CloseStep, serverSocket)
	return err
}

// listen plays lines 19 to 29 of network_server.py: socket, bind, listen,
// and the line that says the server is listening.
func (f *flow) listen(ctx context.Context, host string, port int) error {
	if err := f.openSocket(ctx, Server, serverSocket, host); err != nil {
		return err
	}
	if _, err := f.must(ctx, Server, steps.BindStep, serverSocket, host, strconv.Itoa(port)); err != nil {
		return err
	}
	if _, err := f.must(ctx, Server, steps.ListenStep, serverSocket); err != nil {
		return err
	}
	f.sayListening()
	return nil
}

// sayListening prints the tutorial's line with the port the listener
// holds, read back from the kernel once, after listen: it is the one the
// kernel chose when --port is 0, and a listener's port never changes.
func (f *flow) sayListening() {
	if f.port == 0 {
		if s, err := f.lab.Find(serverSocket); err == nil {
			f.port = int(steps.LocalAddress(s).Port())
		}
		f.listening = fmt.Sprintf("Listening for incoming connections on port %d . . .", f.port)
	}
	f.stage.Print(Server, f.listening)
}

// clientCalls are the words of the calls the server makes for each client,
// the same for every client.
type clientCalls struct {
	accept, send, recv, close []string
}

func (p *Plan) callsForEachClient() clientCalls {
	idle := p.IdleTimeout.String()
	return clientCalls{
		accept: []string{serverSocket, "as", connection},
		send:   []string{connection, "--timeout", idle, p.Greeting},
		recv:   []string{connection, strconv.Itoa(p.BufSize), "--timeout", idle},
		close:  []string{connection},
	}
}

// serveOne plays lines 34 to 57 of network_server.py for the next client:
// accept, send the greeting, recv, print the message, close. Whatever the
// client does (nothing, a reset, too much), the connection is closed and
// the server goes on; only a stop, or a listener that fails, ends it.
// The tutorial's lines are printed only where network_server.py prints
// them: its last two, inside `if data:`, only for a message, and said
// tells whether they were.
func (f *flow) serveOne(ctx context.Context, each clientCalls) (said bool, err error) {
	rep, err := f.call(ctx, Server, steps.AcceptStep, each.accept...)
	switch {
	case err != nil:
		return false, err
	case rep.Failure != nil && rep.Failure.Number == int(unix.ECONNABORTED):
		return false, nil // the client left before accept took it; the listener is fine
	case rep.Failed():
		return false, f.failed(steps.AcceptStep, rep)
	}
	peer := rep.Peer
	f.serving = peer // until its message is read
	f.last = f.plan.Count != 0 && f.sum.Clients+1 == f.plan.Count
	f.sayAccepted(peer)

	rep, err = f.call(ctx, Server, steps.SendStep, each.send...)
	if err != nil {
		return false, err
	}
	f.sum.BytesOut += rep.Sent
	gone := f.ended(steps.SendStep, rep, peer, "read the greeting")
	if !gone {
		rep, err = f.call(ctx, Server, steps.RecvStep, each.recv...)
		if err != nil {
			return false, err
		}
		f.sum.BytesIn += len(rep.Data)
		gone = f.ended(steps.RecvStep, rep, peer, "sent a message")
	}
	f.serving = netip.AddrPort{}
	f.sum.Clients++
	said = !gone && len(rep.Data) > 0 && utf8.Valid(rep.Data)
	if !gone {
		f.stage.Print(Server, "The client has connected")
		switch {
		case said:
			f.stage.Message(Server, rep.Data)
			if !f.plan.Quiet && webRequest(rep.Data) { // what a quiet stage would not show
				f.stage.Tell(Server, prose.Render("web client", webClient{Peer: peer.String(), Greeting: f.plan.Greeting}))
			}
		case len(rep.Data) > 0:
			f.stage.Tell(Server, f.notText(peer, rep.Data))
		default:
			f.stage.Tell(Server, prose.Render("silent close", droppedPeer{Peer: peer.String(), Over: f.connectionOver(), Last: f.last}))
			f.sum.ClosedSilently++
		}
	}
	if _, err := f.must(ctx, Server, steps.CloseStep, each.close...); err != nil {
		return false, err
	}
	if said {
		f.stage.Print(Server, "Client disconnected")
	}
	return said, nil
}

// notText says why network_server.py's decode would stop at data, which is
// not valid UTF-8: bytes that are not text, or text that recv returned
// with its last character cut, by a full buffer or by the rest not having
// arrived.
func (f *flow) notText(peer netip.AddrPort, data []byte) string {
	if have, need := cutCharacter(data); have > 0 {
		return prose.Render("cut text", cutText{Peer: peer.String(), Bytes: len(data), Have: have, Need: need, Full: len(data) == f.plan.BufSize, Last: f.last})
	}
	return prose.Render("not text", notText{Peer: peer.String(), Bytes: steps.QuoteShort(data), Last: f.last})
}

// cutCharacter says whether data is UTF-8 text but for its end, the first
// have bytes of a character that takes need; 0, 0 when it is not.
func cutCharacter(data []byte) (have, need int) {
	start := len(data) - 1
	for start > 0 && start > len(data)-utf8.UTFMax && !utf8.RuneStart(data[start]) {
		start--
	}
	if start < 0 || utf8.FullRune(data[start:]) || !utf8.Valid(data[:start]) {
		return 0, 0 // whole, or a byte no character starts with
	}
	switch lead := data[start]; {
	case lead >= 0xf0:
		need = 4
	case lead >= 0xe0:
		need = 3
	default:
		need = 2
	}
	return len(data) - start, need
}

// connectionOver says whether the kernel has the server's connection
// CLOSED: a client that closed its socket, not only its side, has its
// kernel answer the greeting with a reset. Where the kernel cannot be
// asked, it says false.
func (f *flow) connectionOver() bool {
	s, err := f.lab.Find(connection)
	if err != nil {
		return false
	}
	snap := steps.Read(s)
	return snap.FromKernel && snap.State == steps.Closed
}

// sayAccepted prints what network_server.py prints once accept has
// returned: the new socket (print(connection), its lines "for
// debugging"), the client's address, and the line that says who
// connected.
func (f *flow) sayAccepted(peer netip.AddrPort) {
	if conn, err := f.lab.Find(connection); err == nil {
		f.stage.Print(Server, steps.PyRepr(conn))
	}
	address := steps.PyAddress(peer)
	f.stage.Print(Server, address)
	f.stage.Print(Server, "Connection from: "+address)
}

// ended narrates a client whose connection ended before the call st,
// whose report is rep, did what it was asked, and counts it: a client
// that reset the connection (the call failed with ECONNRESET), or one the
// server gives up on, that has not done what the server waits for
// (waited) within --idle-timeout or whose connection failed otherwise. It
// returns false, and says nothing, when the call did what it was asked.
func (f *flow) ended(st *steps.Step, rep *steps.Report, peer netip.AddrPort, waited string) bool {
	switch {
	case rep.Stopped:
		f.stage.Tell(Server, prose.Render("idle", droppedPeer{Peer: peer.String(), Waited: waited, Timeout: f.plan.IdleTimeout.String(), Last: f.last}))
	case rep.Failure != nil && rep.Failure.Number == int(unix.ECONNRESET):
		f.stage.Tell(Server, prose.Render("reset", droppedPeer{Peer: peer.String(), Call: st.Name, Python: rep.Failure.Python, Last: f.last}))
		f.sum.Reset++
		return true
	case rep.Failure != nil:
		f.stage.Tell(Server, prose.Render("lost", droppedPeer{Peer: peer.String(), Errno: rep.Failure.Name, Python: rep.Failure.Python, Last: f.last}))
	default:
		return false
	}
	f.sum.Dropped++
	return true
}

// webRequest says whether a message begins as an HTTP request does, with
// a method in capitals, a target and the protocol: GET / HTTP/1.1.
func webRequest(data []byte) bool {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	method, rest, found := bytes.Cut(line, []byte(" "))
	if !found || len(method) == 0 {
		return false
	}
	for _, c := range method {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return bytes.Contains(rest, []byte(" HTTP/"))
}

// everyInterface says whether host, as bind takes it, means every
// interface of the machine.
func everyInterface(host string) bool {
	switch host {
	case "", "*", "any", "0.0.0.0", "::", "[::]":
		return true
	}
	return false
}
