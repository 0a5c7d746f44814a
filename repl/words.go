package repl

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"sockstep/auto"
	"sockstep/steps"
)

// SplitWords splits one command line into words the way a shell would, so
// that a REPL line like `send c "GET / HTTP/1.0\r\n\r\n"` reaches the command
// as the words send, c and the request bytes.
//
// The rules:
//
//   - Words are separated by runs of spaces and tabs. Other characters,
//     including CR and LF, belong to words, so callers should strip line
//     endings first.
//   - Single quotes keep everything up to the next single quote literally;
//     there are no escapes inside them.
//   - Double quotes keep spaces and decode the escapes \n \r \t \\ \" \0 and
//     \xNN (exactly two hex digits, any byte value 00 to ff).
//   - Outside quotes a backslash keeps the next character literally, so
//     `a\ b` is the single word "a b" and `\#` is a literal "#".
//   - Quoted and unquoted pieces with nothing between them join into one word:
//     `a"b c"d` is the word "ab cd".
//   - A quoted empty string, a pair of double or of single quotes, is a
//     word of its own, so `bind server "" 8081` gives four words, the third
//     one empty (meaning "every interface").
//   - A # at the start of a word, outside quotes, starts a comment that runs
//     to the end of the line. A # inside a word (a#b) is literal.
//
// Because of \xNN the words may hold arbitrary bytes; they are not
// necessarily valid UTF-8.
//
// Unterminated quotes and bad escapes are errors. The message says what is
// wrong and at which 1-based column (counted in characters, so a multi-byte
// UTF-8 character counts once), for example
// `unterminated double quote starting at column 12`. For a bad escape the
// column is that of its backslash. On error no words are returned.
func SplitWords(line string) ([]string, error) {
	var (
		words  []string
		cur    []byte
		inWord bool // also true for a word made only of "" or ''
	)
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case wordBlank(c):
			if inWord {
				words = append(words, string(cur))
				cur = cur[:0]
				inWord = false
			}
			i++
		case c == '#' && !inWord:
			i = len(line) // comment: ignore the rest of the line
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated single quote starting at column %d", wordColumn(line, i))
			}
			cur = append(cur, line[i+1:i+1+end]...)
			inWord = true
			i += end + 2
		case c == '"':
			var err error
			cur, i, err = wordDoubleQuoted(line, i, cur)
			if err != nil {
				return nil, err
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(line) {
				return nil, fmt.Errorf("backslash at end of line at column %d: nothing left to escape", wordColumn(line, i))
			}
			// Keep the whole next character, not just its first byte, so
			// that an escaped multi-byte character stays intact.
			_, size := utf8.DecodeRuneInString(line[i+1:])
			cur = append(cur, line[i+1:i+1+size]...)
			inWord = true
			i += 1 + size
		default:
			cur = append(cur, c)
			inWord = true
			i++
		}
	}
	if inWord {
		words = append(words, string(cur))
	}
	return words, nil
}

// wordDoubleQuoted decodes the double-quoted string whose opening quote is at
// line[start], appending the decoded bytes to cur. It returns the extended
// cur and the index just past the closing quote.
func wordDoubleQuoted(line string, start int, cur []byte) ([]byte, int, error) {
	i := start + 1
	for {
		if i >= len(line) {
			return nil, 0, fmt.Errorf("unterminated double quote starting at column %d", wordColumn(line, start))
		}
		c := line[i]
		if c == '"' {
			return cur, i + 1, nil
		}
		if c != '\\' {
			cur = append(cur, c)
			i++
			continue
		}
		if i+1 >= len(line) {
			// A backslash right before the end escapes nothing; what is
			// really missing is the closing quote.
			return nil, 0, fmt.Errorf("unterminated double quote starting at column %d", wordColumn(line, start))
		}
		switch e := line[i+1]; e {
		case 'n':
			cur = append(cur, '\n')
		case 'r':
			cur = append(cur, '\r')
		case 't':
			cur = append(cur, '\t')
		case '\\', '"':
			cur = append(cur, e)
		case '0':
			cur = append(cur, 0)
		case 'x':
			if i+3 >= len(line) || !wordIsHex(line[i+2]) || !wordIsHex(line[i+3]) {
				return nil, 0, fmt.Errorf(`bad escape \x at column %d: \x needs two hex digits, as in \x0a`, wordColumn(line, i))
			}
			b, _ := strconv.ParseUint(line[i+2:i+4], 16, 8)
			cur = append(cur, byte(b))
			i += 2 // the two hex digits; the common +2 follows
		default:
			return nil, 0, fmt.Errorf(`unknown escape %s in double quotes at column %d: use \n \r \t \\ \" \0 or \xNN`,
				wordDescribeEscape(line[i+1:]), wordColumn(line, i))
		}
		i += 2
	}
}

// wordDescribeEscape shows the escape whose character starts rest, as `\q`
// for a printable character and as `\` followed by its quoted bytes
// otherwise, so that control characters do not garble the message.
func wordDescribeEscape(rest string) string {
	r, size := utf8.DecodeRuneInString(rest)
	if r != utf8.RuneError && unicode.IsPrint(r) {
		return `\` + string(r)
	}
	return `\ followed by ` + strconv.Quote(rest[:size])
}

// wordBlank reports whether c separates words.
func wordBlank(c byte) bool { return c == ' ' || c == '\t' }

// wordIsHex reports whether c is a hexadecimal digit.
func wordIsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// wordColumn is the 1-based column of byte offset i in line, counted in
// characters; each byte of invalid UTF-8 counts as one character.
func wordColumn(line string, i int) int {
	return utf8.RuneCountInString(line[:i]) + 1
}

// SplitCommands splits a -c argument such as `socket as s; bind s 127.0.0.1 8081`
// into commands on the semicolons that stand outside quotes, trimming spaces
// and tabs around each command and dropping empty ones. A semicolon inside
// quotes, or escaped with a backslash outside single quotes, does not split.
//
// Quotes and backslashes are left in place for SplitWords, which then reports
// any syntax error with a column relative to the command. An unterminated
// quote swallows the rest of s into one command, so that SplitWords can
// report it. SplitCommands does not look at # comments: a comment ends at the
// next semicolon.
//
// Trimming never changes what SplitWords makes of a command: an escaped
// trailing space (`a\ `) is kept.
func SplitCommands(s string) []string {
	var cmds []string
	start := 0  // where the current command begins
	sigEnd := 0 // just past its last byte that trimming must keep
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && quote != '\'':
			// The backslash and the byte it escapes are both significant.
			// A multi-byte character's other bytes are never special.
			i++
			sigEnd = min(i+1, len(s))
		case quote != 0:
			if c == quote {
				quote = 0
			}
			// Whitespace inside quotes only matters if the quote closes,
			// and the closing quote marks it significant then.
			if !wordBlank(c) {
				sigEnd = i + 1
			}
		case c == '\'' || c == '"':
			quote = c
			sigEnd = i + 1
		case c == ';':
			cmds = wordAppendCommand(cmds, s, start, sigEnd)
			start = i + 1
		case !wordBlank(c):
			sigEnd = i + 1
		}
	}
	return wordAppendCommand(cmds, s, start, sigEnd)
}

// wordAppendCommand appends s[start:end] without its leading blanks to cmds,
// unless that leaves nothing. Leading blanks are never escaped, since a
// backslash would come first; end already excludes insignificant trailing
// blanks.
func wordAppendCommand(cmds []string, s string, start, end int) []string {
	if end <= start {
		return cmds
	}
	cmd := strings.TrimLeft(s[start:end], " \t")
	if cmd == "" {
		return cmds
	}
	return append(cmds, cmd)
}

// JoinWords writes words as one command line that SplitWords splits back
// into exactly those words, for showing a command that was not typed (the
// calls auto makes). A word of plain printable characters is written as it
// is; any other goes in double quotes, with \n \r \t \\ \" as escapes,
// printable non-ASCII characters as themselves, and every other byte as
// \xNN, so the line is safe to show on a terminal.
func JoinWords(words []string) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		if plainWord(w) {
			b.WriteString(w)
			continue
		}
		b.WriteByte('"')
		for len(w) > 0 {
			r, size := utf8.DecodeRuneInString(w)
			switch {
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			case r == '\\' || r == '"':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r >= 0x20 && r < 0x7f || r > 0x7f && size > 1 && unicode.IsPrint(r):
				b.WriteString(w[:size])
			default:
				for _, c := range []byte(w[:size]) {
					fmt.Fprintf(&b, `\x%02x`, c)
				}
			}
			w = w[size:]
		}
		b.WriteByte('"')
	}
	return b.String()
}

// plainWord says whether w needs no quotes: printable ASCII with none of
// the characters SplitWords gives a meaning (blanks, quotes, backslash, #).
func plainWord(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"'\#`, c) >= 0 {
			return false
		}
	}
	return true
}

// echoLine shows a typed command line as it was typed, for a transcript:
// control characters and bytes that are not UTF-8 are escaped, as
// steps.Printable escapes them, but a backslash stays one backslash, so
// that `send c "hi\r\n"` reads as typed and can be typed again.
func echoLine(line string) string { return auto.AsPrinted(steps.Printable([]byte(line))) }
