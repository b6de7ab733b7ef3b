package quickreply

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fixed limits of one record. Each is enforced with ErrInvalid naming the
// field.
const (
	// MaxNameRunes bounds a category name.
	MaxNameRunes = 64
	// MaxTitleRunes bounds an item's title.
	MaxTitleRunes = 64
	// MaxContentRunes bounds an item's content.
	MaxContentRunes = 2000
)

// invalidf wraps ErrInvalid with the field at fault.
func invalidf(field, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// cleanLine trims s and checks it is 1 to maxRunes runes of one line.
func cleanLine(field, s string, maxRunes int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalidf(field, "is required")
	}
	if n := utf8.RuneCountInString(s); n > maxRunes {
		return "", invalidf(field, "is %d characters; at most %d", n, maxRunes)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return "", invalidf(field, "must not hold control characters or line breaks")
	}
	return s, nil
}

// cleanContent trims s and checks it is 1 to MaxContentRunes runes. Line
// breaks and tabs are allowed; other control characters are not.
func cleanContent(s string) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if s == "" {
		return "", invalidf("content", "is required")
	}
	if n := utf8.RuneCountInString(s); n > MaxContentRunes {
		return "", invalidf("content", "is %d characters; at most %d", n, MaxContentRunes)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		return "", invalidf("content", "must not hold control characters other than line breaks and tabs")
	}
	return s, nil
}

// validID reports whether id can be a quick-reply id: a decimal number.
// Anything else names nothing, and never reaches a key.
func validID(id string) bool {
	if id == "" || len(id) > 20 {
		return false
	}
	for _, c := range []byte(id) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func checkScope(s Scope) error {
	if s != Personal && s != Enterprise {
		return invalidf("scope", "%q is neither %q nor %q", s, Personal, Enterprise)
	}
	return nil
}
