package api

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"parley/chat/directory"
	"parley/signaling/auth"
)

// CodeRestrictedToken is the error code (403) of a guest or viewer token
// sent to a route that needs a member's token: every /api/v1 route but the
// public ones.
const CodeRestrictedToken = "restricted_token"

// Principal is the authenticated caller of a request. Anonymous requests
// have a nil *Principal.
type Principal struct {
	Member directory.Member
	IP     string
}

// Actor is the principal as the audit log records it.
func (p *Principal) Actor() directory.Actor {
	return directory.Actor{ID: p.Member.ID, IP: p.IP}
}

// Access is the coarse level a route demands.
type Access int

// Access levels, from least to most demanding.
const (
	// Public routes need no token (sign-in, health of the spec).
	Public Access = iota
	// Signed routes need any active member.
	Signed
	// Admin routes need a super admin, or a department admin whose subtrees
	// cover every department the route's Scope names.
	Admin
	// SuperAdmin routes need a super admin.
	SuperAdmin
)

func (a Access) String() string {
	return [...]string{"public", "signed", "admin", "super_admin"}[a]
}

// Target is what an Admin request acts on, as authorization sees it.
type Target struct {
	// Departments the request touches: where the target is, and where it
	// would go.
	Departments []string
	// Administrator is set when the target member is an administrator.
	// Department admins manage ordinary members only; otherwise one could
	// reset a super admin's password and sign in as them.
	Administrator bool
}

// ScopeFunc names the target of a request, so a department admin can be
// checked against it. It may read path values and the already read body.
type ScopeFunc func(r *http.Request, body []byte) (Target, error)

// Policy is a route's authorization rule.
type Policy struct {
	Access Access
	// Scope is required for Admin routes whose target lies in the tree.
	// Admin routes without one (the CSV import) check each item themselves
	// through authorizeDepartments, which is still this file.
	Scope ScopeFunc
}

// authenticate turns the bearer token into a Principal. A missing token
// yields (nil, nil); a bad one an error.
func (a *API) authenticate(r *http.Request) (*Principal, error) {
	token, ok := bearerToken(r)
	if !ok {
		return nil, nil
	}
	claims, err := a.auth.VerifyAccess(token)
	if errors.Is(err, auth.ErrRestrictedToken) {
		return nil, errorf(http.StatusForbidden, CodeRestrictedToken, "this is a guest or viewer token: it admits only to its own meeting or live, not to this API")
	}
	if err != nil {
		return nil, err
	}
	m, err := a.dir.GetMember(claims.MemberID)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, errorf(http.StatusUnauthorized, CodeUnauthenticated, "the token's member no longer exists")
	}
	if err != nil {
		return nil, fmt.Errorf("load member %s: %w", claims.MemberID, err)
	}
	if m.Status != directory.StatusActive {
		return nil, errorf(http.StatusUnauthorized, CodeMemberDisabled, "this account is disabled")
	}
	return &Principal{Member: m, IP: clientIP(r)}, nil
}

// authorize is the one decision every route goes through. body is the
// request body, already read and size-checked.
func (a *API) authorize(p *Principal, pol Policy, r *http.Request, body []byte) error {
	if pol.Access == Public {
		return nil
	}
	if err := requireSignIn(p, pol); err != nil {
		return err
	}
	switch pol.Access {
	case Signed:
		return nil
	case SuperAdmin:
		if p.Member.Role == directory.RoleSuperAdmin {
			return nil
		}
		return errorf(http.StatusForbidden, CodeForbidden, "only a super admin may do this")
	case Admin:
		if p.Member.Role != directory.RoleSuperAdmin && p.Member.Role != directory.RoleDeptAdmin {
			return errorf(http.StatusForbidden, CodeForbidden, "only an administrator may do this")
		}
		if pol.Scope == nil {
			return nil // the handler checks each item with authorizeTarget
		}
		// Resolved for super admins too, so an unknown target is a 404 for
		// everyone rather than a write about nothing.
		target, err := pol.Scope(r, body)
		if err != nil {
			return err
		}
		return a.authorizeTarget(p, target)
	}
	return errorf(http.StatusForbidden, CodeForbidden, "access denied")
}

// requireSignIn refuses anonymous callers of every route but public ones.
// It needs no body, so the router asks it before reading one.
func requireSignIn(p *Principal, pol Policy) error {
	if p == nil && pol.Access != Public {
		return errorf(http.StatusUnauthorized, CodeUnauthenticated, "sign in first: send Authorization: Bearer <access_token>")
	}
	return nil
}

// authorizeTarget allows super admins everything. Department admins may act
// only on ordinary members and only inside one of their subtrees. An empty
// department list is refused for department admins: there is nothing to
// prove they may touch.
func (a *API) authorizeTarget(p *Principal, t Target) error {
	if p.Member.Role == directory.RoleSuperAdmin {
		return nil
	}
	if t.Administrator {
		return errorf(http.StatusForbidden, CodeForbidden, "only a super admin may manage an administrator")
	}
	depts := t.Departments
	if p.Member.Role != directory.RoleDeptAdmin || len(depts) == 0 {
		return errorf(http.StatusForbidden, CodeForbidden, "only an administrator of these departments may do this")
	}
	for _, d := range depts {
		ok, err := a.inAdminScope(p, d)
		if err != nil {
			return err
		}
		if !ok {
			return errorf(http.StatusForbidden, CodeForbidden, fmt.Sprintf("department %s is outside the departments you administer", d))
		}
	}
	return nil
}

func (a *API) inAdminScope(p *Principal, dept string) (bool, error) {
	for _, root := range p.Member.AdminDepartments {
		ok, err := a.dir.InSubtree(dept, root)
		if errors.Is(err, directory.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("check department %s under %s: %w", dept, root, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// clientIP is the TCP peer's address. Parley does not trust forwarding
// headers, so a client cannot pick its own rate-limit bucket.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
