package directory

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"parley/storage"
)

// CreateTag adds a tag. Names are unique, ignoring case (ErrConflict).
func (d *Directory) CreateTag(a Actor, name string) (Tag, error) {
	if err := checkActor(a); err != nil {
		return Tag{}, err
	}
	name, err := cleanName("name", name, "")
	if err != nil {
		return Tag{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	tags, err := d.ListTags()
	if err != nil {
		return Tag{}, err
	}
	if len(tags) >= MaxTags {
		return Tag{}, invalidf("name", "the company already has %d tags, the limit", MaxTags)
	}
	if err := checkTagName(tags, name, ""); err != nil {
		return Tag{}, err
	}
	var tag Tag
	err = d.db.Update(func(b *storage.Batch) error {
		id, err := d.nextID(b, seqTag)
		if err != nil {
			return err
		}
		tag = Tag{ID: id, Name: name, CreatedAt: now()}
		if err := b.SetJSON(storage.Key(storage.PrefixTag, id), tag); err != nil {
			return err
		}
		return d.appendAudit(b, a, tag.CreatedAt, change{"tag.create", "tag", id, nil, tag})
	})
	if err != nil {
		return Tag{}, fmt.Errorf("create tag %q: %w", name, err)
	}
	return tag, nil
}

// GetTag returns one tag, or ErrNotFound.
func (d *Directory) GetTag(id string) (Tag, error) {
	var t Tag
	err := d.getJSON(storage.Key(storage.PrefixTag, id), "tag "+id, &t)
	return t, err
}

// ListTags returns every tag, ordered by name.
func (d *Directory) ListTags() ([]Tag, error) {
	tags := []Tag{}
	var decodeErr error
	err := d.db.ScanPrefix([]byte(storage.PrefixTag), func(k, v []byte) bool {
		var t Tag
		if decodeErr = json.Unmarshal(v, &t); decodeErr != nil {
			decodeErr = fmt.Errorf("decode %q: %w", k, decodeErr)
			return false
		}
		tags = append(tags, t)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	slices.SortFunc(tags, func(a, b Tag) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return tags, nil
}

// RenameTag changes a tag's name, keeping names unique.
func (d *Directory) RenameTag(a Actor, id, name string) (Tag, error) {
	if err := checkActor(a); err != nil {
		return Tag{}, err
	}
	name, err := cleanName("name", name, "")
	if err != nil {
		return Tag{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	before, err := d.GetTag(id)
	if err != nil {
		return Tag{}, err
	}
	tags, err := d.ListTags()
	if err != nil {
		return Tag{}, err
	}
	if err := checkTagName(tags, name, id); err != nil {
		return Tag{}, err
	}
	after := before
	after.Name = name
	err = d.db.Update(func(b *storage.Batch) error {
		if err := b.SetJSON(storage.Key(storage.PrefixTag, id), after); err != nil {
			return err
		}
		return d.appendAudit(b, a, now(), change{"tag.rename", "tag", id, before, after})
	})
	if err != nil {
		return Tag{}, fmt.Errorf("rename tag %s: %w", id, err)
	}
	return after, nil
}

// tagWithMembers is what the audit log keeps of a deleted tag, so the
// entry alone can restore it.
type tagWithMembers struct {
	Tag
	Members []string `json:"members"`
}

// DeleteTag removes a tag and all its memberships.
func (d *Directory) DeleteTag(a Actor, id string) error {
	if err := checkActor(a); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	tag, err := d.GetTag(id)
	if err != nil {
		return err
	}
	members, err := d.TagMembers(id)
	if err != nil {
		return err
	}
	err = d.db.Update(func(b *storage.Batch) error {
		b.Delete(storage.Key(storage.PrefixTag, id))
		b.DeletePrefix(storage.KeyPrefix(storage.PrefixTagMember, id))
		for _, m := range members {
			b.Delete(storage.Key(storage.PrefixMemberTag, m, id))
		}
		return d.appendAudit(b, a, now(), change{"tag.delete", "tag", id, tagWithMembers{tag, members}, nil})
	})
	if err != nil {
		return fmt.Errorf("delete tag %s: %w", id, err)
	}
	return nil
}

// TagMembers returns the ids of the tag's members, sorted.
func (d *Directory) TagMembers(id string) ([]string, error) {
	if _, err := d.GetTag(id); err != nil {
		return nil, err
	}
	ids, err := d.suffixes(storage.KeyPrefix(storage.PrefixTagMember, id))
	if err != nil {
		return nil, fmt.Errorf("list members of tag %s: %w", id, err)
	}
	return ids, nil
}

// MemberTags returns the ids of the member's tags, sorted as keys sort.
func (d *Directory) MemberTags(memberID string) ([]string, error) {
	if _, err := d.GetMember(memberID); err != nil {
		return nil, err
	}
	ids, err := d.suffixes(storage.KeyPrefix(storage.PrefixMemberTag, memberID))
	if err != nil {
		return nil, fmt.Errorf("list tags of member %s: %w", memberID, err)
	}
	return ids, nil
}

// tagMembersChange is the audit record of UpdateTagMembers: what actually
// changed, rather than the whole (possibly huge) member list.
type tagMembersChange struct {
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// UpdateTagMembers adds and removes members of a tag. Every id must name
// an existing member, or nothing changes and the error (ErrNotFound)
// lists the unknown ones. An id in both lists ends up removed.
func (d *Directory) UpdateTagMembers(a Actor, id string, add, remove []string) error {
	if err := checkActor(a); err != nil {
		return err
	}
	if n := len(add) + len(remove); n > MaxTagMembersChange {
		return invalidf("members", "%d changes in one call, the limit is %d", n, MaxTagMembersChange)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.GetTag(id); err != nil {
		return err
	}
	removing := make(map[string]bool, len(remove))
	for _, m := range remove {
		removing[m] = true
	}
	var unknown []string
	checked := make(map[string]bool, len(add)+len(remove))
	for _, m := range slices.Concat(add, remove) {
		if checked[m] {
			continue
		}
		checked[m] = true
		ok, err := d.db.Has(storage.Key(storage.PrefixMember, m))
		if err != nil {
			return fmt.Errorf("check member %s: %w", m, err)
		}
		if !ok {
			unknown = append(unknown, m)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("members %s: %w", strings.Join(unknown, ", "), ErrNotFound)
	}
	// Keep only real changes, each once, for the batch and the audit entry.
	var c tagMembersChange
	done := make(map[string]bool, len(checked))
	for _, m := range slices.Concat(add, remove) {
		if done[m] {
			continue
		}
		done[m] = true
		has, err := d.db.Has(storage.Key(storage.PrefixTagMember, id, m))
		if err != nil {
			return fmt.Errorf("check tag %s member %s: %w", id, m, err)
		}
		switch {
		case removing[m] && has:
			c.Removed = append(c.Removed, m)
		case !removing[m] && !has:
			c.Added = append(c.Added, m)
		}
	}
	if len(c.Added) == 0 && len(c.Removed) == 0 {
		return nil // nothing changes, nothing to audit
	}
	err := d.db.Update(func(b *storage.Batch) error {
		for _, m := range c.Added {
			b.Set(storage.Key(storage.PrefixTagMember, id, m), nil)
			b.Set(storage.Key(storage.PrefixMemberTag, m, id), nil)
		}
		for _, m := range c.Removed {
			b.Delete(storage.Key(storage.PrefixTagMember, id, m))
			b.Delete(storage.Key(storage.PrefixMemberTag, m, id))
		}
		return d.appendAudit(b, a, now(), change{"tag.members", "tag", id, nil, c})
	})
	if err != nil {
		return fmt.Errorf("update members of tag %s: %w", id, err)
	}
	return nil
}

// checkTagName refuses name if a tag other than self has it, ignoring
// case.
func checkTagName(tags []Tag, name, self string) error {
	for _, t := range tags {
		if t.ID != self && strings.EqualFold(t.Name, name) {
			return fmt.Errorf("tag %q already exists (%s): %w", t.Name, t.ID, ErrConflict)
		}
	}
	return nil
}
