package directory

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"parley/storage"
)

// CreateMember validates and stores a new member. Status defaults to
// active and Role to member; CreatedAt and UpdatedAt are set here. A
// duplicate id, mobile or email is ErrConflict.
func (d *Directory) CreateMember(a Actor, m Member) (Member, error) {
	if err := checkActor(a); err != nil {
		return Member{}, err
	}
	if err := normalize(&m, d.departmentExists); err != nil {
		return Member{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	exists, err := d.db.Has(storage.Key(storage.PrefixMember, m.ID))
	if err != nil {
		return Member{}, fmt.Errorf("check member %s: %w", m.ID, err)
	}
	if exists {
		return Member{}, fmt.Errorf("member %s already exists: %w", m.ID, ErrConflict)
	}
	if err := d.checkUnique(m); err != nil {
		return Member{}, err
	}
	t := now()
	m.CreatedAt, m.UpdatedAt = t, t
	err = d.db.Update(func(b *storage.Batch) error {
		if err := putMember(b, nil, &m); err != nil {
			return err
		}
		return d.appendAudit(b, a, t, change{"member.create", "member", m.ID, nil, m})
	})
	if err != nil {
		return Member{}, fmt.Errorf("create member %s: %w", m.ID, err)
	}
	return m, nil
}

// GetMember returns one member, or ErrNotFound.
func (d *Directory) GetMember(id string) (Member, error) {
	var m Member
	err := d.getJSON(storage.Key(storage.PrefixMember, id), "member "+id, &m)
	return m, err
}

// UpdateMember applies p to member id's profile.
func (d *Directory) UpdateMember(a Actor, id string, p MemberPatch) (Member, error) {
	return d.modifyMember(a, id, "member.update", func(m *Member) error {
		if p.Name != nil {
			m.Name = *p.Name
		}
		if p.Mobile != nil {
			m.Mobile = *p.Mobile
		}
		if p.Email != nil {
			m.Email = *p.Email
		}
		if p.Departments != nil {
			m.Departments = slices.Clone(*p.Departments)
		}
		if p.Position != nil {
			m.Position = *p.Position
		}
		if p.Gender != nil {
			m.Gender = *p.Gender
		}
		if p.AvatarURL != nil {
			m.AvatarURL = *p.AvatarURL
		}
		if p.ExternalProfile != nil {
			m.ExternalProfile = *p.ExternalProfile
		}
		return nil
	})
}

// SetStatus enables or disables member id. Disabling the last active
// super admin is refused with ErrConflict.
func (d *Directory) SetStatus(a Actor, id string, s Status) (Member, error) {
	if err := checkStatus(s); err != nil {
		return Member{}, err
	}
	action := "member.enable"
	if s == StatusDisabled {
		action = "member.disable"
	}
	return d.modifyMember(a, id, action, func(m *Member) error {
		m.Status = s
		return nil
	})
}

// SetRole changes member id's role. RoleDeptAdmin needs at least one
// existing department in adminDepartments, the subtrees it administers;
// the other roles clear AdminDepartments. Demoting the last active super
// admin is refused with ErrConflict.
func (d *Directory) SetRole(a Actor, id string, r Role, adminDepartments []string) (Member, error) {
	if err := checkRole(r); err != nil {
		return Member{}, err
	}
	if r == RoleDeptAdmin && len(adminDepartments) == 0 {
		return Member{}, invalidf("admin_departments", "needs at least one department for role %s", r)
	}
	return d.modifyMember(a, id, "member.role", func(m *Member) error {
		m.Role = r
		m.AdminDepartments = slices.Clone(adminDepartments)
		return nil
	})
}

// modifyMember is the read-modify-write shared by the member updates:
// load, apply edit, validate, check uniqueness, write record, indexes and
// audit entry in one batch.
func (d *Directory) modifyMember(a Actor, id, action string, edit func(m *Member) error) (Member, error) {
	if err := checkActor(a); err != nil {
		return Member{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	before, err := d.GetMember(id)
	if err != nil {
		return Member{}, err
	}
	after := before
	after.Departments = slices.Clone(before.Departments)
	after.AdminDepartments = slices.Clone(before.AdminDepartments)
	if err := edit(&after); err != nil {
		return Member{}, err
	}
	if err := normalize(&after, d.departmentExists); err != nil {
		return Member{}, err
	}
	if err := d.checkUnique(after); err != nil {
		return Member{}, err
	}
	if isActiveSuperAdmin(before) && !isActiveSuperAdmin(after) {
		// Checked under d.mu, so two concurrent demotions cannot both
		// pass and leave the company with no one to administer it.
		n, err := d.CountSuperAdmins()
		if err != nil {
			return Member{}, err
		}
		if n <= 1 {
			return Member{}, fmt.Errorf("%w: %s is the last active super admin; appoint another first", ErrConflict, id)
		}
	}
	t := now()
	after.UpdatedAt = t
	err = d.db.Update(func(b *storage.Batch) error {
		if err := putMember(b, &before, &after); err != nil {
			return err
		}
		return d.appendAudit(b, a, t, change{action, "member", id, before, after})
	})
	if err != nil {
		return Member{}, fmt.Errorf("update member %s: %w", id, err)
	}
	return after, nil
}

// CountSuperAdmins counts the active super admins, the ones who can still
// sign in and administer. It reads every member, which is fine for how rarely it is asked.
func (d *Directory) CountSuperAdmins() (int, error) {
	n := 0
	var decodeErr error
	err := d.db.ScanPrefix([]byte(storage.PrefixMember), func(k, v []byte) bool {
		var m struct {
			Role   Role   `json:"role"`
			Status Status `json:"status"`
		}
		if decodeErr = json.Unmarshal(v, &m); decodeErr != nil {
			decodeErr = fmt.Errorf("decode %q: %w", k, decodeErr)
			return false
		}
		if m.Role == RoleSuperAdmin && m.Status == StatusActive {
			n++
		}
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return 0, fmt.Errorf("count super admins: %w", err)
	}
	return n, nil
}

// departmentExists is the existence check normalize uses.
func (d *Directory) departmentExists(id string) (bool, error) {
	ok, err := d.db.Has(storage.Key(storage.PrefixDepartment, id))
	if err != nil {
		return false, fmt.Errorf("check department %s: %w", id, err)
	}
	return ok, nil
}

// checkUnique refuses m's mobile or email when another member holds it.
func (d *Directory) checkUnique(m Member) error {
	if m.Mobile != "" {
		if err := d.checkIndexOwner(storage.Key(storage.PrefixMemberByMobile, m.Mobile), m.ID, "mobile", m.Mobile); err != nil {
			return err
		}
	}
	if m.Email != "" {
		if err := d.checkIndexOwner(storage.Key(storage.PrefixMemberByEmail, emailKey(m.Email)), m.ID, "email", m.Email); err != nil {
			return err
		}
	}
	return nil
}

func (d *Directory) checkIndexOwner(key []byte, self, field, value string) error {
	owner, err := d.db.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s %s: %w", field, value, err)
	}
	if string(owner) != self {
		return fmt.Errorf("%s %s is already used by member %s: %w", field, value, owner, ErrConflict)
	}
	return nil
}

// putMember writes m and brings every member index in line with it:
// mobile, email and department membership. before is the stored record,
// nil for a new member.
func putMember(b *storage.Batch, before, m *Member) error {
	if err := b.SetJSON(storage.Key(storage.PrefixMember, m.ID), m); err != nil {
		return err
	}
	var old Member
	if before != nil {
		old = *before
	}
	if old.Mobile != "" && old.Mobile != m.Mobile {
		b.Delete(storage.Key(storage.PrefixMemberByMobile, old.Mobile))
	}
	if m.Mobile != "" {
		b.Set(storage.Key(storage.PrefixMemberByMobile, m.Mobile), []byte(m.ID))
	}
	if old.Email != "" && emailKey(old.Email) != emailKey(m.Email) {
		b.Delete(storage.Key(storage.PrefixMemberByEmail, emailKey(old.Email)))
	}
	if m.Email != "" {
		b.Set(storage.Key(storage.PrefixMemberByEmail, emailKey(m.Email)), []byte(m.ID))
	}
	for _, dept := range old.Departments {
		if !slices.Contains(m.Departments, dept) {
			b.Delete(storage.Key(storage.PrefixDeptMember, dept, m.ID))
		}
	}
	for _, dept := range m.Departments {
		b.Set(storage.Key(storage.PrefixDeptMember, dept, m.ID), nil)
	}
	return nil
}

// ListMembers returns one page of members matching f, ordered by id, and
// the cursor for the next page ("" when done). The cheapest index drives
// the scan: the tag's members, the department's members, or all members;
// the other conditions filter what it yields.
func (d *Directory) ListMembers(f MemberFilter) (members []Member, next string, err error) {
	limit := listLimit(f.Limit)
	members = []Member{}
	if f.Status != "" {
		if err := checkStatus(f.Status); err != nil {
			return nil, "", err
		}
	}
	var inDepts map[string]bool // nil: no department condition
	if f.Department != "" {
		if _, err := d.GetDepartment(f.Department); err != nil {
			return nil, "", err
		}
		ids := []string{f.Department}
		if f.Recursive {
			if ids, err = d.subtree(f.Department); err != nil {
				return nil, "", err
			}
		}
		if !(f.Recursive && f.Department == RootDepartmentID) { // every member is under the root
			inDepts = make(map[string]bool, len(ids))
			for _, id := range ids {
				inDepts[id] = true
			}
		}
	}
	if f.Tag != "" {
		if _, err := d.GetTag(f.Tag); err != nil {
			return nil, "", err
		}
	}
	query := strings.ToLower(strings.TrimSpace(f.Query))

	more := false
	// offer adds m to the page if it matches; false stops the scan.
	offer := func(m Member) bool {
		if !memberMatches(m, f.Status, query, inDepts) {
			return true
		}
		if len(members) == limit {
			more = true
			return false
		}
		members = append(members, m)
		return true
	}

	switch {
	case f.Tag != "":
		err = d.scanIDs(storage.KeyPrefix(storage.PrefixTagMember, f.Tag), f.After, offer)
	case inDepts != nil && !f.Recursive:
		err = d.scanIDs(storage.KeyPrefix(storage.PrefixDeptMember, f.Department), f.After, offer)
	case inDepts != nil:
		err = d.offerSubtreeMembers(inDepts, f.After, offer)
	default:
		err = d.scanAllMembers(f.After, offer)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list members: %w", err)
	}
	if more {
		next = members[len(members)-1].ID
	}
	return members, next, nil
}

func memberMatches(m Member, status Status, query string, inDepts map[string]bool) bool {
	if status != "" && m.Status != status {
		return false
	}
	if inDepts != nil && !slices.ContainsFunc(m.Departments, func(id string) bool { return inDepts[id] }) {
		return false
	}
	if query == "" {
		return true
	}
	for _, s := range []string{m.ID, m.Name, m.Mobile, m.Email} {
		if strings.Contains(strings.ToLower(s), query) {
			return true
		}
	}
	return false
}

// afterKey is the scan start for ids after cursor under prefix: the key
// right after prefix+cursor.
func afterKey(prefix []byte, cursor string) []byte {
	if cursor == "" {
		return prefix
	}
	k := append(append([]byte(nil), prefix...), cursor...)
	return append(k, 0)
}

// scanAllMembers offers every member with id > after, in id order.
func (d *Directory) scanAllMembers(after string, offer func(Member) bool) error {
	prefix := []byte(storage.PrefixMember)
	var decodeErr error
	err := d.db.Scan(afterKey(prefix, after), storage.PrefixEnd(prefix), false, 0, func(k, v []byte) bool {
		var m Member
		if decodeErr = json.Unmarshal(v, &m); decodeErr != nil {
			decodeErr = fmt.Errorf("decode %q: %w", k, decodeErr)
			return false
		}
		return offer(m)
	})
	if err != nil {
		return err
	}
	return decodeErr
}

// scanIDs offers the members named by an index under prefix (tag or
// department membership) with id > after, in id order.
func (d *Directory) scanIDs(prefix []byte, after string, offer func(Member) bool) error {
	var loadErr error
	err := d.db.Scan(afterKey(prefix, after), storage.PrefixEnd(prefix), false, 0, func(k, _ []byte) bool {
		m, err := d.GetMember(string(k[len(prefix):]))
		if err != nil {
			loadErr = fmt.Errorf("index %q: %w", k, err)
			return false
		}
		return offer(m)
	})
	if err != nil {
		return err
	}
	return loadErr
}

// offerSubtreeMembers offers the members of any department in depts with
// id > after, in id order, each once. The ids come from the membership
// indexes, merged and sorted here.
func (d *Directory) offerSubtreeMembers(depts map[string]bool, after string, offer func(Member) bool) error {
	seen := make(map[string]bool)
	var ids []string
	for dept := range depts {
		prefix := storage.KeyPrefix(storage.PrefixDeptMember, dept)
		err := d.db.Scan(afterKey(prefix, after), storage.PrefixEnd(prefix), false, 0, func(k, _ []byte) bool {
			id := string(k[len(prefix):])
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		m, err := d.GetMember(id)
		if err != nil {
			return fmt.Errorf("membership index: %w", err)
		}
		if !offer(m) {
			return nil
		}
	}
	return nil
}

func isActiveSuperAdmin(m Member) bool {
	return m.Role == RoleSuperAdmin && m.Status == StatusActive
}
