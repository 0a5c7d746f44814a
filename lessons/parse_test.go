package lessons

import (
	"strings"
	"testing"
)

// good is a small lesson that parses; the cases below break it.
const good = `# a comment
title: A lesson
about: what it is about

== read
Some text,
on two lines.

    code(line)

    more code

== do
Do something.

check: listening
check: accept-queue >= 2
hint: A hint.
answer: listen server

== read
The end.
`

func TestParseGoodLesson(t *testing.T) {
	l, err := Parse("good.lesson", good)
	if err != nil {
		t.Fatal(err)
	}
	if l.ID != "good" || l.Title != "A lesson" || l.About != "what it is about" {
		t.Errorf("got id %q, title %q, about %q", l.ID, l.Title, l.About)
	}
	if len(l.Pages) != 1 || len(l.Ending) != 1 {
		t.Fatalf("got %d pages and %d ending cells, want 1 and 1", len(l.Pages), len(l.Ending))
	}
	reading := l.Pages[0].Reading[0]
	want := Prose{{Text: "Some text, on two lines."}, {Code: true, Text: "code(line)"}, {Code: true}, {Code: true, Text: "more code"}}
	if len(reading) != len(want) {
		t.Fatalf("got blocks %+v, want %+v", reading, want)
	}
	for i := range want {
		if reading[i] != want[i] {
			t.Errorf("block %d: got %+v, want %+v", i, reading[i], want[i])
		}
	}
	step := l.Pages[0].Step
	var checks []string
	for _, c := range step.Checks {
		checks = append(checks, c.String())
	}
	if got := strings.Join(checks, "; "); got != "listening >= 1; accept-queue >= 2" {
		t.Errorf("checks: got %q", got)
	}
	if step.Line != 13 || step.Hints[0] != "A hint." || step.Answer[0] != "listen server" {
		t.Errorf("step: got line %d, hints %q, answer %q", step.Line, step.Hints, step.Answer)
	}
}

// Each malformed lesson is rejected with the file's name and the line of
// the mistake.
func TestParseRejectsMalformedLessons(t *testing.T) {
	do := "== do\nDo it.\ncheck: listening\nhint: h\nanswer: listen s\n"
	cases := []struct {
		name, text, want string
	}{
		{"no title", "about: a\n" + do, "bad.lesson:1: the lesson has no `title:` line"},
		{"no about", "title: t\n" + do, "bad.lesson:1: the lesson has no `about:` line"},
		{"title twice", "title: t\ntitle: u\n", "bad.lesson:2: title: is given twice"},
		{"empty title", "title:\n", "bad.lesson:1: title: is empty"},
		{"text before cells", "title: t\nabout: a\nHello\n" + do, "bad.lesson:3: before the first cell only `title:` and `about:`"},
		{"unknown cell", "title: t\nabout: a\n== dance\n", "bad.lesson:3: a cell is `== read` or `== do`, not `== dance`"},
		{"no do cell", "title: t\nabout: a\n== read\ntext\n", "bad.lesson:4: the lesson has no `== do` cell"},
		{"empty read cell", "title: t\nabout: a\n== read\n\n" + do, "bad.lesson:3: the cell has no text"},
		{"check in a read cell", "title: t\nabout: a\n== read\ntext\ncheck: listening\n", "bad.lesson:5: check: belongs in a `== do` cell"},
		{"do cell without check", "title: t\nabout: a\n== do\nDo it.\nhint: h\nanswer: a\n", "bad.lesson:3: the do cell lacks a check: line"},
		{"do cell without hint or answer", "title: t\nabout: a\n== do\nDo it.\ncheck: listening\n", "bad.lesson:3: the do cell lacks a hint: line, an answer: line"},
		{"do cell without text", "title: t\nabout: a\n== do\ncheck: listening\nhint: h\nanswer: a\n", "bad.lesson:3: the do cell lacks text saying what to do"},
		{"text after directives", "title: t\nabout: a\n== do\nDo it.\ncheck: listening\nmore text\n", "bad.lesson:6: text after the cell's"},
		{"empty directive", "title: t\nabout: a\n== do\nDo it.\nhint:\n", "bad.lesson:5: hint: is empty"},
		{"unknown check", "title: t\nabout: a\n== do\nDo it.\ncheck: listenning\n", `bad.lesson:5: there is no check "listenning"`},
		{"count without number", "title: t\nabout: a\n== do\nDo it.\ncheck: sockets >= many\n", "bad.lesson:5: check sockets takes a comparison"},
		{"count with a wrong comparison", "title: t\nabout: a\n== do\nDo it.\ncheck: sockets > 1\n", "bad.lesson:5: check sockets takes a comparison"},
		{"negative count", "title: t\nabout: a\n== do\nDo it.\ncheck: sockets >= -1\n", "bad.lesson:5: check sockets takes a comparison"},
		{"argument to a plain check", "title: t\nabout: a\n== do\nDo it.\ncheck: reset now\n", "bad.lesson:5: check reset takes nothing after its name"},
		{"unknown errno", "title: t\nabout: a\n== do\nDo it.\ncheck: failed ECONNFUSED\n", `bad.lesson:5: check failed takes the name of an errno`},
		{"failed without errno", "title: t\nabout: a\n== do\nDo it.\ncheck: failed\n", `bad.lesson:5: check failed takes the name of an errno`},
		{"bad command", "title: t\nabout: a\n== do\nDo it.\ncheck: ran Sockets!\n", `bad.lesson:5: check ran takes the name of a command`},
		{"wrong side", "title: t\nabout: a\n== do\nDo it.\ncheck: time-wait middle\n", `bad.lesson:5: check time-wait takes nothing or server or client, not "middle"`},
		{"wrong queue side", "title: t\nabout: a\n== do\nDo it.\ncheck: recv-queue server >= 1\n", `bad.lesson:5: check recv-queue takes nothing or client or accepted or first-udp, not "server"`},
		{"side of a count that has none", "title: t\nabout: a\n== do\nDo it.\ncheck: listening client >= 1\n", "bad.lesson:5: check listening takes a comparison"},
		{"two words", "title: t\nabout: a\n== do\nDo it.\ncheck: bound every loopback\n", `bad.lesson:5: check bound takes one word`},
		{"browser not http", "title: t\nabout: a\n== do\nDo it.\nbrowser: ftp://x/\n", "bad.lesson:5: browser: takes a URL starting with http://"},
		{"two browsers", "title: t\nabout: a\n== do\nDo it.\nbrowser: http://a/\nbrowser: http://b/\n", "bad.lesson:6: a cell opens one browser"},
		{"not UTF-8", "title: t\nabout: \xff\n", "bad.lesson:2: the line is not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("bad.lesson", c.text)
			if err == nil {
				t.Fatalf("got no error, want %q", c.want)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("got %q, want it to start with %q", err, c.want)
			}
		})
	}
}

// FuzzParseLesson feeds Parse arbitrary text: it must never panic, every
// error must name the file and a line, and every lesson it accepts must
// have what the tutor relies on.
func FuzzParseLesson(f *testing.F) {
	f.Add(good)
	for _, l := range catalogue {
		text, err := files.ReadFile(l.File)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(text))
	}
	f.Fuzz(func(t *testing.T, text string) {
		l, err := Parse("fuzz.lesson", text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.lesson:") {
				t.Fatalf("the error %q does not start with the file's name", err)
			}
			return
		}
		if l.Title == "" || l.About == "" || len(l.Pages) == 0 {
			t.Fatalf("accepted a lesson without title, about or steps: %+v", l)
		}
		for _, page := range l.Pages {
			s := page.Step
			if len(s.Prose) == 0 || len(s.Checks) == 0 || len(s.Hints) == 0 || len(s.Answer) == 0 {
				t.Fatalf("accepted a step without text, check, hint or answer: %+v", s)
			}
			for _, a := range s.Answer {
				if len(strings.Fields(a)) == 0 {
					t.Fatalf("accepted an answer with no command: %q", a)
				}
			}
		}
	})
}
