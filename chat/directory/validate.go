package directory

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"parley/chat/fields"
)

// Limits. Each is enforced with ErrInvalid naming the field.
const (
	// MaxNameRunes bounds department, member and tag names.
	MaxNameRunes = 64
	// MaxDepartmentDepth is the deepest a department may sit, counting the
	// root as level 1.
	MaxDepartmentDepth = 15
	// MaxDepartmentsPerMember bounds Member.Departments.
	MaxDepartmentsPerMember = 20
	// MaxAdminDepartments bounds Member.AdminDepartments.
	MaxAdminDepartments = 20
	// MaxTextRunes bounds short profile text: position, external nickname
	// and title.
	MaxTextRunes = 64
	// MaxBioRunes bounds the external profile bio.
	MaxBioRunes = 1024
	// MaxEmailBytes is the longest address SMTP can carry.
	MaxEmailBytes = 254
	// MaxAvatarURLBytes bounds Member.AvatarURL.
	MaxAvatarURLBytes = 2048
	// MaxTags bounds how many tags the company may define.
	MaxTags = 10000
	// MaxTagMembersChange bounds the ids in one UpdateTagMembers call.
	MaxTagMembersChange = 10000
	// DefaultListLimit is the page size when a filter's Limit is zero.
	DefaultListLimit = 100
	// MaxListLimit caps a filter's Limit.
	MaxListLimit = 1000
)

var (
	memberIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)
	mobilePattern   = regexp.MustCompile(`^\+?[0-9]{5,20}$`)
)

// invalidf wraps ErrInvalid with the field at fault: "invalid email: ...".
func invalidf(field, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// checkMemberID validates a member id. Ids are key components, so the
// pattern also keeps '/' and control bytes out of keys.
func checkMemberID(id string) error {
	if !memberIDPattern.MatchString(id) {
		return invalidf("id", "%q must be 1 to 64 letters, digits or _.@- and start with a letter or digit", id)
	}
	if reservedMemberIDs[id] {
		return invalidf("id", "%q is reserved: the audit log and system messages use it for the server itself", id)
	}
	return nil
}

// reservedMemberIDs name the server itself as an actor ("system" for what
// the server does on its own, "cli" for offline admin tasks), so no member
// may take them.
var reservedMemberIDs = map[string]bool{"system": true, "cli": true}

// cleanName trims s and checks it is a usable name: 1 to MaxNameRunes
// runes, no control characters and none of the runes in forbid.
func cleanName(field, s, forbid string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalidf(field, "is required")
	}
	return cleanText(field, s, MaxNameRunes, forbid, false)
}

// cleanText trims s and checks its length and characters. Empty is allowed.
func cleanText(field, s string, maxRunes int, forbid string, multiline bool) (string, error) {
	v, err := fields.Text(s, maxRunes, multiline, forbid)
	if err != nil {
		return "", invalidf(field, "%v", err)
	}
	return v, nil
}

// cleanMobile trims and checks a mobile number. Empty is allowed.
func cleanMobile(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s != "" && !mobilePattern.MatchString(s) {
		return "", invalidf("mobile", "%q must be 5 to 20 digits with an optional leading +", s)
	}
	return s, nil
}

// cleanEmail trims and checks a bare address ("a@example.com", not
// "A <a@example.com>"). Empty is allowed.
func cleanEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > MaxEmailBytes {
		return "", invalidf("email", "is longer than %d bytes", MaxEmailBytes)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", invalidf("email", "%q is not a valid address", s)
	}
	return s, nil
}

// emailKey is the unique-index form of an address.
func emailKey(email string) string { return strings.ToLower(email) }

// cleanAvatarURL accepts an http(s) URL or a server-relative path; other
// schemes (javascript:, data:) are refused because clients render it.
func cleanAvatarURL(s string) (string, error) {
	v, err := fields.AvatarURL(s, MaxAvatarURLBytes)
	if err != nil {
		return "", invalidf("avatar_url", "%v", err)
	}
	return v, nil
}

func checkGender(g string) error {
	switch g {
	case "", "male", "female":
		return nil
	}
	return invalidf("gender", "%q must be empty, male or female", g)
}

func checkStatus(s Status) error {
	switch s {
	case StatusActive, StatusDisabled:
		return nil
	}
	return invalidf("status", "%q must be active or disabled", s)
}

func checkRole(r Role) error {
	switch r {
	case RoleSuperAdmin, RoleDeptAdmin, RoleMember:
		return nil
	}
	return invalidf("role", "%q must be super_admin, dept_admin or member", r)
}

// cleanDepartmentIDs trims and de-duplicates ids, keeping their order,
// and checks count bounds and that each exists.
func cleanDepartmentIDs(field string, ids []string, max int, exists func(id string) (bool, error)) ([]string, error) {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil, invalidf(field, "needs at least one department")
	}
	if len(out) > max {
		return nil, invalidf(field, "has %d departments, the limit is %d", len(out), max)
	}
	for _, id := range out {
		ok, err := exists(id)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, invalidf(field, "department %s does not exist", id)
		}
	}
	return out, nil
}

// normalize trims and validates every field of m in place and fills the
// defaults (status active, role member). exists reports whether a
// department id exists. It checks the record alone; uniqueness of id,
// mobile and email is the caller's job.
func normalize(m *Member, exists func(id string) (bool, error)) error {
	var err error
	if err = checkMemberID(m.ID); err != nil {
		return err
	}
	if m.Name, err = cleanName("name", m.Name, ""); err != nil {
		return err
	}
	if m.Mobile, err = cleanMobile(m.Mobile); err != nil {
		return err
	}
	if m.Email, err = cleanEmail(m.Email); err != nil {
		return err
	}
	if m.Departments, err = cleanDepartmentIDs("departments", m.Departments, MaxDepartmentsPerMember, exists); err != nil {
		return err
	}
	if m.Position, err = cleanText("position", m.Position, MaxTextRunes, "", false); err != nil {
		return err
	}
	m.Gender = strings.TrimSpace(m.Gender)
	if err = checkGender(m.Gender); err != nil {
		return err
	}
	if m.AvatarURL, err = cleanAvatarURL(m.AvatarURL); err != nil {
		return err
	}
	p := &m.ExternalProfile
	if p.Nickname, err = cleanText("external_profile.nickname", p.Nickname, MaxTextRunes, "", false); err != nil {
		return err
	}
	if p.Title, err = cleanText("external_profile.title", p.Title, MaxTextRunes, "", false); err != nil {
		return err
	}
	if p.Bio, err = cleanText("external_profile.bio", p.Bio, MaxBioRunes, "", true); err != nil {
		return err
	}
	if m.Status == "" {
		m.Status = StatusActive
	}
	if err = checkStatus(m.Status); err != nil {
		return err
	}
	if m.Role == "" {
		m.Role = RoleMember
	}
	if err = checkRole(m.Role); err != nil {
		return err
	}
	if m.Role != RoleDeptAdmin {
		m.AdminDepartments = nil
		return nil
	}
	m.AdminDepartments, err = cleanDepartmentIDs("admin_departments", m.AdminDepartments, MaxAdminDepartments, exists)
	return err
}
