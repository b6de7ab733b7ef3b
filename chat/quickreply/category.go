package quickreply

import (
	"fmt"

	"parley/storage"
)

// CreateCategory adds a category to a's personal library, or to the
// enterprise one. A library holds at most Limits.MaxCategories.
func (s *Store) CreateCategory(a Actor, scope Scope, in NewCategory) (Category, error) {
	l, err := libraryOf(a, scope)
	if err != nil {
		return Category{}, err
	}
	name, err := cleanLine("name", in.Name, MaxNameRunes)
	if err != nil {
		return Category{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.count(l.catPrefix())
	if err != nil {
		return Category{}, fmt.Errorf("count categories of %s: %w", l, err)
	}
	if n >= s.limits.MaxCategories {
		return Category{}, fmt.Errorf("%w: the %s already has %d categories, the maximum", ErrLimit, l, n)
	}
	var c Category
	err = s.db.Update(func(b *storage.Batch) error {
		id, err := s.nextID(b)
		if err != nil {
			return err
		}
		t := now()
		c = Category{ID: id, Scope: scope, Name: name, Order: in.Order, CreatedBy: a.ID, CreatedAt: t, UpdatedAt: t}
		if err := b.SetJSON(l.catKey(id), c); err != nil {
			return err
		}
		return s.auditChange(b, l, a, t, TargetCategory+".create", TargetCategory, id, nil, c)
	})
	if err != nil {
		return Category{}, fmt.Errorf("create category %q in the %s: %w", name, l, err)
	}
	return c, nil
}

// UpdateCategory renames or reorders a category.
func (s *Store) UpdateCategory(a Actor, scope Scope, id string, p CategoryPatch) (Category, error) {
	l, err := libraryOf(a, scope)
	if err != nil {
		return Category{}, err
	}
	var name string
	if p.Name != nil {
		if name, err = cleanLine("name", *p.Name, MaxNameRunes); err != nil {
			return Category{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	before, err := s.getCategory(l, id)
	if err != nil {
		return Category{}, err
	}
	after := before
	if p.Name != nil {
		after.Name = name
	}
	if p.Order != nil {
		after.Order = *p.Order
	}
	after.UpdatedAt = now()
	err = s.db.Update(func(b *storage.Batch) error {
		if err := b.SetJSON(l.catKey(id), after); err != nil {
			return err
		}
		return s.auditChange(b, l, a, after.UpdatedAt, TargetCategory+".update", TargetCategory, id, before, after)
	})
	if err != nil {
		return Category{}, fmt.Errorf("update category %s in the %s: %w", id, l, err)
	}
	return after, nil
}

// DeleteCategory removes an empty category; one that still holds items is
// ErrNotEmpty.
func (s *Store) DeleteCategory(a Actor, scope Scope, id string) error {
	l, err := libraryOf(a, scope)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.getCategory(l, id)
	if err != nil {
		return err
	}
	items, err := scanJSON[Item](s.db, l.itemPrefix())
	if err != nil {
		return fmt.Errorf("list items of %s: %w", l, err)
	}
	held := 0
	for _, it := range items {
		if it.CategoryID == id {
			held++
		}
	}
	if held > 0 {
		return fmt.Errorf("%w: category %s still holds %d quick replies; delete or move them first", ErrNotEmpty, id, held)
	}
	err = s.db.Update(func(b *storage.Batch) error {
		b.Delete(l.catKey(id))
		return s.auditChange(b, l, a, now(), TargetCategory+".delete", TargetCategory, id, c, nil)
	})
	if err != nil {
		return fmt.Errorf("delete category %s in the %s: %w", id, l, err)
	}
	return nil
}
