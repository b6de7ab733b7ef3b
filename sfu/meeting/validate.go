package meeting

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// invalidf wraps ErrInvalid with the field at fault.
func invalidf(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// checkID validates an id that becomes a key component: 1 to MaxIDBytes
// bytes, no '/' and no control bytes, the rules storage/keys.go relies on.
func checkID(field, id string) error {
	if id == "" || len(id) > MaxIDBytes {
		return invalidf(field, "must have 1 to %d bytes", MaxIDBytes)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == '/' || c < 0x20 || c == 0x7f {
			return invalidf(field, "%q contains '/' or a control byte", id)
		}
	}
	return nil
}

// checkText validates a display string: valid UTF-8, no control
// characters, 1 to max runes once trimmed. It returns the trimmed text.
func checkText(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", invalidf(field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n == 0 || n > max {
		return "", invalidf(field, "must have 1 to %d characters", max)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", invalidf(field, "contains a control character")
	}
	return s, nil
}

func checkSettings(s Settings) error {
	if s.MaxParticipants < 1 || s.MaxParticipants > MaxParticipantsCap {
		return invalidf("settings.max_participants", "must be 1 to %d, not %d", MaxParticipantsCap, s.MaxParticipants)
	}
	return nil
}

// checkSchedule validates a planned start and end; both zero is an
// instant meeting.
func checkSchedule(start, end time.Time) error {
	switch {
	case start.IsZero() && !end.IsZero():
		return invalidf("scheduled_end", "needs a scheduled_start")
	case end.IsZero():
		return nil
	case !end.After(start):
		return invalidf("scheduled_end", "must be after scheduled_start")
	case end.Sub(start) > MaxScheduledDuration:
		return invalidf("scheduled_end", "a meeting may be planned for at most %s", MaxScheduledDuration)
	}
	return nil
}

// cleanIDs checks every id, drops duplicates and the ids in skip, and
// refuses more than max. The result is never nil, so it encodes as [].
func cleanIDs(field string, ids []string, max int, skip ...string) ([]string, error) {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids)+len(skip))
	for _, s := range skip {
		seen[s] = true
	}
	for _, id := range ids {
		if err := checkID(field, id); err != nil {
			return nil, err
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	if len(out) > max {
		return nil, fmt.Errorf("%w: %s: at most %d, not %d", ErrLimit, field, max, len(out))
	}
	return out, nil
}

func checkReason(reason string) (string, error) {
	if reason == "" {
		return ReasonLeft, nil
	}
	if len(reason) > MaxReasonBytes {
		return "", invalidf("reason", "must have at most %d bytes", MaxReasonBytes)
	}
	for i := 0; i < len(reason); i++ {
		if c := reason[i]; c < 0x20 || c >= 0x7f {
			return "", invalidf("reason", "must be printable ASCII")
		}
	}
	return reason, nil
}
