package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"

	"parley/chat/bus"
	"parley/chat/directory"
	"parley/signaling/auth"
)

// Departments.

func (a *API) listDepartments(w http.ResponseWriter, r *http.Request, _ *Principal, _ []byte) error {
	depts, err := a.dir.ListDepartments()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"departments": depts})
	return nil
}

func (a *API) getDepartment(w http.ResponseWriter, r *http.Request, _ *Principal, _ []byte) error {
	d, err := a.dir.GetDepartment(r.PathValue("id"))
	if err != nil {
		return err
	}
	children, err := a.dir.Children(d.ID)
	if err != nil {
		return err
	}
	path, err := a.dir.Ancestors(d.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"department": d, "children": children, "path": path})
	return nil
}

type createDepartmentRequest struct {
	Name     string `json:"name"`
	ParentID string `json:"parent_id"`
	Order    int    `json:"order"`
}

func (a *API) createDepartment(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req createDepartmentRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	d, err := a.dir.CreateDepartment(p.Actor(), req.Name, req.ParentID, req.Order)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

func (a *API) updateDepartment(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req directory.DepartmentPatch
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	d, err := a.dir.UpdateDepartment(p.Actor(), r.PathValue("id"), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) deleteDepartment(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	if err := a.dir.DeleteDepartment(p.Actor(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Members.

// memberView is a member as the API shows it: the record plus its tags.
type memberView struct {
	directory.Member
	Tags []string `json:"tags"`
}

func (a *API) writeMember(w http.ResponseWriter, status int, m directory.Member) error {
	tags, err := a.dir.MemberTags(m.ID)
	if err != nil {
		return err
	}
	if tags == nil {
		tags = []string{}
	}
	writeJSON(w, status, memberView{Member: m, Tags: tags})
	return nil
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request, _ *Principal, _ []byte) error {
	q := r.URL.Query()
	f := directory.MemberFilter{
		Department: q.Get("department"),
		Recursive:  q.Get("recursive") == "true",
		Tag:        q.Get("tag"),
		Status:     directory.Status(q.Get("status")),
		Query:      q.Get("q"),
		After:      q.Get("after"),
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return errorf(http.StatusBadRequest, CodeInvalidArgument, "limit must be a positive whole number")
		}
		f.Limit = n
	}
	members, next, err := a.dir.ListMembers(f)
	if err != nil {
		return err
	}
	if members == nil {
		members = []directory.Member{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": members, "next": next})
	return nil
}

func (a *API) getMember(w http.ResponseWriter, r *http.Request, _ *Principal, _ []byte) error {
	m, err := a.dir.GetMember(r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.writeMember(w, http.StatusOK, m)
}

type createMemberRequest struct {
	ID              string                    `json:"id"`
	Name            string                    `json:"name"`
	Mobile          string                    `json:"mobile"`
	Email           string                    `json:"email"`
	Departments     []string                  `json:"departments"`
	Position        string                    `json:"position"`
	Gender          string                    `json:"gender"`
	AvatarURL       string                    `json:"avatar_url"`
	ExternalProfile directory.ExternalProfile `json:"external_profile"`
	Password        string                    `json:"password"`
}

func (a *API) createMember(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req createMemberRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if req.Password != "" {
		if err := auth.ValidatePassword(req.Password); err != nil {
			return err
		}
	}
	m, err := a.dir.CreateMember(p.Actor(), directory.Member{
		ID: req.ID, Name: req.Name, Mobile: req.Mobile, Email: req.Email,
		Departments: req.Departments, Position: req.Position, Gender: req.Gender,
		AvatarURL: req.AvatarURL, ExternalProfile: req.ExternalProfile,
	})
	if err != nil {
		return err
	}
	if req.Password != "" {
		if err := a.auth.SetPassword(m.ID, req.Password); err != nil {
			return fmt.Errorf("set password of new member %s: %w", m.ID, err)
		}
	}
	return a.writeMember(w, http.StatusCreated, m)
}

func (a *API) updateMember(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req directory.MemberPatch
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	m, err := a.dir.UpdateMember(p.Actor(), r.PathValue("id"), req)
	if err != nil {
		return err
	}
	return a.writeMember(w, http.StatusOK, m)
}

func (a *API) disableMember(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	id := r.PathValue("id")
	if id == p.Member.ID {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, "you cannot disable your own account")
	}
	m, err := a.dir.SetStatus(p.Actor(), id, directory.StatusDisabled)
	if err != nil {
		return err
	}
	if err := a.memberDisabled(r.Context(), id); err != nil {
		return err
	}
	return a.writeMember(w, http.StatusOK, m)
}

func (a *API) enableMember(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	m, err := a.dir.SetStatus(p.Actor(), r.PathValue("id"), directory.StatusActive)
	if err != nil {
		return err
	}
	return a.writeMember(w, http.StatusOK, m)
}

type resetPasswordRequest struct {
	Password string `json:"password"`
}

func (a *API) resetPassword(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req resetPasswordRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := a.auth.SetPassword(id, req.Password); err != nil {
		return err
	}
	if err := a.revokeSessions(id, bus.MemberRevoked); err != nil {
		return err
	}
	if _, err := a.audit.Record(auditEntry(p.Actor(), "member.password_reset", "member", id)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type setRoleRequest struct {
	Role             directory.Role `json:"role"`
	AdminDepartments []string       `json:"admin_departments"`
}

func (a *API) setRole(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req setRoleRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	switch req.Role {
	case directory.RoleSuperAdmin, directory.RoleDeptAdmin, directory.RoleMember:
	default:
		return errorf(http.StatusBadRequest, CodeInvalidArgument, "role must be super_admin, dept_admin or member")
	}
	m, err := a.dir.SetRole(p.Actor(), id, req.Role, req.AdminDepartments)
	if err != nil {
		return err
	}
	return a.writeMember(w, http.StatusOK, m)
}

func (a *API) importMembers(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	report, err := a.dir.ImportCSV(p.Actor(), bytes.NewReader(body), func(existing *directory.Member, depts []string) error {
		t := Target{Departments: depts}
		if existing != nil {
			t.Administrator = memberTarget(*existing).Administrator
		}
		return a.authorizeTarget(p, t)
	})
	if err != nil {
		return err
	}
	// A password set or an account disabled by the import ends the
	// member's sessions, as the single-member routes do.
	for id, pw := range report.Passwords {
		if err := a.auth.SetPassword(id, pw); err != nil {
			report.Errors = append(report.Errors, directory.RowError{Reason: fmt.Sprintf("member %s imported, but password not set: %v", id, err)})
			continue
		}
		if err := a.revokeSessions(id, bus.MemberRevoked); err != nil {
			return err
		}
	}
	for _, id := range report.Disabled {
		if err := a.memberDisabled(r.Context(), id); err != nil {
			return err
		}
	}
	if report.Errors == nil {
		report.Errors = []directory.RowError{}
	}
	writeJSON(w, http.StatusOK, report)
	return nil
}

// memberDisabled cuts a just-disabled member off: tokens revoked, sockets
// closed on every node, and out of every group with a system message.
func (a *API) memberDisabled(ctx context.Context, id string) error {
	if err := a.revokeSessions(id, bus.MemberDisabled); err != nil {
		return err
	}
	if err := a.chat.RemoveFromAllGroups(ctx, id); err != nil {
		return fmt.Errorf("remove disabled member %s from groups: %w", id, err)
	}
	return nil
}
