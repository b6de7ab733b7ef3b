package live

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

var interactionKindPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

func invalidf(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// checkID validates an id that becomes a key component: 1 to MaxIDBytes
// bytes, no '/' and no control bytes.
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

// checkText validates display text, trimmed: valid UTF-8, min to max
// runes, no control characters except the line breaks and tabs multiline
// allows.
func checkText(field, s string, min, max int, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", invalidf(field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n < min || n > max {
		return "", invalidf(field, "must have %d to %d characters", min, max)
	}
	bad := func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t'))
	}
	if strings.IndexFunc(s, bad) >= 0 {
		return "", invalidf(field, "contains a control character")
	}
	return s, nil
}

// cleanIDs checks every id, drops duplicates and the ids in skip, and
// refuses more than max. The result is never nil.
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

// cleanScope validates a scope and returns it with its lists cleaned.
func cleanScope(s Scope) (Scope, error) {
	var err error
	switch s.Kind {
	case ScopeInternal:
		if s.PasswordHash != "" {
			return Scope{}, invalidf("scope.password", "only an external live may have a password")
		}
		if s.Departments, err = cleanIDs("scope.departments", s.Departments, MaxScopeDepartments); err != nil {
			return Scope{}, err
		}
		if s.Tags, err = cleanIDs("scope.tags", s.Tags, MaxScopeTags); err != nil {
			return Scope{}, err
		}
	case ScopeExternal:
		if s.AllMembers || len(s.Departments) > 0 || len(s.Tags) > 0 {
			return Scope{}, invalidf("scope", "an external live is for anyone with its link; all_members, departments and tags apply to internal lives")
		}
		if h := s.PasswordHash; h != "" && (len(h) > MaxPasswordHashBytes || !strings.HasPrefix(h, "$argon2id$")) {
			return Scope{}, invalidf("scope.password_hash", "must be an argon2id PHC string of at most %d bytes", MaxPasswordHashBytes)
		}
		s.Departments, s.Tags = []string{}, []string{}
	default:
		return Scope{}, invalidf("scope.kind", "must be %q or %q, not %q", ScopeInternal, ScopeExternal, s.Kind)
	}
	return s, nil
}

func checkInteractionKind(kind string) error {
	if !interactionKindPattern.MatchString(kind) {
		return invalidf("interaction kind", "%q must be 1 to 32 lower-case letters, digits or '_', starting with a letter", kind)
	}
	return nil
}

func checkViewer(v Viewer) (Viewer, error) {
	if err := checkID("viewer id", v.ID); err != nil {
		return Viewer{}, err
	}
	if v.MemberID != "" {
		if err := checkID("viewer member id", v.MemberID); err != nil {
			return Viewer{}, err
		}
	}
	name, err := checkText("viewer name", v.Name, 1, MaxNameRunes, false)
	if err != nil {
		return Viewer{}, err
	}
	v.Name = name
	return v, nil
}

// utc is t in UTC, or the zero time for a zero t.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// later is the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
