package quickreply

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"parley/chat/audit"
	"parley/storage"
)

// Default limits, the stock server's.
const (
	// DefaultMaxPersonalItems bounds one member's personal items.
	DefaultMaxPersonalItems = 500
	// DefaultMaxEnterpriseItems bounds the enterprise items.
	DefaultMaxEnterpriseItems = 5000
	// DefaultMaxCategories bounds the categories of one library: each
	// member's personal one, and the enterprise one.
	DefaultMaxCategories = 100
)

// Limits bound the libraries. Zero fields take the defaults.
type Limits struct {
	MaxPersonalItems   int
	MaxEnterpriseItems int
	MaxCategories      int
}

// Store keeps every quick-reply library in Pebble. Mutations read, check
// and then commit, so they are serialized by one mutex; reads go straight
// to the database.
type Store struct {
	db     *storage.DB
	audit  *audit.Log
	limits Limits

	mu sync.Mutex // held by every mutation from its first read to its commit
}

// New returns the store kept in db, auditing enterprise changes to log.
func New(db *storage.DB, log *audit.Log, limits Limits) *Store {
	if limits.MaxPersonalItems <= 0 {
		limits.MaxPersonalItems = DefaultMaxPersonalItems
	}
	if limits.MaxEnterpriseItems <= 0 {
		limits.MaxEnterpriseItems = DefaultMaxEnterpriseItems
	}
	if limits.MaxCategories <= 0 {
		limits.MaxCategories = DefaultMaxCategories
	}
	return &Store{db: db, audit: log, limits: limits}
}

// now is the timestamp of records and audit entries, UTC without a
// monotonic reading so a returned record equals the stored one.
func now() time.Time { return time.Now().UTC() }

// library addresses the keys of one library.
type library struct {
	scope  Scope
	member string // the owner of a personal library
}

// libraryOf is the library a change by a acts on: a's own personal
// library, or the enterprise one.
func libraryOf(a Actor, scope Scope) (library, error) {
	if err := checkScope(scope); err != nil {
		return library{}, err
	}
	if a.ID == "" {
		return library{}, invalidf("actor", "is required")
	}
	if scope == Personal {
		return library{scope: Personal, member: a.ID}, nil
	}
	return library{scope: Enterprise}, nil
}

func (l library) String() string {
	if l.scope == Personal {
		return "personal library of " + l.member
	}
	return "enterprise library"
}

func (l library) catPrefix() []byte {
	if l.scope == Personal {
		return storage.KeyPrefix(storage.PrefixQuickReplyCategory, l.member)
	}
	return []byte(storage.PrefixQuickReplyEntCategory)
}

func (l library) itemPrefix() []byte {
	if l.scope == Personal {
		return storage.KeyPrefix(storage.PrefixQuickReplyItem, l.member)
	}
	return []byte(storage.PrefixQuickReplyEntItem)
}

func (l library) catKey(id string) []byte  { return append(l.catPrefix(), id...) }
func (l library) itemKey(id string) []byte { return append(l.itemPrefix(), id...) }

func (l library) maxItems(lim Limits) int {
	if l.scope == Personal {
		return lim.MaxPersonalItems
	}
	return lim.MaxEnterpriseItems
}

// Library returns what memberID sees: their personal library and the
// enterprise one.
func (s *Store) Library(memberID string) (Library, error) {
	personal, err := s.groups(library{scope: Personal, member: memberID})
	if err != nil {
		return Library{}, err
	}
	enterprise, err := s.groups(library{scope: Enterprise})
	if err != nil {
		return Library{}, err
	}
	return Library{Personal: personal, Enterprise: enterprise}, nil
}

// groups lists a library's categories by order, then name, then id, each
// with its items by order, then id.
func (s *Store) groups(l library) ([]Group, error) {
	cats, err := scanJSON[Category](s.db, l.catPrefix())
	if err != nil {
		return nil, fmt.Errorf("list categories of %s: %w", l, err)
	}
	items, err := scanJSON[Item](s.db, l.itemPrefix())
	if err != nil {
		return nil, fmt.Errorf("list items of %s: %w", l, err)
	}
	slices.SortFunc(cats, func(a, b Category) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Name, b.Name), compareIDs(a.ID, b.ID))
	})
	slices.SortFunc(items, func(a, b Item) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), compareIDs(a.ID, b.ID))
	})
	groups := make([]Group, len(cats))
	index := make(map[string]int, len(cats))
	for i, c := range cats {
		groups[i] = Group{Category: c, Items: []Item{}}
		index[c.ID] = i
	}
	for _, it := range items {
		if i, ok := index[it.CategoryID]; ok {
			groups[i].Items = append(groups[i].Items, it)
		}
	}
	return groups, nil
}

// compareIDs orders decimal ids numerically.
func compareIDs(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b))
}

// scanJSON decodes every value under prefix.
func scanJSON[T any](db *storage.DB, prefix []byte) ([]T, error) {
	var out []T
	var decodeErr error
	err := db.ScanPrefix(prefix, func(k, v []byte) bool {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			decodeErr = fmt.Errorf("decode %q: %w", k, err)
			return false
		}
		out = append(out, x)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	return out, err
}

// count is the number of keys under prefix.
func (s *Store) count(prefix []byte) (int, error) {
	n := 0
	err := s.db.ScanPrefix(prefix, func(_, _ []byte) bool { n++; return true })
	return n, err
}

// nextID issues the next id into b. The counter moves only when b
// commits; callers hold s.mu and issue one id per batch.
func (s *Store) nextID(b *storage.Batch) (string, error) {
	var n uint64
	raw, err := s.db.Get(storage.KeyQuickReplySeq)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return "", fmt.Errorf("load quick-reply id sequence: %w", err)
	case len(raw) != 8:
		return "", fmt.Errorf("load quick-reply id sequence: value has %d bytes, want 8", len(raw))
	default:
		n = storage.Uint64At(raw, 0)
	}
	n++
	b.Set(storage.KeyQuickReplySeq, storage.AppendUint64(nil, n))
	return strconv.FormatUint(n, 10), nil
}

// getJSON loads the record at key into v; what names it in errors.
func (s *Store) getJSON(key []byte, what string, v any) error {
	err := s.db.GetJSON(key, v)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", what, err)
	}
	return nil
}

func (s *Store) getCategory(l library, id string) (Category, error) {
	var c Category
	what := "category " + id + " in the " + l.String()
	if !validID(id) {
		return c, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	err := s.getJSON(l.catKey(id), what, &c)
	return c, err
}

func (s *Store) getItem(l library, id string) (Item, error) {
	var it Item
	what := "quick reply " + id + " in the " + l.String()
	if !validID(id) {
		return it, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	err := s.getJSON(l.itemKey(id), what, &it)
	return it, err
}

// auditChange appends the audit entry of an enterprise change to b.
// Personal libraries are the member's own business and are not audited.
func (s *Store) auditChange(b *storage.Batch, l library, a Actor, t time.Time, action, targetType, id string, before, after any) error {
	if l.scope != Enterprise {
		return nil
	}
	_, err := s.audit.Append(b, audit.Entry{
		Time: t, Actor: a.ID, ActorIP: a.IP, Action: action,
		TargetType: targetType, TargetID: id,
		Before: audit.JSON(before), After: audit.JSON(after),
	})
	return err
}

// Audit target types and actions of enterprise changes.
const (
	TargetCategory = "quickreply_category"
	TargetItem     = "quickreply"
)
