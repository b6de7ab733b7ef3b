package quickreply

import (
	"errors"
	"fmt"

	"parley/storage"
)

// checkCategory refuses a category id that names no category of l. The
// category is named in the body, so this is ErrInvalid, not ErrNotFound.
func (s *Store) checkCategory(l library, id string) error {
	_, err := s.getCategory(l, id)
	if errors.Is(err, ErrNotFound) {
		return invalidf("category_id", "no category %q in the %s", id, l)
	}
	return err
}

// CreateItem adds a quick reply to a category of a's personal library, or
// of the enterprise one. A personal library holds at most
// Limits.MaxPersonalItems, the enterprise one Limits.MaxEnterpriseItems.
func (s *Store) CreateItem(a Actor, scope Scope, in NewItem) (Item, error) {
	l, err := libraryOf(a, scope)
	if err != nil {
		return Item{}, err
	}
	title, err := cleanLine("title", in.Title, MaxTitleRunes)
	if err != nil {
		return Item{}, err
	}
	content, err := cleanContent(in.Content)
	if err != nil {
		return Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkCategory(l, in.CategoryID); err != nil {
		return Item{}, err
	}
	n, err := s.count(l.itemPrefix())
	if err != nil {
		return Item{}, fmt.Errorf("count items of %s: %w", l, err)
	}
	if limit := l.maxItems(s.limits); n >= limit {
		return Item{}, fmt.Errorf("%w: the %s already has %d quick replies, the maximum", ErrLimit, l, n)
	}
	var it Item
	err = s.db.Update(func(b *storage.Batch) error {
		id, err := s.nextID(b)
		if err != nil {
			return err
		}
		t := now()
		it = Item{ID: id, Scope: scope, CategoryID: in.CategoryID, Title: title, Content: content,
			Order: in.Order, CreatedBy: a.ID, CreatedAt: t, UpdatedAt: t}
		if err := b.SetJSON(l.itemKey(id), it); err != nil {
			return err
		}
		return s.auditChange(b, l, a, t, TargetItem+".create", TargetItem, id, nil, it)
	})
	if err != nil {
		return Item{}, fmt.Errorf("create quick reply in the %s: %w", l, err)
	}
	return it, nil
}

// UpdateItem edits a quick reply, or moves it to another category of the
// same library.
func (s *Store) UpdateItem(a Actor, scope Scope, id string, p ItemPatch) (Item, error) {
	l, err := libraryOf(a, scope)
	if err != nil {
		return Item{}, err
	}
	var title, content string
	if p.Title != nil {
		if title, err = cleanLine("title", *p.Title, MaxTitleRunes); err != nil {
			return Item{}, err
		}
	}
	if p.Content != nil {
		if content, err = cleanContent(*p.Content); err != nil {
			return Item{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	before, err := s.getItem(l, id)
	if err != nil {
		return Item{}, err
	}
	after := before
	if p.CategoryID != nil && *p.CategoryID != before.CategoryID {
		if err := s.checkCategory(l, *p.CategoryID); err != nil {
			return Item{}, err
		}
		after.CategoryID = *p.CategoryID
	}
	if p.Title != nil {
		after.Title = title
	}
	if p.Content != nil {
		after.Content = content
	}
	if p.Order != nil {
		after.Order = *p.Order
	}
	after.UpdatedAt = now()
	err = s.db.Update(func(b *storage.Batch) error {
		if err := b.SetJSON(l.itemKey(id), after); err != nil {
			return err
		}
		return s.auditChange(b, l, a, after.UpdatedAt, TargetItem+".update", TargetItem, id, before, after)
	})
	if err != nil {
		return Item{}, fmt.Errorf("update quick reply %s in the %s: %w", id, l, err)
	}
	return after, nil
}

// DeleteItem removes a quick reply.
func (s *Store) DeleteItem(a Actor, scope Scope, id string) error {
	l, err := libraryOf(a, scope)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, err := s.getItem(l, id)
	if err != nil {
		return err
	}
	err = s.db.Update(func(b *storage.Batch) error {
		b.Delete(l.itemKey(id))
		return s.auditChange(b, l, a, now(), TargetItem+".delete", TargetItem, id, it, nil)
	})
	if err != nil {
		return fmt.Errorf("delete quick reply %s in the %s: %w", id, l, err)
	}
	return nil
}
