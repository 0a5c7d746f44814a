package auto

import (
	"context"
	"net/netip"
	"strconv"

	"sockstep/steps"
)

// demo plays both programs in one process, one call at a time, in the
// order of the tutorial's figure: the server listens; the client connects,
// and connect returns while the connection still waits in the accept queue
// (the connect step's report shows the queue); the server accepts and
// greets; the client sends; the server receives, prints and closes; the
// client reads the greeting and closes.
func (f *flow) demo(ctx context.Context) error {
	p := f.plan
	to := demoClientHost(p.Host)
	f.stage.Tell(Server, prose.Render("demo intro", serverIntro{Every: everyInterface(p.Host), Tutorial: p.Host == "", IPv6: isIPv6(p.Host), To: to}))
	if err := f.listen(ctx, p.Host, p.Port); err != nil {
		return err
	}
	if err := f.openSocket(ctx, Client, clientSocket, to); err != nil {
		return err
	}
	if err := f.connect(ctx, to, f.port); err != nil {
		return err
	}
	rep, err := f.must(ctx, Server, steps.AcceptStep, serverSocket, "as", connection)
	if err != nil {
		return err
	}
	f.serving = rep.Peer // until its message is read
	f.sayAccepted(rep.Peer)
	if own := f.clientAddress(); own.IsValid() && rep.Peer != own {
		f.stage.Tell(Server, prose.Render("stranger", stranger{Peer: rep.Peer.String(), Own: own.String(), Port: strconv.Itoa(f.port), Every: everyInterface(p.Host), Picked: p.Port == 0}))
	}
	rep, err = f.must(ctx, Server, steps.SendStep, connection, "--timeout", p.IdleTimeout.String(), p.Greeting)
	if err != nil {
		return err
	}
	f.sum.BytesOut += rep.Sent
	if err := f.sendMessage(ctx, TutorialMessage(f.port)); err != nil {
		return err
	}
	rep, err = f.must(ctx, Server, steps.RecvStep, connection, strconv.Itoa(p.BufSize), "--timeout", p.IdleTimeout.String())
	if err != nil {
		return err
	}
	f.serving = netip.AddrPort{}
	f.sum.Clients++
	f.sum.BytesIn += len(rep.Data)
	f.stage.Print(Server, "The client has connected")
	f.stage.Message(Server, rep.Data)
	if _, err := f.must(ctx, Server, steps.CloseStep, connection); err != nil {
		return err
	}
	f.stage.Print(Server, "Client disconnected")
	f.sayListening()
	if err := f.readGreeting(ctx, p.Wait); err != nil {
		return err
	}
	if err := f.closeClient(ctx); err != nil {
		return err
	}
	_, err = f.must(ctx, Server, steps.CloseStep, serverSocket)
	return err
}

// clientAddress is the address the demo's client connected from, read
// from the kernel; not valid if its socket is gone.
func (f *flow) clientAddress() netip.AddrPort {
	s, err := f.lab.Find(clientSocket)
	if err != nil {
		return netip.AddrPort{}
	}
	return steps.LocalAddress(s)
}

// demoClientHost is where a client on this machine, the demo's, connects
// when the server listens on host: host itself, or for every interface
// the loopback address of its family, as the tutorial's client connects
// to 127.0.0.1.
func demoClientHost(host string) string {
	switch {
	case !everyInterface(host):
		return host
	case isIPv6(host):
		return "::1"
	}
	return DefaultClientHost
}
