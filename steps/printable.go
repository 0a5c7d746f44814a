package steps

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file turns bytes that arrived from a peer into text that is safe to
// put on the learner's terminal. The rule is that peer bytes never reach the
// terminal raw: a peer must not be able to move the cursor, clear the screen,
// change the window title, ring the bell, or reorder text with bidi controls.
// Everything shown is either a printable rune or an ASCII escape sequence that
// can be decoded back to exactly the bytes that were received.

const hexDigits = "0123456789abcdef"

// maxMarks is how many combining marks in a row Printable writes as
// themselves on one letter: enough for the accents of Vietnamese or the
// signs of Devanagari, too few to pile a mark tower over the line.
const maxMarks = 4

// Printable renders bytes from the network as one line of safe text.
//
// Valid UTF-8 runes that unicode.IsPrint accepts are written as themselves,
// so "héllo" stays "héllo". Everything else is escaped the way Python's repr
// would write it, using lower-case hex:
//
//   - '\n', '\r', '\t' and '\\' become `\n`, `\r`, `\t` and `\\`; the backslash
//     is doubled so that the escaping is unambiguous;
//   - any other C0 control (0x00–0x1f), DEL (0x7f), and every byte that is
//     not part of a valid UTF-8 sequence becomes `\xNN`, one per byte;
//   - any other valid rune that is not printable becomes `\uNNNN` (or
//     `\UNNNNNNNN` above U+FFFF). This covers the C1 controls U+0080–U+009F
//     (so a C1 CSI "\xc2\x9b" shows as `\u009b`), format and bidi characters
//     (category Cf, e.g. U+200B, U+202E, U+2066–U+2069, U+FEFF), the line and
//     paragraph separators U+2028 and U+2029, non-ASCII spaces, private-use
//     and unassigned code points;
//   - a combining mark (category M, such as U+0301, the acute accent) is
//     written as itself only on a rune written as itself, and at most
//     maxMarks in a row: at the start, after an escape, or piled higher,
//     it becomes `\uNNNN` too, so that it cannot sit on the quote or the
//     escape before it, or stack a tower of marks over one letter.
//
// The result never contains a newline or any other control, so it is one line.
func Printable(b []byte) string {
	if plainASCII(b) {
		return string(b) // most text a server sees: nothing to escape
	}
	var sb strings.Builder
	sb.Grow(len(b))
	// marks counts the combining marks written since the last rune written
	// as itself; -1 when there is none for a mark to sit on.
	marks := -1
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		mark, written := unicode.Is(unicode.M, r), marks
		marks = -1 // unless the rune is written as itself, below
		switch {
		case r == utf8.RuneError && size == 1:
			// Invalid or truncated UTF-8: escape the single byte.
			writeByteEscape(&sb, b[0])
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r == '\\':
			sb.WriteString(`\\`)
		case r < 0x20 || r == 0x7f:
			writeByteEscape(&sb, byte(r))
		case unicode.IsPrint(r) && !(mark && (written < 0 || written >= maxMarks)):
			// Includes a correctly encoded U+FFFD, which is harmless.
			sb.Write(b[:size])
			marks = 0
			if mark {
				marks = written + 1
			}
		case r <= 0xffff:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			fmt.Fprintf(&sb, `\U%08x`, r)
		}
		b = b[size:]
	}
	return sb.String()
}

// writeByteEscape writes c as `\xNN` with lower-case hex digits.
func writeByteEscape(sb *strings.Builder, c byte) {
	sb.WriteString(`\x`)
	sb.WriteByte(hexDigits[c>>4])
	sb.WriteByte(hexDigits[c&0x0f])
}

// plainASCII says whether Printable would leave b as it is: every byte
// printable ASCII, and none a backslash, which it doubles.
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	return true
}

// QuoteShort shows bytes, or text a learner typed, in quotes: safe for
// the terminal (Printable), with a quote inside escaped so that a reader
// sees where the text ends, and cut after 64 bytes, with the number left
// out, so that a message or an error that quotes them stays on one line.
func QuoteShort[T string | []byte](text T) string {
	shown, omitted := Clip([]byte(text), 64)
	q := `"` + strings.ReplaceAll(Printable(shown), `"`, `\"`) + `"`
	if omitted > 0 {
		q += fmt.Sprintf("…(+%d)", omitted)
	}
	return q
}

// CallBytes is how many bytes of the data a call is given its call line
// shows: enough for a line of text, and the call still fits a line or two.
const CallBytes = 64

// QuoteCall shows the bytes a call is given as strace shows them, so that
// a call line reads as strace's does: in double quotes, printable ASCII as
// itself but for `\"` and `\\`; \f, \n, \r, \t and \v as those escapes;
// every other byte (a control, DEL, each byte of a non-ASCII character)
// in octal, as few digits as C reads back alone (three before a digit
// 0-7). After n bytes it stops, and "..." after the closing quote says
// there is more: the call's count of bytes, next, says how much.
func QuoteCall[T string | []byte](text T, n int) string {
	b := []byte(text)
	cut := len(b) > n
	if cut {
		b = b[:max(n, 0)]
	}
	var sb strings.Builder
	sb.WriteByte('"')
	for i, c := range b {
		switch c {
		case '"', '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case '\f':
			sb.WriteString(`\f`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\v':
			sb.WriteString(`\v`)
		default:
			if c >= 0x20 && c < 0x7f {
				sb.WriteByte(c)
				continue
			}
			sb.WriteByte('\\')
			full := i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'
			if full || c >= 0100 {
				sb.WriteByte('0' + c>>6)
			}
			if full || c >= 010 {
				sb.WriteByte('0' + c>>3&7)
			}
			sb.WriteByte('0' + c&7)
		}
	}
	sb.WriteByte('"')
	if cut {
		sb.WriteString("...")
	}
	return sb.String()
}

// PrintableLines renders the bytes as lines for display in a block. It splits
// after each '\n' and renders each piece with Printable, so a line ends in the
// visible escape `\n` (or `\r\n` for CRLF) and an HTTP request shows one
// header per line. A final piece without a newline is its own line. It returns
// no lines for empty input.
//
// Because '\n' can never be part of a multi-byte UTF-8 sequence, joining the
// lines gives exactly Printable(b).
func PrintableLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	lines := make([]string, 0, bytes.Count(b, []byte{'\n'})+1)
	for len(b) > 0 {
		end := len(b)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			end = i + 1
		}
		lines = append(lines, Printable(b[:end]))
		b = b[end:]
	}
	return lines
}

// HexDump renders bytes in the layout of `hexdump -C`, one string per 16
// bytes: a hex offset of at least 4 digits, two spaces, the bytes in hex in
// two groups of 8 (padded so the last column lines up), and the bytes again
// between '|' with '.' for anything outside 0x20–0x7e. Unlike hexdump it
// prints no trailing total line and does not fold repeated lines into '*'.
// It returns no lines for empty input.
func HexDump(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	lines := make([]string, 0, (len(b)+15)/16)
	var sb strings.Builder
	for off := 0; off < len(b); off += 16 {
		row := b[off:min(off+16, len(b))]
		sb.Reset()
		fmt.Fprintf(&sb, "%04x  ", off)
		for i := range 16 {
			if i < len(row) {
				sb.WriteByte(hexDigits[row[i]>>4])
				sb.WriteByte(hexDigits[row[i]&0x0f])
				sb.WriteByte(' ')
			} else {
				sb.WriteString("   ")
			}
			if i == 7 {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(" |")
		for _, c := range row {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			sb.WriteByte(c)
		}
		sb.WriteByte('|')
		lines = append(lines, sb.String())
	}
	return lines
}

// Clip returns at most max bytes of b, and how many bytes it left out, so a
// display stays bounded whatever a peer sends. If the cut would fall inside a
// UTF-8 sequence that is valid in b, Clip backs off to the start of that rune
// so the shown part does not end in a broken character; invalid bytes are cut
// anywhere, since Printable escapes them one by one anyway. A negative max is
// treated as 0. shown shares memory with b.
func Clip(b []byte, max int) (shown []byte, omitted int) {
	if max < 0 {
		max = 0
	}
	if len(b) <= max {
		return b, 0
	}
	cut := max
	// A rune is at most utf8.UTFMax bytes, so only a start within the last
	// UTFMax-1 bytes before the cut can reach past it.
	for i := cut - 1; i >= 0 && i > cut-utf8.UTFMax; i-- {
		if !utf8.RuneStart(b[i]) {
			continue
		}
		if r, size := utf8.DecodeRune(b[i:]); !(r == utf8.RuneError && size == 1) && i+size > cut {
			cut = i
		}
		break
	}
	return b[:cut], len(b) - cut
}

// Counted is a count and its noun: "1 byte", "3 bytes", "1 call".
func Counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
