package repl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"sockstep/steps"
)

// helpPointer finds a report's pointer to help: `help option SO_RCVBUF`.
var helpPointer = regexp.MustCompile("`(help [^`]+)`")

// TestOptionReportsPointToHelpThatExplains: what option's reports tell a
// learner to type for help, typed, explains the option they are about:
// its name in the usage and its own text, not option's general paragraph.
// `help option` lists every option, and a name may be short and in any
// case.
func TestOptionReportsPointToHelpThatExplains(t *testing.T) {
	s, out := fullSession(t)
	mustEval(t, s, "socket udp as u")
	general, err := evalOut(s, out, "help option")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range steps.OptionStep.Topics {
		if !strings.Contains(general, name) {
			t.Errorf("help option: got %q, want %s in it", general, name)
		}
	}
	for _, tt := range []struct{ line, option string }{
		{"option u", ""},
		{"option u rcvbuf", "SO_RCVBUF"},
		{"option u SO_BROADCAST", "SO_BROADCAST"},
		{"option u nonblock", "O_NONBLOCK"},
	} {
		said, err := evalOut(s, out, tt.line)
		if err != nil {
			t.Fatalf("%s: %v", tt.line, err)
		}
		m := helpPointer.FindStringSubmatch(strings.Join(strings.Fields(said), " "))
		if m == nil {
			t.Errorf("%s: got %q, which points to no help", tt.line, said)
			continue
		}
		option := tt.option
		if option == "" { // the list's pointer: help option NAME
			option = "SO_REUSEPORT"
			m[1] = strings.Replace(m[1], "NAME", "reuseport", 1)
		}
		shown, err := evalOut(s, out, m[1])
		if err != nil {
			t.Errorf("%s: its pointer `%s` failed: %v\n%s", tt.line, m[1], err, shown)
			continue
		}
		if !strings.Contains(shown, "option SOCK "+option+" ") || shown == general || len(strings.Fields(shown)) < 20 {
			t.Errorf("%s: its pointer `%s` shows %q, which does not explain %s", tt.line, m[1], shown, option)
		}
	}
	for _, typed := range []string{"so_linger", "Linger", "SO_LINGER"} {
		shown, err := evalOut(s, out, "help option "+typed)
		if err != nil || !strings.Contains(shown, "option SOCK SO_LINGER ") {
			t.Errorf("help option %s: got %q, %v", typed, shown, err)
		}
	}
	refused, err := evalOut(s, out, "help option frobnicate")
	if err == nil || !strings.Contains(refused, "does not know the option") {
		t.Errorf("help option frobnicate: got %q, %v; want it refused", refused, err)
	}
	// Its example, typed, explains an option.
	if m := exampleLine.FindStringSubmatch(refused); m == nil {
		t.Errorf("help option frobnicate: got %q, which shows no example", refused)
	} else if shown, err := evalOut(s, out, m[1]); err != nil || !strings.Contains(shown, "option SOCK SO_") {
		t.Errorf("help option frobnicate: its example %q shows %q, %v; want an option explained", m[1], shown, err)
	}
}

// TestHelpShowSaysWhatShowShows: each part of a socket `help show` names
// is a line of what show writes for a connection, and each line show
// writes is named in the help.
func TestHelpShowSaysWhatShowShows(t *testing.T) {
	s, out := pairSession(t)
	shown, err := evalOut(s, out, "show conn")
	if err != nil {
		t.Fatal(err)
	}
	help, err := evalOut(s, out, "help show")
	if err != nil {
		t.Fatal(err)
	}
	help = strings.Join(strings.Fields(help), " ")
	for _, tt := range []struct{ phrase, label string }{
		{"addresses", "  local "},
		{"TCP state", "  state "},
		{"queued bytes", "  queues "},
		{"whether each call would block", "  blocks? "},
		{"blocking or non-blocking", "  mode "},
		{"Python", "  python "},
	} {
		said, done := strings.Contains(help, tt.phrase), strings.Contains(shown, tt.label)
		if said != done {
			t.Errorf("help show names %q: %v, but show writes a %q line: %v\nhelp: %s\nshow:\n%s", tt.phrase, said, strings.TrimSpace(tt.label), done, help, shown)
		}
	}
}

// TestHelpNarrateSaysWhatEachLevelShows: the sentence `help narrate`
// gives each level (with the sentences that speak of every level) names
// each part of a report that level shows, and no other, for a recv that
// receives data, a call that fails, and a call that succeeds.
func TestHelpNarrateSaysWhatEachLevelShows(t *testing.T) {
	s, out := pairSession(t)
	help, err := evalOut(s, out, "help narrate")
	if err != nil {
		t.Fatal(err)
	}
	sentences := map[string]string{}
	var common string
	for _, sentence := range strings.SplitAfter(strings.Join(strings.Fields(help[strings.Index(help, "full shows"):]), " "), ". ") {
		level, _, _ := strings.Cut(sentence, " ")
		if _, ok := narrationNames[level]; ok {
			sentences[level] = sentence
		} else {
			common += sentence
		}
	}
	closed := freePort(t)
	parts := []struct{ phrase, label string }{
		{"state change", "  state "},
		{"as code", "  python "},
		{"next step", "  next "},
		{"the error", "  error "},
		{"a fix", "  fix "},
		{"Received data", "  data "},
	}
	for level := range narrationNames {
		mustEval(t, s, "narrate "+level, "send conn hello", "socket as c"+level)
		shown, _ := evalOut(s, out, "recv client")
		failed, err := evalOut(s, out, fmt.Sprintf("connect c%s 127.0.0.1 %d", level, closed))
		if err == nil {
			t.Fatalf("connect to the closed port %d: got no error\n%s", closed, failed)
		}
		shown += failed
		said := sentences[level] + common
		for _, p := range parts {
			if strings.Contains(said, p.phrase) != strings.Contains(shown, p.label) {
				t.Errorf("narrate %s: help names %q: %v, the output has a %q line: %v\nhelp: %s\noutput:\n%s",
					level, p.phrase, strings.Contains(said, p.phrase), strings.TrimSpace(p.label), strings.Contains(shown, p.label), said, shown)
			}
		}
	}
}

// TestHelpCodeSaysWhenCodeIsShown: the languages `code` chooses are shown
// at one narration level only, and `help code` names the levels that show
// none.
func TestHelpCodeSaysWhenCodeIsShown(t *testing.T) {
	s, out := fullSession(t)
	help, err := evalOut(s, out, "help code")
	if err != nil {
		t.Fatal(err)
	}
	help = strings.Join(strings.Fields(help), " ")
	mustEval(t, s, "code c")
	for level := range narrationNames {
		mustEval(t, s, "narrate "+level)
		shown, err := evalOut(s, out, "socket as s"+level)
		if err != nil {
			t.Fatal(err)
		}
		if withCode := strings.Contains(shown, "  c       "); withCode == strings.Contains(help, "`narrate "+level+"`") {
			t.Errorf("narrate %s: the code line is shown: %v, yet help code says %q\n%s", level, withCode, help, shown)
		}
	}
}

// TestCodeRefusesAllWithOthers: `code all python` is refused without
// calling all, which the usage offers, no language, and changes nothing.
func TestCodeRefusesAllWithOthers(t *testing.T) {
	s, out := fullSession(t)
	mustEval(t, s, "code c")
	for _, line := range []string{"code all python", "code c all"} {
		said, err := evalOut(s, out, line)
		if err == nil || strings.Contains(said, `"all" is not`) || !strings.Contains(said, "code all") {
			t.Errorf("%s: got %q, %v; want it refused, with `code all` as the way to choose all", line, said, err)
		}
		if !slices.Equal(s.render.langs, []string{"c"}) {
			t.Errorf("%s: the languages are now %q, want c still", line, s.render.langs)
		}
	}
}

// TestHelpOfACommandWithMoreWords: words after a command's name are not
// taken for a command that does not exist; the refusal names the help
// that exists, which works when typed.
func TestHelpOfACommandWithMoreWords(t *testing.T) {
	s, out := fullSession(t)
	for _, tt := range []struct{ line, want string }{
		{"help send x", "`help send`"},
		{"help bind 127.0.0.1 8081", "`help bind`"},
		{"help option SO_LINGER on", "`help option SO_REUSEADDR`"},
	} {
		said, err := evalOut(s, out, tt.line)
		if err == nil || strings.Contains(said, "no command") || !strings.Contains(said, tt.want) {
			t.Errorf("%s: got %q, %v; want it refused, pointing to %s", tt.line, said, err, tt.want)
			continue
		}
		if said, err := evalOut(s, out, strings.Trim(tt.want, "`")); err != nil {
			t.Errorf("%s: %s fails: %v\n%s", tt.line, tt.want, err, said)
		}
	}
}

// TestHelpSaysHowSocketsAreNamed: the first name the lab gives a socket
// made without `as`, and one accept made, stand in the list of `help`,
// which fits the width.
func TestHelpSaysHowSocketsAreNamed(t *testing.T) {
	out := new(strings.Builder)
	s := New(out, Options{Narration: Full, Width: 80})
	t.Cleanup(s.Close)
	port := freePort(t)
	mustEval(t, s, "socket", fmt.Sprintf("bind s1 127.0.0.1 %d", port), "listen s1", "socket",
		fmt.Sprintf("connect s2 127.0.0.1 %d", port), "accept s1")
	help, err := evalOut(s, out, "help")
	if err != nil {
		t.Fatal(err)
	}
	for _, sock := range s.Lab().Sockets() {
		if !strings.ContainsAny(sock.Name[len(sock.Name)-1:], "0123456789") {
			continue // named with as
		}
		if first := strings.TrimRight(sock.Name, "0123456789") + "1"; !strings.Contains(help, first+",") {
			t.Errorf("the lab named a socket %s, but help does not tell of %s:\n%s", sock.Name, first, help)
		}
	}
	for _, line := range strings.Split(help, "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("help's line is %d columns wide: %q", n, line)
		}
	}
}

// TestHelpFitsTheWidth: at every width from 40 columns the list of `help`
// fits, and names every command with every word of its summary.
func TestHelpFitsTheWidth(t *testing.T) {
	whole := func(width int) string {
		out := new(strings.Builder)
		s := New(out, Options{Width: width})
		defer s.Close()
		mustEval(t, s, "help")
		return out.String()
	}
	want := strings.Fields(whole(10000))
	for _, width := range []int{40, 60, 80, 100} {
		got := whole(width)
		for _, l := range strings.Split(got, "\n") {
			if n := utf8.RuneCountInString(l); n > width {
				t.Errorf("%d columns: a line is %d columns wide: %q", width, n, l)
			}
		}
		if !slices.Equal(strings.Fields(got), want) {
			t.Errorf("%d columns: got\n%s\nwant the same words as on one line each:\n%s", width, got, whole(10000))
		}
	}
}
