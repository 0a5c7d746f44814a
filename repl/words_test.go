package repl

import (
	"context"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// splitWordsCases is shared by TestSplitWords and the seeds of FuzzSplitWords.
// A case wants either words or the exact error message err.
var splitWordsCases = []struct {
	name string
	line string
	want []string
	err  string
}{
	// Separators.
	{name: "empty line", line: "", want: nil},
	{name: "only blanks", line: " \t  \t", want: nil},
	{name: "one word", line: "listen", want: []string{"listen"}},
	{name: "runs of spaces and tabs", line: "  bind\t \ts  127.0.0.1 \t8081  ", want: []string{"bind", "s", "127.0.0.1", "8081"}},
	{name: "CR and LF are not separators", line: "a\r\nb c\r", want: []string{"a\r\nb", "c\r"}},

	// Single quotes.
	{name: "single quotes keep spaces", line: "send c 'hello world'", want: []string{"send", "c", "hello world"}},
	{name: "single quotes have no escapes", line: `'a\n\x41\'`, want: []string{`a\n\x41\`}},
	{name: "double quote inside single quotes", line: `'say "hi"'`, want: []string{`say "hi"`}},
	{name: "hash and semicolon inside single quotes", line: "'#; x'", want: []string{"#; x"}},

	// Double quotes and their escapes.
	{name: "double quotes keep spaces and tabs", line: "\"a b\tc\"", want: []string{"a b\tc"}},
	{name: "escape n r t", line: `"\n\r\t"`, want: []string{"\n\r\t"}},
	{name: "escaped backslash and quote", line: `"\\ \""`, want: []string{`\ "`}},
	{name: "escape NUL", line: `"a\0b"`, want: []string{"a\x00b"}},
	{name: "hex escape lower and upper case", line: `"\x41\x7a\xfF"`, want: []string{"Az\xff"}},
	{name: "hex escape of NUL", line: `"\x00"`, want: []string{"\x00"}},
	{name: "hex escapes make invalid UTF-8", line: `"\xc3\x28"`, want: []string{"\xc3\x28"}},
	{name: "single quote inside double quotes", line: `"it's"`, want: []string{"it's"}},
	{name: "UTF-8 inside double quotes", line: `"héllo wörld"`, want: []string{"héllo wörld"}},
	{name: "HTTP request", line: `send c "GET / HTTP/1.0\r\n\r\n"`, want: []string{"send", "c", "GET / HTTP/1.0\r\n\r\n"}},

	// Backslash outside quotes.
	{name: "escaped space", line: `a\ b c`, want: []string{"a b", "c"}},
	{name: "escaped quotes", line: `\"a\'`, want: []string{`"a'`}},
	{name: "escaped backslash", line: `a\\b`, want: []string{`a\b`}},
	{name: "backslash n is just n outside quotes", line: `\n`, want: []string{"n"}},
	{name: "escaped tab", line: "a\\\tb", want: []string{"a\tb"}},
	{name: "escaped multi-byte character", line: `\éa`, want: []string{"éa"}},
	{name: "escaped invalid byte", line: "\\\xffa", want: []string{"\xffa"}},

	// Joining and empty words.
	{name: "adjacent pieces join", line: `a"b c"d'e f'g`, want: []string{"ab cde fg"}},
	{name: "empty double quotes", line: `""`, want: []string{""}},
	{name: "empty single quotes", line: `''`, want: []string{""}},
	{name: "bind every interface", line: `bind server "" 8081`, want: []string{"bind", "server", "", "8081"}},
	{name: "several empty words", line: `"" '' ""`, want: []string{"", "", ""}},
	{name: "empty quotes join a word", line: `""x y''`, want: []string{"x", "y"}},

	// Comments.
	{name: "whole line comment", line: "# set up a server", want: nil},
	{name: "comment after blanks", line: " \t# note", want: nil},
	{name: "comment after words", line: "listen s 5 # backlog of five", want: []string{"listen", "s", "5"}},
	{name: "comment without space", line: "close s #done", want: []string{"close", "s"}},
	{name: "comment hides quote errors", line: `a # "unterminated`, want: []string{"a"}},
	{name: "hash inside a word", line: "a#b c#", want: []string{"a#b", "c#"}},
	{name: "hash after empty quotes", line: `""#x`, want: []string{"#x"}},
	{name: "escaped hash", line: `\#x`, want: []string{"#x"}},
	{name: "quoted hash", line: `"#" '#'`, want: []string{"#", "#"}},

	// Errors.
	{name: "unterminated double quote", line: `send c "hello`, err: "unterminated double quote starting at column 8"},
	{name: "unterminated double quote example", line: `send conn1 "GET /`, err: "unterminated double quote starting at column 12"},
	{name: "unterminated single quote", line: `a 'b`, err: "unterminated single quote starting at column 3"},
	{name: "columns count characters", line: `é ü "x`, err: "unterminated double quote starting at column 5"},
	{name: "escaped quote does not close", line: `"a\"`, err: "unterminated double quote starting at column 1"},
	{name: "backslash before end inside double quotes", line: `x "a\`, err: "unterminated double quote starting at column 3"},
	{name: "unterminated after closed quote", line: `"a" "b`, err: "unterminated double quote starting at column 5"},
	{name: "hex escape with one digit", line: `"\x4"`, err: `bad escape \x at column 2: \x needs two hex digits, as in \x0a`},
	{name: "hex escape with no digits", line: `ab "\x"`, err: `bad escape \x at column 5: \x needs two hex digits, as in \x0a`},
	{name: "hex escape with non-hex digit", line: `"\x4g"`, err: `bad escape \x at column 2: \x needs two hex digits, as in \x0a`},
	{name: "hex escape at end of line", line: `"\x`, err: `bad escape \x at column 2: \x needs two hex digits, as in \x0a`},
	{name: "unknown escape", line: `a "b\qc"`, err: `unknown escape \q in double quotes at column 5: use \n \r \t \\ \" \0 or \xNN`},
	{name: "unknown escape of a space", line: `"\ "`, err: `unknown escape \  in double quotes at column 2: use \n \r \t \\ \" \0 or \xNN`},
	{name: "unknown escape of a multi-byte character", line: `"é\é"`, err: `unknown escape \é in double quotes at column 3: use \n \r \t \\ \" \0 or \xNN`},
	{name: "unknown escape of a control character", line: "\"\\\x01\"", err: `unknown escape \ followed by "\x01" in double quotes at column 2: use \n \r \t \\ \" \0 or \xNN`},
	{name: "backslash at end of line", line: `a b\`, err: `backslash at end of line at column 4: nothing left to escape`},
}

func TestSplitWords(t *testing.T) {
	for _, tc := range splitWordsCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitWords(tc.line)
			if tc.err != "" {
				if err == nil {
					t.Fatalf("SplitWords(%q): got words %q, want error %q", tc.line, got, tc.err)
				}
				if err.Error() != tc.err {
					t.Errorf("SplitWords(%q): got %q, want %q", tc.line, err.Error(), tc.err)
				}
				if got != nil {
					t.Errorf("SplitWords(%q) with error: got words %q, want none", tc.line, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("SplitWords(%q): got error %q, want %q", tc.line, err, tc.want)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("SplitWords(%q): got %q, want %q", tc.line, got, tc.want)
			}
		})
	}
}

// splitCommandsCases is shared by TestSplitCommands and the seeds of
// FuzzSplitCommands.
var splitCommandsCases = []struct {
	name string
	in   string
	want []string
}{
	{name: "empty", in: "", want: nil},
	{name: "only blanks and semicolons", in: " ;\t; ;;", want: nil},
	{name: "one command", in: "socket as s", want: []string{"socket as s"}},
	{name: "two commands", in: "socket as s; bind s 127.0.0.1 8081", want: []string{"socket as s", "bind s 127.0.0.1 8081"}},
	{name: "trims spaces and tabs", in: " \ta b \t;\t c ", want: []string{"a b", "c"}},
	{name: "drops empty commands", in: ";a;;b;", want: []string{"a", "b"}},
	{name: "semicolon in double quotes", in: `send c "a;b"; close c`, want: []string{`send c "a;b"`, "close c"}},
	{name: "semicolon in single quotes", in: `send c 'a;b'; close c`, want: []string{`send c 'a;b'`, "close c"}},
	{name: "escaped semicolon", in: `a\;b;c`, want: []string{`a\;b`, "c"}},
	{name: "escaped quote inside double quotes", in: `"a\";b";c`, want: []string{`"a\";b"`, "c"}},
	{name: "backslash is literal in single quotes", in: `'a\';b`, want: []string{`'a\'`, "b"}},
	{name: "escaped quote outside quotes", in: `a\";b`, want: []string{`a\"`, "b"}},
	{name: "unterminated quote swallows the rest", in: `a "b; c`, want: []string{`a "b; c`}},
	{name: "blanks at end of unterminated quote", in: "a \"b \t", want: []string{`a "b`}},
	{name: "quoted trailing blanks are kept", in: `a " " ; b`, want: []string{`a " "`, "b"}},
	{name: "escaped trailing space is kept", in: `a\ ; b`, want: []string{`a\ `, "b"}},
	{name: "escaped trailing space inside double quotes", in: `"a\ `, want: []string{`"a\ `}},
	{name: "trailing backslash", in: `a\`, want: []string{`a\`}},
	{name: "comment ends at semicolon", in: "a # note; b", want: []string{"a # note", "b"}},
	{name: "newline is not a separator", in: "a\nb", want: []string{"a\nb"}},
}

func TestSplitCommands(t *testing.T) {
	for _, tc := range splitCommandsCases {
		t.Run(tc.name, func(t *testing.T) {
			got := SplitCommands(tc.in)
			if !slices.Equal(got, tc.want) {
				t.Errorf("SplitCommands(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestSplitCommandsThenWords checks the way -c is meant to be used: split on
// semicolons first, then split each command into words.
func TestSplitCommandsThenWords(t *testing.T) {
	in := `socket as s; bind s "" 8081 # all interfaces; send s "a;b\x00"; close s`
	want := [][]string{
		{"socket", "as", "s"},
		{"bind", "s", "", "8081"},
		{"send", "s", "a;b\x00"},
		{"close", "s"},
	}
	cmds := SplitCommands(in)
	if len(cmds) != len(want) {
		t.Fatalf("SplitCommands(%q): got %q, want %d commands", in, cmds, len(want))
	}
	for i, cmd := range cmds {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			got, err := SplitWords(cmd)
			if err != nil {
				t.Fatalf("SplitWords(%q): got error %q, want %q", cmd, err, want[i])
			}
			if !slices.Equal(got, want[i]) {
				t.Errorf("SplitWords(%q): got %q, want %q", cmd, got, want[i])
			}
		})
	}
}

// fuzzQuoteWord quotes w so that SplitWords gives back exactly w: inside
// double quotes, with \\ and \" escaped and every byte that is not printable
// ASCII written as \xNN.
func fuzzQuoteWord(w string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestFuzzQuoteWord(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"a b", `"a b"`},
		{`\"`, `"\\\""`},
		{"é\n\x00\x7f", `"\xc3\xa9\x0a\x00\x7f"`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := fuzzQuoteWord(tc.in); got != tc.want {
				t.Errorf("fuzzQuoteWord(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

var fuzzColumnRE = regexp.MustCompile(`at column ([0-9]+)`)

// FuzzSplitWords checks that SplitWords never panics, that every error names
// a column inside the line, and that quoting the words it returns and
// splitting again gives back the same words.
func FuzzSplitWords(f *testing.F) {
	for _, tc := range splitWordsCases {
		f.Add(tc.line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := SplitWords(line)
		if err != nil {
			if words != nil {
				t.Errorf("SplitWords(%q) with error %q: got words %q, want none", line, err, words)
			}
			m := fuzzColumnRE.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("SplitWords(%q): got error %q, want one that names a column", line, err)
			}
			col, _ := strconv.Atoi(m[1])
			if n := utf8.RuneCountInString(line); col < 1 || col > n {
				t.Errorf("SplitWords(%q): got error %q, want a column from 1 to %d", line, err, n)
			}
			return
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = fuzzQuoteWord(w)
		}
		again := strings.Join(quoted, " ")
		got, err := SplitWords(again)
		if err != nil {
			t.Fatalf("SplitWords(%q) (quoted from %q): got error %q, want %q", again, line, err, words)
		}
		if !slices.Equal(got, words) {
			t.Errorf("SplitWords(%q) (quoted from %q): got %q, want %q", again, line, got, words)
		}
	})
}

// FuzzSplitCommands checks that SplitCommands never makes more commands than
// there are semicolons plus one, never returns an empty or untrimmed command,
// is stable when its commands are joined again, and, for input without
// semicolons, does not change what SplitWords makes of it.
func FuzzSplitCommands(f *testing.F) {
	for _, tc := range splitCommandsCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cmds := SplitCommands(s)
		if limit := strings.Count(s, ";") + 1; len(cmds) > limit {
			t.Errorf("SplitCommands(%q): got %d commands %q, want at most %d", s, len(cmds), cmds, limit)
		}
		for _, c := range cmds {
			if c == "" {
				t.Errorf("SplitCommands(%q): got %q, want no empty command", s, cmds)
				continue
			}
			if wordBlank(c[0]) {
				t.Errorf("SplitCommands(%q): got command %q, want no leading space", s, c)
			}
			// The only trailing blank allowed is one escaped by a backslash,
			// since removing it would change the command.
			if n := len(c); wordBlank(c[n-1]) && (n < 2 || c[n-2] != '\\') {
				t.Errorf("SplitCommands(%q): got command %q, want no trailing space", s, c)
			}
		}
		joined := strings.Join(cmds, ";")
		if again := SplitCommands(joined); !slices.Equal(again, cmds) {
			t.Errorf("SplitCommands(%q) (joined from %q): got %q, want %q", joined, s, again, cmds)
		}
		if strings.Contains(s, ";") {
			return
		}
		want, wantErr := SplitWords(s)
		var got []string
		var gotErr error
		if len(cmds) == 1 {
			got, gotErr = SplitWords(cmds[0])
		}
		if (gotErr == nil) != (wantErr == nil) || !slices.Equal(got, want) {
			t.Errorf("SplitWords of SplitCommands(%q) = %q: got %q (error %v), want %q (error %v)", s, cmds, got, gotErr, want, wantErr)
		}
	})
}

func TestJoinWords(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"bind", "server_socket", "", "8081"}, `bind server_socket "" 8081`},
		{[]string{"send", "connection", "You are connected"}, `send connection "You are connected"`},
		{[]string{"send", "c", "GET / HTTP/1.1\r\n\x1b[2J", `a"b\c`}, `send c "GET / HTTP/1.1\r\n\x1b[2J" "a\"b\\c"`},
		{[]string{"#not-a-comment", "it's", "héllo", "\u202e"}, `"#not-a-comment" "it's" "héllo" "\xe2\x80\xae"`},
	} {
		if got := JoinWords(tc.words); got != tc.want {
			t.Errorf("JoinWords(%q): got %s, want %s", tc.words, got, tc.want)
		}
	}
}

// FuzzJoinWords checks that JoinWords is undone by SplitWords and never
// writes a control character, whatever bytes the words hold.
func FuzzJoinWords(f *testing.F) {
	f.Add("send c \"GET /\\r\\n\\x1b]0;title\\x07\"")
	f.Add(`bind s "" 8081`)
	f.Fuzz(func(t *testing.T, line string) {
		// Words of any bytes: the fuzzer's string cut at NUL bytes.
		words := strings.Split(line, "\x00")
		joined := JoinWords(words)
		got, err := SplitWords(joined)
		if err != nil || !slices.Equal(got, words) {
			t.Fatalf("SplitWords(JoinWords(%q)) = %q, %v; want the words back", words, got, err)
		}
		for _, r := range joined {
			if !unicode.IsPrint(r) {
				t.Fatalf("JoinWords(%q) = %q holds the unprintable %U", words, joined, r)
			}
		}
	})
}

// TestScriptEchoesACommentAsACommand: a transcript shows a comment's
// backslashes and control bytes as it shows a command's, so that a comment
// that quotes a command, as in # send c "hi\r\n", reads as the command
// does, and carries no raw control character.
func TestScriptEchoesACommentAsACommand(t *testing.T) {
	echoed := func(line string) string {
		var out strings.Builder
		New(&out, Options{}).RunScript(context.Background(), strings.NewReader(line+"\n"))
		first, _, _ := strings.Cut(out.String(), "\n")
		return first
	}
	for _, text := range []string{`"hi\r\n"`, `a\\b \x41`, "\"bell\x07\" \\", "\xff\x1b[2J"} {
		comment := echoed("# " + text)
		_, command, _ := strings.Cut(echoed("send nosuch "+text), "› send nosuch ")
		if comment != "# "+command || rawControl.MatchString(comment) {
			t.Errorf("%q: the comment is echoed as %q, the command's text as %q", text, comment, command)
		}
		if !rawControl.MatchString(text) && utf8.ValidString(text) && comment != "# "+text {
			t.Errorf("%q: the comment is echoed as %q, want it as typed", text, comment)
		}
	}
}

// TestScriptEchoesTheLineAsTyped: the line a transcript echoes for each
// command splits into the same words as the line typed, so it can be
// copied and typed again, and carries no raw control character.
func TestScriptEchoesTheLineAsTyped(t *testing.T) {
	for _, typed := range []string{
		`send c "hi\r\n"`,
		`send c a\ b`,
		`send c 'a\b'`,
		`send c "\\x1b[2J"`,
		"send c \"\x1b[2J\\x07\"",
	} {
		var out strings.Builder
		s := New(&out, Options{})
		s.RunScript(context.Background(), strings.NewReader(typed+"\n"))
		first, _, _ := strings.Cut(out.String(), "\n")
		_, echoed, ok := strings.Cut(first, "› ")
		if !ok || rawControl.MatchString(echoed) {
			t.Errorf("%q: echoed as %q", typed, first)
			continue
		}
		want, err := SplitWords(typed)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := SplitWords(echoed); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: echoed as %q, which is the words %q (%v); want %q", typed, echoed, got, err, want)
		}
	}
}
