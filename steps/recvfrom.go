package steps

import "context"

var recvfromProse = loadProse("recvfrom.txt", stepSections...)

// RecvfromStep takes one datagram and tells who sent it:
// recvfrom(3, 1024) = 4  from 127.0.0.1:40000.
var RecvfromStep = &Step{
	Name:     "recvfrom",
	Usage:    "recvfrom SOCK [BUFSIZE] [--timeout D] [--hex] | recvfrom SOCK --all [--hex]",
	Example:  "recvfrom u",
	Summary:  "receive one datagram and its sender (UDP)",
	About:    recvfromProse.About(),
	Complete: socketNames(afterReceive),
	Run: func(ctx context.Context, l *Lab, args []string) (*Report, error) {
		return receive(ctx, l, args, "recvfrom", recvfromProse)
	},
}
