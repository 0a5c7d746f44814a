package steps

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

var recvProse = loadProse("recv.txt", stepSections...)

// DefaultBufSize is the tutorial's buffer: connection.recv(1024).
const DefaultBufSize = 1024

// MaxBufSize bounds one recv's buffer, so memory stays bounded whatever a
// learner asks for.
const MaxBufSize = 1 << 20

// RecvStep reads what has arrived on a socket: recv(5, 1024) = 17.
var RecvStep = &Step{
	Name:     "recv",
	Usage:    "recv SOCK [BUFSIZE] [--timeout D] [--hex]   (BUFSIZE defaults to 1024)",
	Example:  "recv conn",
	Summary:  "receive the bytes that have arrived",
	About:    recvProse.About(),
	Complete: socketNames(keywords("1024", "--timeout", "--hex")),
	Run:      runRecv,
}

// recvData is what recv.txt can use.
type recvData struct {
	Name, Label, Py string
	FD              int
	BufSize, Got    int
	Left            int    // bytes still queued after the call
	From            string // the sender (UDP) or the peer (TCP)
	Waited          string
	Closed          bool // 0 bytes: the peer's orderly close
	NotText         bool // not valid UTF-8: Python's decode would fail
	Truncated       int  // a datagram's bytes that did not fit and are lost
	Datagram        bool
	State           string
}

func runRecv(ctx context.Context, l *Lab, args []string) (*Report, error) {
	args, flags, err := takeFlags(args, []string{"timeout"}, []string{"hex"})
	if err != nil {
		return nil, err
	}
	s, err := l.find(args, "should receive")
	if err != nil {
		return nil, err
	}
	data := recvData{Name: s.Name, Label: s.Label(), Py: s.Py(), FD: s.FD, BufSize: DefaultBufSize, Datagram: s.Kind == Datagram}
	switch len(args) {
	case 1:
	case 2:
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || n > MaxBufSize {
			return nil, usageErr(fmt.Sprintf("the buffer size is a number of bytes from 1 to %d, not %q", MaxBufSize, args[1]))
		}
		data.BufSize = n
	default:
		return nil, usageErr("recv takes a socket and an optional buffer size")
	}
	timeout, err := flags.timeout()
	if err != nil {
		return nil, err
	}
	before := l.lookBefore(s)
	call := "recv(" + strconv.Itoa(s.FD) + ", " + strconv.Itoa(data.BufSize) + ")"
	// A TCP socket that is not connected fails at once (ENOTCONN); only a
	// connection, or a datagram socket, has anything to wait for.
	waits := !before.NonBlocking && (s.Kind == Datagram || before.Connected() || !before.FromKernel)
	buf := make([]byte, data.BufSize)
	flags2 := unix.MSG_DONTWAIT
	if s.Kind == Datagram {
		flags2 |= unix.MSG_TRUNC // report a datagram's real length
	}
	for {
		if waits {
			what := "data"
			if before.Connected() {
				what = "data from " + before.Remote.String()
			}
			stop, waited, err := l.wait(ctx, s, unix.POLLIN, timeout, call, what)
			if err != nil || stop != nil {
				return stop, err
			}
			if waited > 0 {
				data.Waited = ms(waited)
			}
		}
		n, from, err := recvCall(s.FD, buf, flags2)
		if errors.Is(err, unix.EAGAIN) && waits {
			continue
		}
		if err != nil {
			return recvProse.refused(call, err, data), nil
		}
		if n > len(buf) {
			data.Truncated, n = n-len(buf), len(buf)
		}
		got := buf[:n]
		report := &Report{Call: call + " = " + strconv.Itoa(n), Data: got, Hex: flags["hex"] != ""}
		if l.CallsOnly {
			return report, nil
		}
		after := l.look(s)
		data.Got, data.Left, data.State = n, after.RecvQ, after.Summary(s.Kind)
		data.Closed = n == 0 && s.Kind == Stream
		data.NotText = !utf8.Valid(got)
		if from != nil {
			data.From = addrPortOf(from).String()
		} else if after.Connected() {
			data.From = after.Remote.String()
		}
		report.State = []Change{{Who: s.Label(), Before: queues(before), After: queues(after)}}
		return l.tell(report, recvProse, data), nil
	}
}
