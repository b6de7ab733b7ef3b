package fields

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text trims s and checks it: valid UTF-8, at most maxRunes characters, no
// control characters (multiline admits newlines and tabs) and none of the
// runes in forbid. Empty is allowed.
func Text(s string, maxRunes int, multiline bool, forbid string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", errors.New("is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > maxRunes {
		return "", fmt.Errorf("has %d characters, the limit is %d", n, maxRunes)
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return "", errors.New("must not contain control characters")
		}
		if strings.ContainsRune(forbid, r) {
			return "", fmt.Errorf("must not contain %q", r)
		}
	}
	return s, nil
}

// AvatarURL trims s and accepts an http(s) URL or a server-relative path of
// at most maxBytes. Other schemes (javascript:, data:) are refused because
// clients render the URL. Empty is allowed.
func AvatarURL(s string, maxBytes int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > maxBytes {
		return "", fmt.Errorf("is longer than %d bytes", maxBytes)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	relative := u.Scheme == "" && u.Host == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//")
	if !relative && u.Scheme != "http" && u.Scheme != "https" {
		return "", errors.New("must be an http(s) URL or a path starting with /")
	}
	return s, nil
}
