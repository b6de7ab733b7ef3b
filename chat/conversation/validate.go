package conversation

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"parley/chat/fields"
)

// invalidf wraps ErrInvalid with the field at fault: "invalid name: ...".
func invalidf(field, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// checkID validates a conversation or member id. Ids are key components,
// so '/' and control bytes are refused: they would make composite keys
// ambiguous (and 0x00 is DirectID's separator).
func checkID(field, id string) error {
	if id == "" {
		return invalidf(field, "is required")
	}
	if len(id) > MaxIDBytes {
		return invalidf(field, "is longer than %d bytes", MaxIDBytes)
	}
	if !utf8.ValidString(id) {
		return invalidf(field, "%q is not valid UTF-8", id)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == '/' || c < 0x20 || c == 0x7f {
			return invalidf(field, "%q must not contain '/' or control characters", id)
		}
	}
	return nil
}

// cleanMemberIDs validates ids and drops duplicates and skip (if set),
// keeping the first occurrence's order. It refuses more than limit ids
// with ErrLimit before it looks at any of them.
func cleanMemberIDs(ids []string, skip string, limit int) ([]string, error) {
	if len(ids) > limit {
		// Duplicates could bring it under; count distinct ids first.
		distinct := make(map[string]bool, limit+1)
		for _, id := range ids {
			if id != skip {
				distinct[id] = true
			}
			if len(distinct) > limit {
				return nil, fmt.Errorf("%w: more than %d members", ErrLimit, limit)
			}
		}
	}
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if err := checkID("member id", id); err != nil {
			return nil, err
		}
		if id == skip || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out, nil
}

// cleanName trims and checks a group name: 1 to MaxNameRunes runes on one
// line.
func cleanName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalidf("name", "is required")
	}
	return cleanText("name", s, MaxNameRunes, false)
}

// cleanText trims s and checks its length and characters. Empty is
// allowed. multiline admits newlines and tabs.
func cleanText(field, s string, maxRunes int, multiline bool) (string, error) {
	v, err := fields.Text(s, maxRunes, multiline, "")
	if err != nil {
		return "", invalidf(field, "%v", err)
	}
	return v, nil
}

// cleanAvatarURL accepts an http(s) URL or a server-relative path; other
// schemes (javascript:, data:) are refused because clients render it.
// Empty is allowed.
func cleanAvatarURL(s string) (string, error) {
	v, err := fields.AvatarURL(s, MaxAvatarURLBytes)
	if err != nil {
		return "", invalidf("avatar_url", "%v", err)
	}
	return v, nil
}

// cleanSettings trims and validates the free-text settings of a group in
// place.
func cleanSettings(c *Conversation) error {
	var err error
	if c.Name, err = cleanName(c.Name); err != nil {
		return err
	}
	if c.AvatarURL, err = cleanAvatarURL(c.AvatarURL); err != nil {
		return err
	}
	if c.Announcement, err = cleanText("announcement", c.Announcement, MaxAnnouncementRunes, true); err != nil {
		return err
	}
	if c.WelcomeMessage, err = cleanText("welcome_message", c.WelcomeMessage, MaxWelcomeMessageRunes, true); err != nil {
		return err
	}
	return nil
}
