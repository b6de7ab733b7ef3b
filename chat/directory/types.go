package directory

import (
	"errors"
	"time"
)

// Errors returned by Directory methods. Callers match them with errors.Is;
// the wrapped message says which field or record is at fault.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
	ErrConflict = errors.New("conflict")
	ErrNotEmpty = errors.New("department not empty")
	ErrCycle    = errors.New("move would create a cycle")
)

// RootDepartmentID is the id of the company's root department, created by
// Bootstrap. It cannot be moved or deleted.
const RootDepartmentID = "1"

// Role is a member's administrative role.
type Role string

// The roles, from most to least privileged.
const (
	RoleSuperAdmin Role = "super_admin"
	RoleDeptAdmin  Role = "dept_admin" // scoped to the subtrees in Member.AdminDepartments
	RoleMember     Role = "member"
)

// Status says whether a member may sign in.
type Status string

// Member statuses.
const (
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
)

// Department is one node of the organization tree.
type Department struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	ParentID  string    `json:"parent_id"` // empty only for the root
	Order     int       `json:"order"`     // sibling order, ascending; ties break by name
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ExternalProfile is what a member shows to external contacts (customers).
type ExternalProfile struct {
	Nickname string `json:"nickname,omitempty"`
	Title    string `json:"title,omitempty"`
	Bio      string `json:"bio,omitempty"`
}

// Member is a person in the company directory. The member id is also the
// sign-in username.
type Member struct {
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	Mobile           string          `json:"mobile,omitempty"`
	Email            string          `json:"email,omitempty"`
	Departments      []string        `json:"departments"` // at least one
	Position         string          `json:"position,omitempty"`
	Gender           string          `json:"gender,omitempty"` // "", "male", "female"
	AvatarURL        string          `json:"avatar_url,omitempty"`
	ExternalProfile  ExternalProfile `json:"external_profile"`
	Status           Status          `json:"status"`
	Role             Role            `json:"role"`
	AdminDepartments []string        `json:"admin_departments,omitempty"` // subtree roots, for RoleDeptAdmin
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
}

// Tag is a label that groups members across departments.
type Tag struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Actor is who performs an administrative change, for the audit log.
type Actor struct {
	ID string // member id, or "system" / "cli"
	IP string // remote address, empty when not over the network
}

// DepartmentPatch changes a department. Nil fields stay as they are.
type DepartmentPatch struct {
	Name     *string `json:"name"`
	ParentID *string `json:"parent_id"`
	Order    *int    `json:"order"`
}

// MemberPatch changes a member's profile. Nil fields stay as they are.
// Status and role change through SetStatus and SetRole, which have their
// own authorization.
type MemberPatch struct {
	Name            *string          `json:"name"`
	Mobile          *string          `json:"mobile"`
	Email           *string          `json:"email"`
	Departments     *[]string        `json:"departments"`
	Position        *string          `json:"position"`
	Gender          *string          `json:"gender"`
	AvatarURL       *string          `json:"avatar_url"`
	ExternalProfile *ExternalProfile `json:"external_profile"`
}

// MemberFilter selects members for ListMembers.
type MemberFilter struct {
	Department string // only members of this department ...
	Recursive  bool   // ... or of any department below it
	Tag        string // only members with this tag
	Status     Status // only members with this status
	Query      string // case-insensitive substring of id, name, mobile or email
	After      string // page cursor: the last member id of the previous page
	Limit      int    // page size; 0 means 100, capped at 1000
}

// ImportReport is the outcome of a CSV import. Rows are independent: a bad
// row is reported and skipped, the good rows are imported.
type ImportReport struct {
	Created int        `json:"created"`
	Updated int        `json:"updated"`
	Errors  []RowError `json:"errors"`
	// Passwords holds the initial passwords from the optional password
	// column, by member id, for the caller to hand to the auth service. It
	// is never serialized.
	Passwords map[string]string `json:"-"`
	// Disabled lists the members the import disabled, so the caller can
	// end their sessions. It is never serialized.
	Disabled []string `json:"-"`
}

// RowError says why one CSV row was rejected. Line is the 1-based line in
// the file, counting the header as line 1.
type RowError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}
