package wire

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"strconv"
)

// errSyntax reports a frame the scanner cannot read.
var errSyntax = errors.New("malformed JSON")

// scanner reads the few fields the generator needs from a frame without
// reflection and without allocating: every value is walked and checked,
// the wanted ones are kept as slices of the frame and the rest skipped. It
// accepts the JSON the server writes, in any field order and with any
// extra fields. Strings with escapes, which the server's frames in a run
// do not have, are unquoted (and checked) by encoding/json into a copy.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.space()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		return errSyntax
	}
	s.i++
	return nil
}

// str reads a string value and returns its contents: a slice of the frame
// when the string has no escapes, else an unquoted copy.
func (s *scanner) str() ([]byte, error) {
	raw, escaped, err := s.rawStr()
	if err != nil || !escaped {
		return raw, err
	}
	var v string
	if err := json.Unmarshal(s.b[s.i-len(raw)-2:s.i], &v); err != nil {
		return nil, errSyntax
	}
	return []byte(v), nil
}

// rawStr reads a string value and returns its bytes between the quotes,
// escapes not undone, without copying. A string with escapes is checked
// by encoding/json.
func (s *scanner) rawStr() (raw []byte, escaped bool, err error) {
	if err := s.expect('"'); err != nil {
		return nil, false, err
	}
	start := s.i
	for {
		s.i += plainRun(s.b[s.i:])
		if s.i >= len(s.b) {
			return nil, false, errSyntax
		}
		switch s.b[s.i] {
		case '"':
			s.i++
			raw = s.b[start : s.i-1]
			if escaped && !json.Valid(s.b[start-1:s.i]) {
				return nil, false, errSyntax
			}
			return raw, escaped, nil
		case '\\':
			// Steps over the escaped byte, which may be a quote; the
			// whole string is checked at its end.
			escaped = true
			s.i += 2
			if s.i > len(s.b) {
				return nil, false, errSyntax
			}
		default: // a control character, which JSON strings may not hold
			return nil, false, errSyntax
		}
	}
}

// SWAR constants: the byte b in each of a word's eight bytes.
const (
	eachByte01 = 0x0101010101010101
	eachByte80 = 0x8080808080808080
)

// plainRun returns how many bytes at the start of b may stand in a JSON
// string as they are: everything but a quote, a backslash or a control
// character. String contents are nearly all of a frame, so it tests eight
// bytes per step with word arithmetic ("SWAR"): for a word x,
// (x - 0x01…01*n) &^ x has the top bit of a byte set where that byte of x
// is below n (n <= 0x80), exactly for the lowest such byte (a borrow can
// only mark bytes above it), and a byte equals c where it is zero in
// x ^ c…c. The lowest marked byte is the first special one.
func plainRun(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := x^(eachByte01*'"'), x^(eachByte01*'\\')
		special := (x - eachByte01*0x20) &^ x
		special |= (quote - eachByte01) &^ quote
		special |= (backslash - eachByte01) &^ backslash
		if special &= eachByte80; special != 0 {
			return i + bits.TrailingZeros64(special)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' {
			return i
		}
	}
	return i
}

// uint reads a non-negative integer value.
func (s *scanner) uint() (uint64, error) {
	s.space()
	start := s.i
	var v uint64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		v = v*10 + uint64(s.b[s.i]-'0')
		s.i++
	}
	switch n := s.i - start; {
	case n == 0 || n > 1 && s.b[start] == '0':
		return 0, errSyntax // no digits, or a leading zero
	case n >= maxExactDigits:
		// v may have wrapped around; strconv knows.
		exact, err := strconv.ParseUint(string(s.b[start:s.i]), 10, 64)
		if err != nil {
			return 0, errSyntax
		}
		return exact, nil
	}
	return v, nil
}

// maxExactDigits is the length from which a decimal may not fit a uint64
// (whose largest value has 20 digits).
const maxExactDigits = 20

// lit steps over the bytes lit if they come next, and reports whether
// they did.
func (s *scanner) lit(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// plainStr reads a string with no escapes that comes next, setting *v
// (unless v is nil) to its contents, and reports whether there was one.
func (s *scanner) plainStr(v *[]byte) bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	start := s.i + 1
	end := start + plainRun(s.b[start:])
	if end >= len(s.b) || s.b[end] != '"' {
		return false
	}
	if v != nil {
		*v = s.b[start:end]
	}
	s.i = end + 1
	return true
}

// digits reads a non-negative integer that comes next into *v and
// reports whether there was one.
func (s *scanner) digits(v *uint64) bool {
	if s.i >= len(s.b) || s.b[s.i] < '0' || s.b[s.i] > '9' {
		return false
	}
	n, err := s.uint()
	*v = n
	return err == nil
}

// literal reads true, false or null.
func (s *scanner) literal() (bool, error) {
	s.space()
	for _, lit := range []string{"true", "false", "null"} {
		if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
			s.i += len(lit)
			return lit == "true", nil
		}
	}
	return false, errSyntax
}

// skip steps over one value of any kind, checking it.
func (s *scanner) skip() error {
	switch c := s.peek(); {
	case c == '"':
		_, _, err := s.rawStr()
		return err
	case c == '{':
		return s.object(func([]byte) error { return s.skip() })
	case c == '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.skip(); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return errSyntax
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		for s.i < len(s.b) && (s.b[s.i] == '-' || s.b[s.i] == '+' || s.b[s.i] == '.' ||
			s.b[s.i] == 'e' || s.b[s.i] == 'E' || s.b[s.i] >= '0' && s.b[s.i] <= '9') {
			s.i++
		}
		if !json.Valid(s.b[start:s.i]) {
			return errSyntax
		}
		return nil
	default:
		_, err := s.literal()
		return err
	}
}

// object reads an object, calling field for each key (escapes not
// undone; the keys the generator looks for have none); field must read
// the key's value or skip it.
func (s *scanner) object(field func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, _, err := s.rawStr()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errSyntax
		}
	}
}
