package quickreply

import (
	"errors"
	"time"
)

// Scope says which library a category or item belongs to.
type Scope string

// Scopes.
const (
	// Personal: one member's own library, visible only to them.
	Personal Scope = "personal"
	// Enterprise: the company's library, visible to everyone and managed
	// by super admins.
	Enterprise Scope = "enterprise"
)

// Errors. Each is wrapped with what failed.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
	// ErrNotEmpty: a category that still holds items cannot be deleted.
	ErrNotEmpty = errors.New("category not empty")
	// ErrLimit: the change would pass one of the Limits.
	ErrLimit = errors.New("limit reached")
)

// Category groups items of one library.
type Category struct {
	ID        string    `json:"id"`
	Scope     Scope     `json:"scope"`
	Name      string    `json:"name"`
	Order     int       `json:"order"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Item is one quick reply.
type Item struct {
	ID         string    `json:"id"`
	Scope      Scope     `json:"scope"`
	CategoryID string    `json:"category_id"`
	Title      string    `json:"title"`
	Content    string    `json:"content"`
	Order      int       `json:"order"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Group is a category with its items, as a library lists them.
type Group struct {
	Category
	Items []Item `json:"items"`
}

// Library is what one member sees: their personal library and the
// enterprise one, each as categories in order with their items in order.
type Library struct {
	Personal   []Group `json:"personal"`
	Enterprise []Group `json:"enterprise"`
}

// Actor is who makes a change. A personal change acts on the actor's own
// library; an enterprise change is audited under the actor's id and IP.
type Actor struct {
	ID string
	IP string
}

// NewCategory is a category to create.
type NewCategory struct {
	Name  string `json:"name"`
	Order int    `json:"order"`
}

// CategoryPatch changes a category; nil fields stay.
type CategoryPatch struct {
	Name  *string `json:"name"`
	Order *int    `json:"order"`
}

// NewItem is an item to create.
type NewItem struct {
	CategoryID string `json:"category_id"`
	Title      string `json:"title"`
	Content    string `json:"content"`
	Order      int    `json:"order"`
}

// ItemPatch changes an item; nil fields stay. A new CategoryID moves the
// item to another category of the same library.
type ItemPatch struct {
	CategoryID *string `json:"category_id"`
	Title      *string `json:"title"`
	Content    *string `json:"content"`
	Order      *int    `json:"order"`
}
