package auto

import (
	"context"
	"strconv"
	"time"

	"sockstep/steps"
)

// client plays network_client.py: socket, connect, send the message and
// print it, then, where the tutorial sleeps a second, read the server's
// greeting for at most --wait, and close.
func (f *flow) client(ctx context.Context) error {
	p := f.plan
	intro := "client intro"
	if p.Wait == 0 {
		intro = "client intro no wait"
	}
	f.stage.Tell(Client, prose.Render(intro, clientIntro{Host: p.Host, Port: strconv.Itoa(p.Port), Wait: p.Wait.String(), IPv6: isIPv6(p.Host)}))
	if err := f.openSocket(ctx, Client, clientSocket, p.Host); err != nil {
		return err
	}
	if err := f.connect(ctx, p.Host, p.Port); err != nil {
		return err
	}
	if err := f.sendMessage(ctx, p.Message); err != nil {
		return err
	}
	if p.Wait > 0 {
		if err := f.readGreeting(ctx, p.Wait); err != nil {
			return err
		}
	}
	return f.closeClient(ctx)
}

// connect plays line 33 of network_client.py.
func (f *flow) connect(ctx context.Context, host string, port int) error {
	_, err := f.must(ctx, Client, steps.ConnectStep, clientSocket, host, strconv.Itoa(port), "--timeout", connectTimeout.String())
	return err
}

// sendMessage plays lines 27 to 38 of network_client.py: the message
// sent and printed.
func (f *flow) sendMessage(ctx context.Context, message string) error {
	rep, err := f.must(ctx, Client, steps.SendStep, clientSocket, "--timeout", connectTimeout.String(), message)
	if rep != nil && f.plan.Play == "client" {
		f.sum.BytesOut += rep.Sent
	}
	if err != nil {
		return err
	}
	f.stage.Print(Client, AsPrinted(steps.Printable([]byte(message))))
	return nil
}

// readGreeting takes the tutorial's second of sleep to read what the
// server sent, if it comes within wait. Whatever comes, or does not, the
// client goes on to close.
func (f *flow) readGreeting(ctx context.Context, wait time.Duration) error {
	rep, err := f.call(ctx, Client, steps.RecvStep, clientSocket, strconv.Itoa(steps.DefaultBufSize), "--timeout", wait.String())
	if err != nil {
		return err
	}
	if f.plan.Play == "client" {
		f.sum.BytesIn += len(rep.Data)
	}
	data := greetingLost{Wait: wait.String(), Demo: f.plan.Play == "demo"}
	switch {
	case rep.Stopped:
		f.stage.Tell(Client, prose.Render("no greeting", data))
	case rep.Failure != nil:
		data.Errno = rep.Failure.Name
		f.stage.Tell(Client, prose.Render("client lost", data))
	case len(rep.Data) == 0:
		f.stage.Tell(Client, prose.Render("no greeting closed", data))
	}
	return nil
}

// closeClient plays lines 44 and 45 of network_client.py.
func (f *flow) closeClient(ctx context.Context) error {
	if _, err := f.must(ctx, Client, steps.CloseStep, clientSocket); err != nil {
		return err
	}
	f.stage.Print(Client, "Message sent. Socket closed.")
	return nil
}
