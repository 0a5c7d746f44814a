package main

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// screen is a small model of a terminal's screen: it applies the bytes a
// program writes (text, CR, LF, backspace, and the CSI sequences a line
// editor uses to move the cursor and erase) to a grid of cells, so a test
// can read what a person would see rather than the raw byte stream.
type screen struct {
	mu        sync.Mutex
	rows      [][]rune
	cols      int
	row, col  int
	pending   []byte // an incomplete escape sequence or UTF-8 rune
	maxRows   int
	sgrColour bool // a colour or bold sequence was seen
}

func newScreen(rows, cols int) *screen {
	s := &screen{cols: cols, maxRows: rows}
	s.rows = [][]rune{s.blank()}
	return s
}

func (s *screen) blank() []rune { return []rune(strings.Repeat(" ", s.cols)) }

// Write applies output to the screen. Rows scroll into a history that is
// kept whole, so tests can look back.
func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data := append(s.pending, p...)
	s.pending = nil
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == 0x1b:
			n := s.escape(data[i:])
			if n == 0 {
				s.pending = append([]byte(nil), data[i:]...)
				return len(p), nil
			}
			i += n
			continue
		case c == '\r':
			s.col = 0
		case c == '\n':
			s.down()
		case c == '\b':
			if s.col > 0 {
				s.col--
			}
		case c == 0x07 || c < 0x20:
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && !utf8.FullRune(data[i:]) {
				s.pending = append([]byte(nil), data[i:]...)
				return len(p), nil
			}
			s.put(r)
			i += size
			continue
		}
		i++
	}
	return len(p), nil
}

func (s *screen) put(r rune) {
	if s.col >= s.cols {
		s.col = 0
		s.down()
	}
	s.rows[s.row][s.col] = r
	s.col++
}

func (s *screen) down() {
	s.row++
	if s.row == len(s.rows) {
		s.rows = append(s.rows, s.blank())
	}
}

// escape applies one escape sequence and returns its length, or 0 when it
// is not complete yet.
func (s *screen) escape(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '[':
	case ']': // OSC, up to BEL or ST
		for i := 2; i < len(b); i++ {
			if b[i] == 0x07 {
				return i + 1
			}
			if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '\\' {
				return i + 2
			}
		}
		return 0
	default:
		return 2
	}
	i := 2
	for i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] == ';' || b[i] == '?') {
		i++
	}
	if i == len(b) {
		return 0
	}
	params := strings.Split(strings.TrimPrefix(string(b[2:i]), "?"), ";")
	n := func(k, def int) int {
		if k < len(params) {
			if v, err := strconv.Atoi(params[k]); err == nil && v > 0 {
				return v
			}
		}
		return def
	}
	top := len(s.rows) - s.maxRows
	switch b[i] {
	case 'A':
		s.row = max(max(top, 0), s.row-n(0, 1))
	case 'B':
		for k := 0; k < n(0, 1); k++ {
			s.down()
		}
	case 'C':
		s.col = min(s.cols-1, s.col+n(0, 1))
	case 'D':
		s.col = max(0, s.col-n(0, 1))
	case 'G':
		s.col = min(s.cols-1, n(0, 1)-1)
	case 'K':
		line := s.rows[s.row]
		from, to := s.col, s.cols
		switch n(0, 0) {
		case 1:
			from, to = 0, s.col+1
		case 2:
			from = 0
		}
		for k := from; k < to && k < s.cols; k++ {
			line[k] = ' '
		}
	case 'J':
		for k := s.col; k < s.cols; k++ {
			s.rows[s.row][k] = ' '
		}
		for r := s.row + 1; r < len(s.rows); r++ {
			s.rows[r] = s.blank()
		}
	case 'm':
		for _, p := range params {
			if p != "" && p != "0" {
				s.sgrColour = true
			}
		}
	}
	return i + 1
}

// text is the whole screen and its history, right-trimmed line by line.
func (s *screen) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lines []string
	for _, r := range s.rows {
		lines = append(lines, strings.TrimRight(string(r), " "))
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// cursorLine is the line the cursor is on, right-trimmed.
func (s *screen) cursorLine() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimRight(string(s.rows[s.row]), " ")
}
