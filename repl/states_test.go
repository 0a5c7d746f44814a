package repl

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"sockstep/steps"
)

// TestStatesGolden draws the state machine at 80 columns, without colour,
// with each state marked in turn (and with none, for a system that cannot
// tell), against testdata/states/NAME.golden. Run `go test ./repl -run
// Golden -update` to rewrite the golden files, and review the diff.
func TestStatesGolden(t *testing.T) {
	for _, state := range append([]steps.TCPState{0}, tcpStates...) {
		name := state.String()
		t.Run(name, func(t *testing.T) {
			plain := &renderer{st: newStyle(false), width: 80}
			got := statesText("conn (fd 5)", state, plain)
			checkPicture(t, got, 80)
			compareGolden(t, "testdata/states/"+name+".golden", got)
			coloured := &renderer{st: newStyle(true), width: 80}
			checkColourOnlyDecorates(t, statesText("conn (fd 5)", state, coloured), got)

			boxes := 1
			switch state {
			case 0:
				boxes = 0
			case steps.Closed:
				boxes = 2 // where a socket starts, and where a connection ends
			}
			if n := strings.Count(got, "[*"); n != boxes {
				t.Errorf("got %d states marked, want %d", n, boxes)
			}
			if boxes > 0 && !strings.Contains(got, "[*"+name+"*]") {
				t.Errorf("the picture does not mark [*%s*]:\n%s", name, got)
			}
			here := "\n  you are here: " + name + "\n"
			if state == 0 {
				here = "\n  you are here: not known"
			}
			if !strings.Contains(got, here) {
				t.Errorf("got no line %q in\n%s", strings.TrimSpace(here), got)
			}
		})
	}
}

// TestShowStatesLive checks `show SOCK --states` on live loopback
// sockets: the state marked is the one the kernel reports, and a UDP
// socket is said to have none.
func TestShowStatesLive(t *testing.T) {
	var out strings.Builder
	s := New(&out, Options{Width: 80})
	defer s.Close()
	eval := func(lines ...string) {
		t.Helper()
		for _, line := range lines {
			if err := s.Eval(context.Background(), line); err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out.String())
			}
		}
	}
	eval("socket as fresh", "socket udp as u", "socket as server", "bind server 127.0.0.1 0", "listen server")
	server := mustFind(t, s, "server")
	port := strconv.Itoa(int(steps.Read(server).Local.Port()))
	eval("socket as client", "connect client 127.0.0.1 "+port, "accept server as conn",
		"socket as closer", "connect closer 127.0.0.1 "+port, "accept server as left", "shutdown closer write")
	tests := []struct {
		sock, want string
	}{
		{"fresh", "CLOSED"},
		{"server", "LISTEN"},
		{"client", "ESTABLISHED"},
		{"conn", "ESTABLISHED"},
		{"left", "CLOSE_WAIT"},
		{"u", ""},
	}
	for _, tt := range tests {
		t.Run(tt.sock, func(t *testing.T) {
			sock := mustFind(t, s, tt.sock)
			if tt.want != "" {
				// A FIN on loopback is handled at once; allow the kernel a
				// moment all the same before the picture reads the state.
				deadline := time.Now().Add(2 * time.Second)
				for steps.Read(sock).State.String() != tt.want && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if kernel := steps.Read(sock).State.String(); kernel != tt.want {
					t.Fatalf("the kernel says %s, the test expects %s", kernel, tt.want)
				}
			}
			out.Reset()
			if err := s.Eval(context.Background(), "show "+tt.sock+" --states"); err != nil {
				t.Fatalf("show: %v\n%s", err, out.String())
			}
			got := out.String()
			checkPicture(t, got, 80)
			if tt.want == "" {
				if !strings.Contains(got, "UDP has no connections, so it has no state machine") || strings.Contains(got, "┌") {
					t.Errorf("got %q, want it said that UDP has no state machine, and no picture", got)
				}
				return
			}
			for _, want := range []string{"[*" + tt.want + "*]", "\n  you are here: " + tt.want + "\n"} {
				if !strings.Contains(got, want) {
					t.Errorf("got no %q in\n%s", want, got)
				}
			}
		})
	}
}

func TestShowStatesArguments(t *testing.T) {
	var out strings.Builder
	s := New(&out, Options{Width: 80})
	defer s.Close()
	if err := s.Eval(context.Background(), "socket as server"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line    string
		wantErr bool
		want    string
	}{
		{"show server --states", false, "you are here: CLOSED"},
		{"show --states server", false, "you are here: CLOSED"},
		{"show server", false, "state   CLOSED"},
		{"show server --state", true, "show takes one socket: its name or fd number, and may take --states"},
		{"show --states", true, "show takes one socket: its name or fd number, and may take --states"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			out.Reset()
			err := s.Eval(context.Background(), tt.line)
			if (err != nil) != tt.wantErr || !strings.Contains(out.String(), tt.want) {
				t.Errorf("got %v and %q, want error %v and %q", err, out.String(), tt.wantErr, tt.want)
			}
		})
	}
}

func TestShowComplete(t *testing.T) {
	s := New(io.Discard, Options{})
	defer s.Close()
	if err := s.Eval(context.Background(), "socket as server"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line string
		want []string
	}{
		{"show ", []string{"server"}},
		{"show server ", []string{"--states"}},
		{"show server --", []string{"--states"}},
		{"show server --states ", nil},
	}
	for _, tt := range tests {
		if got, _ := s.Complete(tt.line); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Complete(%q): got %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestParseStateMachineRejects checks that a broken states.txt is caught
// with what is wrong, and where.
func TestParseStateMachineRejects(t *testing.T) {
	valid := statesFile
	replace := func(old, new string) string {
		if !strings.Contains(valid, old) {
			t.Fatalf("states.txt has no %q to break", old)
		}
		return strings.Replace(valid, old, new, 1)
	}
	tests := []struct {
		name, text, want string
	}{
		{"no picture", replace("\n[picture]\n", "\n[pictures]\n"), "no [picture] section"},
		{"a state without room", replace("  ESTABLISHED  ", "ESTABLISHED    "), `no "ESTABLISHED" with two spaces`},
		{"a state missing", replace("  SYN_RECV  ", "            "), `no "SYN_RECV"`},
		{"too wide", replace("\n[picture]\n", "\n[picture]\n"+strings.Repeat("─", 79)+"\n"), "states.txt:16: the picture's line is 79 columns wide"},
		{"no meaning", replace("[LAST_ACK]", "[LAST_ACKS]"), "[LAST_ACK] must say in one paragraph"},
		{"an arrow to no state", replace("LAST_ACK → CLOSED: recv ACK", "LAST_ACK → CLOSE: recv ACK"), `not "LAST_ACK → CLOSE: recv ACK"`},
		{"a state with no arrow", strings.Replace(replace("CLOSING → TIME_WAIT: recv ACK\n", ""), "FIN_WAIT1 → CLOSING: recv FIN / send ACK\n", "", 1), "no arrow in [arrows] leads to or from CLOSING"},
		{"two paragraphs", replace("[CLOSING]\n", "[CLOSING]\nOne.\n\n"), "[CLOSING] must say in one paragraph"},
		{"twice", valid + "\n[notes]\nmore\n", "section [notes] appears twice"},
		{"text first", "words\n" + valid, "states.txt:1: text before the first [section]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseStateMachine("states.txt", tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
	if _, err := parseStateMachine("states.txt", valid); err != nil {
		t.Errorf("states.txt itself: %v", err)
	}
}

// TestShowStatesFitsTheWidth shows the state of live loopback sockets at
// 40, 60 and 80 columns: every line fits; where the picture does not (its
// widest line, two columns in), one sentence says how wide a terminal it
// needs, and its arrows follow one a line, every one of states.txt's,
// with the state the kernel reports marked.
func TestShowStatesFitsTheWidth(t *testing.T) {
	need := 0
	for _, line := range machine.picture {
		need = max(need, utf8.RuneCountInString(line)+2)
	}
	_, arrows, _ := strings.Cut(statesFile, "\n[arrows]\n")
	arrows, _, _ = strings.Cut(arrows, "\n\n")
	for _, width := range []int{40, 60, 80} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			var out strings.Builder
			s := New(&out, Options{Width: width})
			t.Cleanup(s.Close)
			port := freePort(t)
			mustEval(t, s, "socket as server", fmt.Sprintf("bind server 127.0.0.1 %d", port), "listen server",
				"socket as client", fmt.Sprintf("connect client 127.0.0.1 %d", port), "accept server as conn")
			for _, name := range []string{"conn", "server"} {
				state := steps.Read(mustFind(t, s, name)).State.String()
				got, err := evalOut(s, &out, "show "+name+" --states")
				if err != nil {
					t.Fatal(err)
				}
				checkPicture(t, got, width)
				if !strings.Contains(got, "[*"+state+"*]") || !strings.Contains(got, "you are here: "+state) {
					t.Errorf("show %s --states: the kernel says %s; got\n%s", name, state, got)
				}
				flat := strings.Join(strings.Fields(got), " ")
				says := fmt.Sprintf("The picture needs a terminal %d columns wide; this one has %d", need, width)
				if width >= need {
					if strings.Contains(flat, "The picture needs") || !strings.Contains(got, "┌") {
						t.Errorf("at %d columns, want the picture, not a list:\n%s", width, got)
					}
					continue
				}
				if !strings.Contains(flat, says) || strings.Contains(got, "┌") {
					t.Errorf("at %d columns, want %q and no picture:\n%s", width, says, got)
				}
				for _, a := range strings.Split(arrows, "\n") {
					a = strings.ReplaceAll(strings.ReplaceAll(a, state+" ", "[*"+state+"*] "), state+":", "[*"+state+"*]:")
					if !strings.Contains(flat, a) {
						t.Errorf("at %d columns, want the arrow %q in\n%s", width, a, got)
					}
				}
			}
		})
	}
}
