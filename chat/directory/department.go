package directory

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"parley/storage"
)

// departmentForbidden are the runes a department name may not hold: '/'
// separates the levels of a name path and ';' separates departments in a
// CSV import cell.
const departmentForbidden = "/;"

// Bootstrap creates the root department (RootDepartmentID) named rootName
// if it does not exist yet. It is idempotent: an existing root keeps its
// name.
func (d *Directory) Bootstrap(rootName string) error {
	name, err := cleanName("name", rootName, departmentForbidden)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ok, err := d.db.Has(storage.Key(storage.PrefixDepartment, RootDepartmentID))
	if err != nil || ok {
		return err
	}
	last, err := d.sequence(seqDepartment)
	if err != nil {
		return err
	}
	t := now()
	root := Department{ID: RootDepartmentID, Name: name, CreatedAt: t, UpdatedAt: t}
	err = d.db.Update(func(b *storage.Batch) error {
		if last < 1 {
			b.Set(storage.Key(storage.PrefixIDSequence, seqDepartment), storage.AppendUint64(nil, 1))
		}
		if err := b.SetJSON(storage.Key(storage.PrefixDepartment, root.ID), root); err != nil {
			return err
		}
		return d.appendAudit(b, Actor{ID: "system"}, t, change{"department.create", "department", root.ID, nil, root})
	})
	if err != nil {
		return fmt.Errorf("bootstrap root department: %w", err)
	}
	return nil
}

// CreateDepartment adds a department named name under parentID. Names are
// unique among siblings (ErrConflict) so that name paths identify one
// department.
func (d *Directory) CreateDepartment(a Actor, name, parentID string, order int) (Department, error) {
	if err := checkActor(a); err != nil {
		return Department{}, err
	}
	name, err := cleanName("name", name, departmentForbidden)
	if err != nil {
		return Department{}, err
	}
	if parentID == "" {
		return Department{}, invalidf("parent_id", "is required")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	depth, err := d.depth(parentID)
	if err != nil {
		return Department{}, invalidParent(err, parentID)
	}
	if depth+1 > MaxDepartmentDepth {
		return Department{}, invalidf("parent_id", "department %s is at depth %d; the tree may be at most %d levels deep", parentID, depth, MaxDepartmentDepth)
	}
	if err := d.checkSiblingName(parentID, name, ""); err != nil {
		return Department{}, err
	}
	var dept Department
	err = d.db.Update(func(b *storage.Batch) error {
		id, err := d.nextID(b, seqDepartment)
		if err != nil {
			return err
		}
		t := now()
		dept = Department{ID: id, Name: name, ParentID: parentID, Order: order, CreatedAt: t, UpdatedAt: t}
		if err := b.SetJSON(storage.Key(storage.PrefixDepartment, id), dept); err != nil {
			return err
		}
		b.Set(storage.Key(storage.PrefixDeptChild, parentID, id), nil)
		return d.appendAudit(b, a, t, change{"department.create", "department", id, nil, dept})
	})
	if err != nil {
		return Department{}, fmt.Errorf("create department %q: %w", name, err)
	}
	return dept, nil
}

// GetDepartment returns one department, or ErrNotFound.
func (d *Directory) GetDepartment(id string) (Department, error) {
	var dept Department
	err := d.getJSON(storage.Key(storage.PrefixDepartment, id), "department "+id, &dept)
	return dept, err
}

// ListDepartments returns every department reachable from the root, depth
// first, siblings ordered by (Order, Name). It reads all departments in
// one scan and builds the tree for this call only.
func (d *Directory) ListDepartments() ([]Department, error) {
	children := make(map[string][]Department)
	var root *Department
	var decodeErr error
	err := d.db.ScanPrefix([]byte(storage.PrefixDepartment), func(k, v []byte) bool {
		var dept Department
		if decodeErr = json.Unmarshal(v, &dept); decodeErr != nil {
			decodeErr = fmt.Errorf("decode %q: %w", k, decodeErr)
			return false
		}
		if dept.ID == RootDepartmentID {
			root = &dept
			return true
		}
		children[dept.ParentID] = append(children[dept.ParentID], dept)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return nil, fmt.Errorf("list departments: %w", err)
	}
	if root == nil {
		return []Department{}, nil
	}
	out := []Department{*root}
	var walk func(id string, depth int)
	walk = func(id string, depth int) {
		if depth > MaxDepartmentDepth {
			return // only a corrupted tree is this deep; do not loop forever
		}
		kids := children[id]
		sortDepartments(kids)
		for _, k := range kids {
			out = append(out, k)
			walk(k.ID, depth+1)
		}
	}
	walk(RootDepartmentID, 2)
	return out, nil
}

// Children returns the direct children of id, ordered by (Order, Name).
func (d *Directory) Children(id string) ([]Department, error) {
	if _, err := d.GetDepartment(id); err != nil {
		return nil, err
	}
	ids, err := d.suffixes(storage.KeyPrefix(storage.PrefixDeptChild, id))
	if err != nil {
		return nil, fmt.Errorf("list children of department %s: %w", id, err)
	}
	out := make([]Department, 0, len(ids))
	for _, cid := range ids {
		c, err := d.GetDepartment(cid)
		if err != nil {
			return nil, fmt.Errorf("child of department %s: %w", id, err)
		}
		out = append(out, c)
	}
	sortDepartments(out)
	return out, nil
}

// UpdateDepartment renames, reorders or moves a department. A move under
// the department itself or one of its descendants is refused with
// ErrCycle; the root cannot move; a move may not push any part of the
// subtree below MaxDepartmentDepth.
func (d *Directory) UpdateDepartment(a Actor, id string, p DepartmentPatch) (Department, error) {
	if err := checkActor(a); err != nil {
		return Department{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	before, err := d.GetDepartment(id)
	if err != nil {
		return Department{}, err
	}
	after := before
	if p.Name != nil {
		if after.Name, err = cleanName("name", *p.Name, departmentForbidden); err != nil {
			return Department{}, err
		}
	}
	if p.Order != nil {
		after.Order = *p.Order
	}
	moved := false
	if p.ParentID != nil && *p.ParentID != before.ParentID {
		if err := d.checkMove(id, *p.ParentID); err != nil {
			return Department{}, err
		}
		after.ParentID = *p.ParentID
		moved = true
	}
	if id != RootDepartmentID && (moved || after.Name != before.Name) {
		if err := d.checkSiblingName(after.ParentID, after.Name, id); err != nil {
			return Department{}, err
		}
	}
	t := now()
	after.UpdatedAt = t
	action := "department.update"
	if moved {
		action = "department.move"
	}
	err = d.db.Update(func(b *storage.Batch) error {
		if err := b.SetJSON(storage.Key(storage.PrefixDepartment, id), after); err != nil {
			return err
		}
		if moved {
			b.Delete(storage.Key(storage.PrefixDeptChild, before.ParentID, id))
			b.Set(storage.Key(storage.PrefixDeptChild, after.ParentID, id), nil)
		}
		return d.appendAudit(b, a, t, change{action, "department", id, before, after})
	})
	if err != nil {
		return Department{}, fmt.Errorf("update department %s: %w", id, err)
	}
	return after, nil
}

// checkMove validates moving department id under newParent.
func (d *Directory) checkMove(id, newParent string) error {
	if id == RootDepartmentID {
		return invalidf("parent_id", "the root department cannot move")
	}
	if newParent == "" {
		return invalidf("parent_id", "only the root department has no parent")
	}
	if newParent == id {
		return fmt.Errorf("department %s under itself: %w", id, ErrCycle)
	}
	anc, err := d.Ancestors(newParent)
	if err != nil {
		return invalidParent(err, newParent)
	}
	if slices.Contains(anc, id) {
		return fmt.Errorf("department %s under its descendant %s: %w", id, newParent, ErrCycle)
	}
	height, err := d.height(id, 1)
	if err != nil {
		return err
	}
	if len(anc)+height > MaxDepartmentDepth {
		return invalidf("parent_id", "moving department %s (%d levels) under %s (depth %d) exceeds %d levels",
			id, height, newParent, len(anc), MaxDepartmentDepth)
	}
	return nil
}

// DeleteDepartment removes an empty department. ErrNotEmpty if it has
// child departments or members; the root cannot be deleted (ErrInvalid).
func (d *Directory) DeleteDepartment(a Actor, id string) error {
	if err := checkActor(a); err != nil {
		return err
	}
	if id == RootDepartmentID {
		return invalidf("id", "the root department cannot be deleted")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	before, err := d.GetDepartment(id)
	if err != nil {
		return err
	}
	if has, err := d.hasPrefix(storage.KeyPrefix(storage.PrefixDeptChild, id)); err != nil || has {
		if err != nil {
			return fmt.Errorf("check children of department %s: %w", id, err)
		}
		return fmt.Errorf("department %s has child departments: %w", id, ErrNotEmpty)
	}
	if has, err := d.hasPrefix(storage.KeyPrefix(storage.PrefixDeptMember, id)); err != nil || has {
		if err != nil {
			return fmt.Errorf("check members of department %s: %w", id, err)
		}
		return fmt.Errorf("department %s has members: %w", id, ErrNotEmpty)
	}
	err = d.db.Update(func(b *storage.Batch) error {
		b.Delete(storage.Key(storage.PrefixDepartment, id))
		b.Delete(storage.Key(storage.PrefixDeptChild, before.ParentID, id))
		return d.appendAudit(b, a, now(), change{"department.delete", "department", id, before, nil})
	})
	if err != nil {
		return fmt.Errorf("delete department %s: %w", id, err)
	}
	return nil
}

// Ancestors returns the ids from the root down to id, inclusive.
func (d *Directory) Ancestors(id string) ([]string, error) {
	var path []string
	cur := id
	for {
		if len(path) >= MaxDepartmentDepth {
			return nil, fmt.Errorf("ancestors of department %s: deeper than %d levels; the tree is corrupt", id, MaxDepartmentDepth)
		}
		dept, err := d.GetDepartment(cur)
		if err != nil {
			if cur != id {
				return nil, fmt.Errorf("ancestors of department %s: %w", id, err)
			}
			return nil, err
		}
		path = append(path, cur)
		if dept.ParentID == "" {
			break
		}
		cur = dept.ParentID
	}
	slices.Reverse(path)
	return path, nil
}

// InSubtree reports whether department id is rootID or below it. An
// unknown id is ErrNotFound; an unknown rootID (say a deleted department
// still named in a dept admin's scope) simply contains nothing.
func (d *Directory) InSubtree(id, rootID string) (bool, error) {
	anc, err := d.Ancestors(id)
	if err != nil {
		return false, err
	}
	return slices.Contains(anc, rootID), nil
}

// depth is the level of department id, the root being level 1.
func (d *Directory) depth(id string) (int, error) {
	anc, err := d.Ancestors(id)
	return len(anc), err
}

// height is the number of levels in the subtree under id, 1 for a leaf.
// level guards against a corrupted, cyclic child index.
func (d *Directory) height(id string, level int) (int, error) {
	if level > MaxDepartmentDepth {
		return 0, fmt.Errorf("subtree of department %s: deeper than %d levels; the tree is corrupt", id, MaxDepartmentDepth)
	}
	kids, err := d.suffixes(storage.KeyPrefix(storage.PrefixDeptChild, id))
	if err != nil {
		return 0, fmt.Errorf("list children of department %s: %w", id, err)
	}
	h := 1
	for _, k := range kids {
		kh, err := d.height(k, level+1)
		if err != nil {
			return 0, err
		}
		h = max(h, kh+1)
	}
	return h, nil
}

// subtree returns id and every department below it, parents first.
func (d *Directory) subtree(id string) ([]string, error) {
	out := []string{id}
	for i := 0; i < len(out); i++ {
		kids, err := d.suffixes(storage.KeyPrefix(storage.PrefixDeptChild, out[i]))
		if err != nil {
			return nil, fmt.Errorf("list children of department %s: %w", out[i], err)
		}
		out = append(out, kids...)
	}
	return out, nil
}

// checkSiblingName refuses name if another child of parentID (other than
// self) already has it.
func (d *Directory) checkSiblingName(parentID, name, self string) error {
	kids, err := d.suffixes(storage.KeyPrefix(storage.PrefixDeptChild, parentID))
	if err != nil {
		return fmt.Errorf("list children of department %s: %w", parentID, err)
	}
	for _, k := range kids {
		if k == self {
			continue
		}
		sib, err := d.GetDepartment(k)
		if err != nil {
			return fmt.Errorf("child of department %s: %w", parentID, err)
		}
		if sib.Name == name {
			return fmt.Errorf("department %s already has a child named %q (%s): %w", parentID, name, k, ErrConflict)
		}
	}
	return nil
}

// invalidParent turns a missing parent into ErrInvalid: it is a bad field
// of the request, not a missing target.
func invalidParent(err error, parentID string) error {
	if isNotFound(err) {
		return invalidf("parent_id", "department %s does not exist", parentID)
	}
	return err
}

// sortDepartments orders siblings by (Order, Name, ID).
func sortDepartments(ds []Department) {
	slices.SortFunc(ds, func(a, b Department) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
}
