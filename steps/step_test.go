package steps

import (
	"context"
	"strings"
	"testing"
	"time"
)

// runLine runs one step as a learner would type it, bounded by
// stepTimeout, and fails the test if the command was not understood.
// Unlike run it accepts a report that says nothing: a CallsOnly lab's
// reports are meant to.
func runLine(t *testing.T, l *Lab, st *Step, line string) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	rep, err := st.Run(ctx, l, strings.Fields(line))
	if err != nil {
		t.Fatalf("%s %s: %v", st.Name, line, err)
	}
	return rep
}

func TestCallsOnlyReportsTheCallsAndNothingElse(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	port := portOf(t, l, "server")
	l.CallsOnly = true
	defer func() { l.CallsOnly = false }() // for newLab's closing, which reads what close says

	accepted := runLine(t, l, AcceptStep, "server as conn2 --timeout 1ms")
	if !accepted.Stopped {
		t.Fatalf("accept on an empty queue: got %q, want a stopped wait", accepted.Call)
	}
	sent := runLine(t, l, SendStep, "client hello")
	if sent.Sent != 5 || sent.Says != "" || sent.Python != "" || sent.Next != "" || sent.State != nil {
		t.Errorf("send with CallsOnly: got Sent %d, Says %q, Python %q, Next %q, State %v; want 5 bytes and nothing else",
			sent.Sent, sent.Says, sent.Python, sent.Next, sent.State)
	}
	got := runLine(t, l, RecvStep, "conn")
	if string(got.Data) != "hello" || got.Says != "" {
		t.Errorf("recv with CallsOnly: got data %q and says %q, want \"hello\" and nothing said", got.Data, got.Says)
	}

	// A refused call is explained all the same.
	runLine(t, l, SocketStep, "as other")
	refused := runLine(t, l, BindStep, "other 127.0.0.1 "+port)
	if refused.Failure == nil || refused.Failure.Name != "EADDRINUSE" || refused.Failure.Meaning == "" {
		t.Errorf("bind to a port in use with CallsOnly: got %+v, want an explained EADDRINUSE", refused.Failure)
	}
}

func TestAcceptReportsThePeerAsTheCallReturnedIt(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	port := portOf(t, l, "server")
	runLine(t, l, SocketStep, "as d")
	runLine(t, l, ConnectStep, "d 127.0.0.1 "+port)
	rep := runLine(t, l, AcceptStep, "server as conn2")
	d, _ := l.Find("d")
	if want := Read(d).Local; rep.Peer != want {
		t.Errorf("accept's Peer: got %v, want the client's address %v", rep.Peer, want)
	}
}

func TestSendTimeoutStopsASendToAPeerThatNeverReads(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	// More than the two sockets' buffers on loopback can hold, so send
	// has to wait for room that never comes: conn never calls recv.
	big := strings.Repeat("x", 32<<20)
	start := time.Now()
	rep, err := SendStep.Run(context.Background(), l, []string{"client", "--timeout", "200ms", big})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("send took %v, want it stopped about 200ms after the buffers filled", took)
	}
	if !rep.Stopped || !strings.Contains(rep.Call, "timed out after 200ms") {
		t.Errorf("got call %q (stopped %v), want a send that timed out after 200ms", rep.Call, rep.Stopped)
	}
	if rep.Sent <= 0 || rep.Sent >= len(big) {
		t.Errorf("got %d bytes sent, want some but not all of %d", rep.Sent, len(big))
	}
}

func TestSendTakesTimeoutOnlyBeforeTheText(t *testing.T) {
	l := newLab(t)
	pair(t, l, families[0])
	tests := []struct {
		args     []string
		wantSent string // what conn receives, "" for a usage error
	}{
		{[]string{"client", "hello", "--timeout", "5s"}, ""},             // meant as the option, typed in the wrong place
		{[]string{"client", "hello --timeout 5s"}, "hello --timeout 5s"}, // quoted as one word: text
		{[]string{"client", "--timeout=5s", "--verbatim"}, "--verbatim"},
		{[]string{"client", "--timeout", "5s", "two", "words"}, "two words"},
		{[]string{"client", "--timeout"}, ""},
		{[]string{"client", "--timeout", "soon", "x"}, ""},
	}
	for _, tt := range tests {
		rep, err := SendStep.Run(context.Background(), l, tt.args)
		if tt.wantSent == "" {
			if !IsUsage(err) {
				t.Errorf("send %q: got %v, want a usage error", tt.args, err)
			}
			continue
		}
		if err != nil || rep.Failed() {
			t.Fatalf("send %q: %v %v", tt.args, err, rep)
		}
		got := runLine(t, l, RecvStep, "conn")
		if string(got.Data) != tt.wantSent {
			t.Errorf("send %q: conn received %q, want %q", tt.args, got.Data, tt.wantSent)
		}
	}
}

// TestWaitsReadAlike writes waits as the narration does: hundredths of a
// millisecond below 10 ms, whole milliseconds below a second, tenths of a
// second above, and a wait that rounds to 1000 ms as "1.0 s", as one of
// 1.0004 s is, never "1000 ms".
func TestWaitsReadAlike(t *testing.T) {
	for d, want := range map[time.Duration]string{
		1500 * time.Microsecond:    "1.50 ms",
		250 * time.Millisecond:     "250 ms",
		999400 * time.Microsecond:  "999 ms",
		999600 * time.Microsecond:  "1.0 s",
		1000400 * time.Microsecond: "1.0 s",
		2500 * time.Millisecond:    "2.5 s",
	} {
		if got := ms(d).String(); got != want {
			t.Errorf("%v: got %q, want %q", d, got, want)
		}
	}
}
