package steps

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ""},
		{"plain ASCII", "hello, world", "hello, world"},
		{"space and punctuation kept", " ~!{}", " ~!{}"},
		{"newline", "a\nb", `a\nb`},
		{"carriage return", "a\rb", `a\rb`},
		{"tab", "a\tb", `a\tb`},
		{"backslash doubled", `a\b`, `a\\b`},
		{"escaped-looking text stays unambiguous", `\x41`, `\\x41`},
		{"NUL", "\x00", `\x00`},
		{"BEL", "\a", `\x07`},
		{"backspace", "ab\bc", `ab\x08c`},
		{"ESC", "\x1b", `\x1b`},
		{"unit separator", "\x1f", `\x1f`},
		{"DEL", "\x7f", `\x7f`},
		{"OSC title change", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"clear screen", "\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"two-byte UTF-8 kept", "héllo", "héllo"},
		{"three-byte UTF-8 kept", "€ 日本", "€ 日本"},
		{"four-byte UTF-8 kept", "😀", "😀"},
		{"encoded U+FFFD kept", "\uFFFD", "\uFFFD"},
		{"invalid bytes escaped bytewise", "\xff\xfe", `\xff\xfe`},
		{"lone continuation byte", "a\x80b", `a\x80b`},
		{"truncated sequence", "\xe2\x82", `\xe2\x82`},
		{"truncated sequence then ASCII", "\xe2\x82A", `\xe2\x82A`},
		{"overlong encoding", "\xc0\xaf", `\xc0\xaf`},
		{"UTF-8 surrogate", "\xed\xa0\x80", `\xed\xa0\x80`},
		{"above U+10FFFF", "\xf4\x90\x80\x80", `\xf4\x90\x80\x80`},
		{"C1 CSI", "\xc2\x9b", `\u009b`},
		{"C1 NEL", "\u0085", `\u0085`},
		{"C1 first and last", "\u0080\u009f", `\u0080\u009f`},
		{"right-to-left override", "abc\u202Edef", `abc\u202edef`},
		{"bidi isolates", "\u2066\u2067\u2068\u2069", `\u2066\u2067\u2068\u2069`},
		{"zero width space", "a\u200Bb", `a\u200bb`},
		{"byte order mark", "\uFEFFx", `\ufeffx`},
		{"soft hyphen", "\u00AD", `\u00ad`},
		{"line separator", "\u2028", `\u2028`},
		{"paragraph separator", "\u2029", `\u2029`},
		{"no-break space", "\u00A0", `\u00a0`},
		{"private use", "\uE000", `\ue000`},
		{"astral format character", "\U000E0001", `\U000e0001`},
		{"combining mark on a letter kept", "e\u0301", "e\u0301"},
		{"two marks on a letter kept", "e\u0302\u0301", "e\u0302\u0301"},
		{"combining mark first", "\u0301a", `\u0301a`},
		{"combining mark after an escape", "\x1b\u0301", `\x1b\u0301`},
		{"combining mark after a backslash", "\\\u0301", `\\\u0301`},
		{"combining mark after an escaped mark", "\u20dd\u0301", `\u20dd\u0301`},
		{"four marks on a letter, and the fifth", "a\u0301\u0301\u0301\u0301\u0301b\u0301", "a\u0301\u0301\u0301\u0301" + `\u0301` + "b\u0301"},
		{"astral combining mark first", "\U000101fd", `\U000101fd`},
		{"HTTP request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", `GET / HTTP/1.1\r\nHost: x\r\n\r\n`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Printable([]byte(tt.in)); got != tt.want {
				t.Errorf("Printable(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPrintableLines(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"no newline", "hello", []string{"hello"}},
		{"only newline", "\n", []string{`\n`}},
		{"trailing newline", "a\nb\n", []string{`a\n`, `b\n`}},
		{"no trailing newline", "a\nb", []string{`a\n`, "b"}},
		{"blank lines", "\n\n", []string{`\n`, `\n`}},
		{"bare CR does not split", "a\rb", []string{`a\rb`}},
		{"CRLF HTTP request", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", []string{
			`GET / HTTP/1.1\r\n`,
			`Host: example.com\r\n`,
			`\r\n`,
		}},
		{"CRLF without trailing newline", "HTTP/1.0 200 OK\r\n\r\nbody", []string{
			`HTTP/1.0 200 OK\r\n`,
			`\r\n`,
			"body",
		}},
		{"escapes inside lines", "\x1b[2J\n\u202Eabc\n", []string{`\x1b[2J\n`, `\u202eabc\n`}},
		{"invalid UTF-8 before newline", "\xe2\x82\nx", []string{`\xe2\x82\n`, "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PrintableLines([]byte(tt.in))
			if !slices.Equal(got, tt.want) {
				t.Errorf("PrintableLines(%q): got %q, want %q", tt.in, got, tt.want)
			}
			if joined, whole := strings.Join(got, ""), Printable([]byte(tt.in)); joined != whole {
				t.Errorf("PrintableLines(%q) joined: got %q, want %q", tt.in, joined, whole)
			}
		})
	}
}

func TestHexDump(t *testing.T) {
	seq := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = "0123456789abcdefg"[i]
		}
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want []string
	}{
		{"0 bytes", nil, nil},
		{"1 byte", []byte("A"), []string{
			"0000  41                                                |A|",
		}},
		{"9 bytes crosses the group gap", seq(9), []string{
			"0000  30 31 32 33 34 35 36 37  38                       |012345678|",
		}},
		{"16 bytes", seq(16), []string{
			"0000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|",
		}},
		{"17 bytes", seq(17), []string{
			"0000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|",
			"0010  67                                                |g|",
		}},
		{"non-printable ASCII column", []byte("\x00\x1b \x7e\x7f\x80\xff\n"), []string{
			"0000  00 1b 20 7e 7f 80 ff 0a                           |.. ~....|",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HexDump(tt.in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("HexDump(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestHexDumpOffsets(t *testing.T) {
	lines := HexDump(make([]byte, 0x10001))
	if len(lines) != 0x1001 {
		t.Fatalf("HexDump of 0x10001 bytes: got %d lines, want %d", len(lines), 0x1001)
	}
	for _, c := range []struct {
		line int
		want string
	}{{1, "0010  "}, {0xfff, "fff0  "}, {0x1000, "10000  "}} {
		if got := lines[c.line]; !strings.HasPrefix(got, c.want) {
			t.Errorf("HexDump line %d: got %q, want prefix %q", c.line, got, c.want)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		max         int
		wantShown   string
		wantOmitted int
	}{
		{"empty", "", 4, "", 0},
		{"shorter than max", "abc", 4, "abc", 0},
		{"exactly max", "abcd", 4, "abcd", 0},
		{"ASCII cut", "abcdef", 4, "abcd", 2},
		{"zero max", "abc", 0, "", 3},
		{"negative max", "abc", -1, "", 3},
		{"cut after two-byte rune", "aé", 3, "aé", 0},
		{"cut inside two-byte rune", "aéb", 2, "a", 3},
		{"cut inside three-byte rune", "ab€", 3, "ab", 3},
		{"cut inside three-byte rune late", "ab€", 4, "ab", 3},
		{"cut at rune boundary", "€€", 3, "€", 3},
		{"cut inside four-byte rune", "x😀", 4, "x", 4},
		{"first rune longer than max", "😀", 2, "", 4},
		{"invalid bytes cut anywhere", "\xe2\x82\xe2\x82", 3, "\xe2\x82\xe2", 1},
		{"truncated lead byte not backed off", "a\xe2\x82b", 2, "a\xe2", 2},
		{"continuation run not backed off", "\x80\x80\x80\x80\x80", 2, "\x80\x80", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shown, omitted := Clip([]byte(tt.in), tt.max)
			if string(shown) != tt.wantShown {
				t.Errorf("Clip(%q, %d) shown: got %q, want %q", tt.in, tt.max, shown, tt.wantShown)
			}
			if omitted != tt.wantOmitted {
				t.Errorf("Clip(%q, %d) omitted: got %d, want %d", tt.in, tt.max, omitted, tt.wantOmitted)
			}
		})
	}
}

// unprintable decodes Printable's escapes back into bytes. It fails on any
// escape Printable would not produce, and on a rune escape whose rune
// Printable would have written as itself anywhere, so a successful round trip shows
// the encoding is unambiguous.
func unprintable(s string) ([]byte, error) {
	var out []byte
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, fmt.Errorf("invalid UTF-8 at %d", i)
			}
			out = append(out, s[i:i+size]...)
			i += size
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("dangling backslash at %d", i)
		}
		var digits int
		switch s[i+1] {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case '\\':
			out = append(out, '\\')
		case 'x':
			digits = 2
		case 'u':
			digits = 4
		case 'U':
			digits = 8
		default:
			return nil, fmt.Errorf("unknown escape %q at %d", s[i:i+2], i)
		}
		if digits == 0 {
			i += 2
			continue
		}
		hex := s[i+2 : min(i+2+digits, len(s))]
		if len(hex) != digits || strings.ToLower(hex) != hex {
			return nil, fmt.Errorf("bad hex %q at %d", hex, i)
		}
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("bad hex %q at %d: %v", hex, i, err)
		}
		if digits == 2 {
			out = append(out, byte(v))
		} else {
			r := rune(v)
			// A printable rune is escaped only if it is a combining mark
			// (with nothing, or too many marks, before it).
			if !utf8.ValidRune(r) || unicode.IsPrint(r) && !unicode.Is(unicode.M, r) || (digits == 8) != (r > 0xffff) {
				return nil, fmt.Errorf("rune escape %q at %d should not occur", s[i:i+2+digits], i)
			}
			out = utf8.AppendRune(out, r)
		}
		i += 2 + digits
	}
	return out, nil
}

func TestUnprintableRoundTrip(t *testing.T) {
	for _, in := range []string{"", "a\\b\n", "\x1b]0;x\x07", "é\u202e\xff", "\U000e0001\u0085"} {
		t.Run(strconv.Quote(in), func(t *testing.T) {
			got, err := unprintable(Printable([]byte(in)))
			if err != nil {
				t.Fatalf("unprintable(Printable(%q)): %v", in, err)
			}
			if string(got) != in {
				t.Errorf("unprintable(Printable(%q)): got %q, want %q", in, got, in)
			}
		})
	}
}

// checkSafe fails the test if s could do anything to a terminal other than
// print glyphs: invalid UTF-8, C0 controls (including newline), DEL, C1
// controls, format/bidi characters, line/paragraph separators, or any other
// rune unicode.IsPrint rejects; or a combining mark with no letter to sit
// on (the first rune), or more than 4 in a row.
func checkSafe(t *testing.T, what string, in []byte, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s(%q) = %q: not valid UTF-8", what, in, s)
	}
	marks := 0
	for i, r := range s {
		if unicode.Is(unicode.M, r) {
			marks++
		} else {
			marks = 0
		}
		switch {
		case marks > 0 && i == 0:
			t.Fatalf("%s(%q) = %q: begins with the combining mark %U", what, in, s, r)
		case marks > 4:
			t.Fatalf("%s(%q) = %q: more than 4 combining marks in a row", what, in, s)
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
			t.Fatalf("%s(%q) = %q: contains control %U", what, in, s, r)
		case unicode.Is(unicode.Cf, r), r == '\u2028', r == '\u2029':
			t.Fatalf("%s(%q) = %q: contains format or separator %U", what, in, s, r)
		case !unicode.IsPrint(r):
			t.Fatalf("%s(%q) = %q: contains non-printable %U", what, in, s, r)
		}
	}
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{
		"", "hello", "héllo", "\\", "\x00", "\a", "\x7f", "\xff\xfe",
		"\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "\xc2\x9b", "\u202e", "\U000e0001",
		"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "\u0301x", "\x1b\u0301", "a\u0301\u0301\u0301\u0301\u0301",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := Printable(b)
		checkSafe(t, "Printable", b, p)
		got, err := unprintable(p)
		if err != nil {
			t.Fatalf("unprintable(Printable(%q)) = unprintable(%q): %v", b, p, err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("unprintable(Printable(%q)): got %q, want %q", b, got, b)
		}

		lines := PrintableLines(b)
		for _, l := range lines {
			checkSafe(t, "PrintableLines", b, l)
		}
		if joined := strings.Join(lines, ""); joined != p {
			t.Fatalf("strings.Join(PrintableLines(%q)): got %q, want %q", b, joined, p)
		}
		if wantN := bytes.Count(b, []byte{'\n'}); len(lines) != wantN && len(lines) != wantN+1 {
			t.Fatalf("PrintableLines(%q): got %d lines for %d newlines", b, len(lines), wantN)
		}

		dump := HexDump(b)
		if want := (len(b) + 15) / 16; len(dump) != want {
			t.Fatalf("HexDump(%q): got %d lines, want %d", b, len(dump), want)
		}
		for _, l := range dump {
			checkSafe(t, "HexDump", b, l)
		}

		for _, max := range []int{0, 1, 2, 3, len(b) / 2, len(b) - 1, len(b)} {
			shown, omitted := Clip(b, max)
			if len(shown) > max && max >= 0 {
				t.Fatalf("Clip(%q, %d): shown %d bytes", b, max, len(shown))
			}
			if len(shown)+omitted != len(b) || !bytes.HasPrefix(b, shown) {
				t.Fatalf("Clip(%q, %d): got %q and %d omitted", b, max, shown, omitted)
			}
			if len(shown) < max-(utf8.UTFMax-1) {
				t.Fatalf("Clip(%q, %d): backed off to %d bytes", b, max, len(shown))
			}
			// Not splitting a valid rune means the shown part renders as a
			// prefix of the whole.
			if ps := Printable(shown); !strings.HasPrefix(p, ps) {
				t.Fatalf("Clip(%q, %d) = %q: Printable %q is not a prefix of %q", b, max, shown, ps, p)
			}
		}
	})
}

// TestQuoteShort: text is quoted escaped, a quote inside it too, and cut
// after 64 bytes with the count left out, without splitting a character.
func TestQuoteShort(t *testing.T) {
	long := strings.Repeat("a", 70)
	for _, tt := range []struct {
		text string
		want string
	}{
		{"hi", `"hi"`},
		{"\x1b[2J", `"\x1b[2J"`},
		{`say "hi"`, `"say \"hi\""`},
		{long, `"` + long[:64] + `"…(+6)`},
		{strings.Repeat("é", 40), `"` + strings.Repeat("é", 32) + `"…(+16)`},
		{"a" + strings.Repeat("é", 40), `"a` + strings.Repeat("é", 31) + `"…(+18)`},
	} {
		if got := QuoteShort(tt.text); got != tt.want {
			t.Errorf("QuoteShort(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
}
