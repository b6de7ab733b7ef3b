package api

import (
	"bytes"
	"fmt"
	"net/http"

	"parley/chat/directory"
	"parley/chat/quickreply"
)

// routeTable is every /api/v1 route. Adding a route here is the only way to
// serve one, and every row carries its policy.
func (a *API) routeTable() []Route {
	p := Prefix
	return []Route{
		// Sign-in and tokens.
		{Method: "POST", Path: p + "/auth/login", Policy: Policy{Access: Public}, Summary: "sign in with username and password", handle: a.login},
		{Method: "POST", Path: p + "/auth/refresh", Policy: Policy{Access: Public}, Summary: "trade a refresh token for a new token pair", handle: a.refresh},
		{Method: "POST", Path: p + "/auth/logout", Policy: Policy{Access: Public}, Summary: "revoke a refresh token", handle: a.logout},
		{Method: "POST", Path: p + "/auth/token", Policy: Policy{Access: Public}, Summary: "mint a member's access token with an API key", handle: a.mintToken},
		{Method: "GET", Path: p + "/openapi.yaml", Policy: Policy{Access: Public}, Summary: "this API's OpenAPI 3 document", handle: a.openAPI},

		// The signed-in member.
		{Method: "GET", Path: p + "/me", Policy: Policy{Access: Signed}, Summary: "the signed-in member", handle: a.me},
		{Method: "PATCH", Path: p + "/me", Policy: Policy{Access: Signed}, Summary: "edit one's own avatar and external profile", handle: a.updateMe},
		{Method: "PUT", Path: p + "/me/password", Policy: Policy{Access: Signed}, Summary: "change one's own password", handle: a.changeMyPassword},

		// Departments.
		{Method: "GET", Path: p + "/departments", Policy: Policy{Access: Signed}, Summary: "the department tree", handle: a.listDepartments},
		{Method: "POST", Path: p + "/departments", Policy: Policy{Access: Admin, Scope: a.scopeBodyParent}, Summary: "create a department", handle: a.createDepartment},
		{Method: "GET", Path: p + "/departments/{id}", Policy: Policy{Access: Signed}, Summary: "one department", handle: a.getDepartment},
		{Method: "PATCH", Path: p + "/departments/{id}", Policy: Policy{Access: Admin, Scope: a.scopeDepartmentUpdate}, Summary: "rename, reorder or move a department", handle: a.updateDepartment},
		{Method: "DELETE", Path: p + "/departments/{id}", Policy: Policy{Access: Admin, Scope: scopePathDepartment}, Summary: "delete an empty department", handle: a.deleteDepartment},

		// Members.
		{Method: "GET", Path: p + "/members", Policy: Policy{Access: Signed}, Summary: "list and search members", handle: a.listMembers},
		{Method: "POST", Path: p + "/members", Policy: Policy{Access: Admin, Scope: a.scopeBodyDepartments}, Summary: "create a member", handle: a.createMember},
		{Method: "POST", Path: p + "/members/import", Policy: Policy{Access: Admin}, Summary: "import members from CSV", BodyLimit: a.limits.MaxImportBytes, handle: a.importMembers},
		{Method: "GET", Path: p + "/members/{id}", Policy: Policy{Access: Signed}, Summary: "one member's card", handle: a.getMember},
		{Method: "PATCH", Path: p + "/members/{id}", Policy: Policy{Access: Admin, Scope: a.scopeMemberUpdate}, Summary: "edit a member", handle: a.updateMember},
		{Method: "POST", Path: p + "/members/{id}/disable", Policy: Policy{Access: Admin, Scope: a.scopePathMember}, Summary: "disable a member and cut off their sessions", handle: a.disableMember},
		{Method: "POST", Path: p + "/members/{id}/enable", Policy: Policy{Access: Admin, Scope: a.scopePathMember}, Summary: "enable a member", handle: a.enableMember},
		{Method: "PUT", Path: p + "/members/{id}/password", Policy: Policy{Access: Admin, Scope: a.scopePathMember}, Summary: "reset a member's password", handle: a.resetPassword},
		{Method: "PUT", Path: p + "/members/{id}/role", Policy: Policy{Access: SuperAdmin}, Summary: "set a member's role", handle: a.setRole},

		// Tags.
		{Method: "GET", Path: p + "/tags", Policy: Policy{Access: Signed}, Summary: "all tags", handle: a.listTags},
		{Method: "POST", Path: p + "/tags", Policy: Policy{Access: SuperAdmin}, Summary: "create a tag", handle: a.createTag},
		{Method: "PATCH", Path: p + "/tags/{id}", Policy: Policy{Access: SuperAdmin}, Summary: "rename a tag", handle: a.renameTag},
		{Method: "DELETE", Path: p + "/tags/{id}", Policy: Policy{Access: SuperAdmin}, Summary: "delete a tag", handle: a.deleteTag},
		{Method: "GET", Path: p + "/tags/{id}/members", Policy: Policy{Access: Signed}, Summary: "a tag's members", handle: a.tagMembers},
		{Method: "POST", Path: p + "/tags/{id}/members", Policy: Policy{Access: Admin, Scope: a.scopeTagMembers}, Summary: "add and remove a tag's members", handle: a.updateTagMembers},

		// Chat conversations. Any member may call these; what they may do
		// inside a conversation (member, admin, owner) the chat service
		// decides, and a conversation they are not in answers 404.
		{Method: "GET", Path: p + "/conversations", Policy: Policy{Access: Signed}, Summary: "the caller's conversations", handle: a.listConversations},
		{Method: "POST", Path: p + "/conversations", Policy: Policy{Access: Signed}, Summary: "create a group owned by the caller", handle: a.createGroup},
		{Method: "POST", Path: p + "/conversations/direct", Policy: Policy{Access: Signed}, Summary: "open the caller's direct conversation with a member", handle: a.createDirect},
		{Method: "GET", Path: p + "/conversations/{id}", Policy: Policy{Access: Signed}, Summary: "one conversation as the caller sees it", handle: a.getConversation},
		{Method: "PATCH", Path: p + "/conversations/{id}", Policy: Policy{Access: Signed}, Summary: "change a group's settings", handle: a.updateConversation},
		{Method: "GET", Path: p + "/conversations/{id}/members", Policy: Policy{Access: Signed}, Summary: "a conversation's members, roles and mutes", handle: a.listConversationMembers},
		{Method: "POST", Path: p + "/conversations/{id}/members", Policy: Policy{Access: Signed}, Summary: "add members to a group", handle: a.addConversationMembers},
		{Method: "DELETE", Path: p + "/conversations/{id}/members/{member}", Policy: Policy{Access: Signed}, Summary: "leave a group, or remove a member from it", handle: a.removeConversationMember},
		{Method: "PUT", Path: p + "/conversations/{id}/members/{member}/role", Policy: Policy{Access: Signed}, Summary: "make a group member an admin or a plain member", handle: a.setConversationRole},
		{Method: "PUT", Path: p + "/conversations/{id}/members/{member}/mute", Policy: Policy{Access: Signed}, Summary: "mute or unmute a group member", handle: a.setConversationMute},
		{Method: "POST", Path: p + "/conversations/{id}/owner", Policy: Policy{Access: Signed}, Summary: "hand a group to another member", handle: a.transferConversationOwner},
		{Method: "POST", Path: p + "/conversations/{id}/dissolve", Policy: Policy{Access: Signed}, Summary: "dissolve a group", handle: a.dissolveConversation},
		{Method: "GET", Path: p + "/conversations/{id}/messages", Policy: Policy{Access: Signed}, Summary: "a page of a conversation's messages", handle: a.listMessages},
		{Method: "POST", Path: p + "/conversations/{id}/messages", Policy: Policy{Access: Signed}, Summary: "send a message", handle: a.sendMessage},
		{Method: "GET", Path: p + "/conversations/{id}/messages/{seq}/receipts", Policy: Policy{Access: Signed}, Summary: "who has read one of the caller's messages", handle: a.messageReceipts},
		{Method: "PUT", Path: p + "/conversations/{id}/read", Policy: Policy{Access: Signed}, Summary: "move the caller's read cursor", handle: a.markRead},
		{Method: "GET", Path: p + "/chat/limits", Policy: Policy{Access: Signed}, Summary: "the chat limits a client enforces before sending", handle: a.chatLimits},

		// Actions on sent messages; the chat service decides who may.
		{Method: "POST", Path: p + "/conversations/{id}/messages/{seq}/recall", Policy: Policy{Access: Signed}, Summary: "recall a message", handle: a.recallMessage},
		{Method: "POST", Path: p + "/conversations/{id}/forward", Policy: Policy{Access: Signed}, Summary: "forward messages of another conversation into this one", handle: a.forwardMessages},

		// Files. An upload streams to disk (never through the JSON body
		// limit); who may upload or download is the conversation's
		// membership, checked by the handlers.
		{Method: "POST", Path: p + "/conversations/{id}/files", Policy: Policy{Access: Signed}, Summary: "upload a file to send in a conversation", BodyLimit: a.maxFileBytes(), Stream: true, handle: a.uploadFile},
		{Method: "GET", Path: p + "/files/{id}", Policy: Policy{Access: Signed}, Summary: "download a file of one of the caller's conversations", handle: a.downloadFile},

		// Quick replies. The personal routes act on the caller's own
		// library; changing the enterprise one is for super admins.
		{Method: "GET", Path: p + "/quick-replies", Policy: Policy{Access: Signed}, Summary: "the caller's personal quick replies and the enterprise ones, by category", handle: a.quickReplies},
		{Method: "POST", Path: p + "/quick-replies/personal/categories", Policy: Policy{Access: Signed}, Summary: "create a personal quick-reply category", handle: a.createQuickReplyCategory(quickreply.Personal)},
		{Method: "PATCH", Path: p + "/quick-replies/personal/categories/{id}", Policy: Policy{Access: Signed}, Summary: "rename or reorder a personal quick-reply category", handle: a.updateQuickReplyCategory(quickreply.Personal)},
		{Method: "DELETE", Path: p + "/quick-replies/personal/categories/{id}", Policy: Policy{Access: Signed}, Summary: "delete an empty personal quick-reply category", handle: a.deleteQuickReplyCategory(quickreply.Personal)},
		{Method: "POST", Path: p + "/quick-replies/personal/items", Policy: Policy{Access: Signed}, Summary: "create a personal quick reply", handle: a.createQuickReply(quickreply.Personal)},
		{Method: "PATCH", Path: p + "/quick-replies/personal/items/{id}", Policy: Policy{Access: Signed}, Summary: "edit or move a personal quick reply", handle: a.updateQuickReply(quickreply.Personal)},
		{Method: "DELETE", Path: p + "/quick-replies/personal/items/{id}", Policy: Policy{Access: Signed}, Summary: "delete a personal quick reply", handle: a.deleteQuickReply(quickreply.Personal)},
		{Method: "POST", Path: p + "/quick-replies/enterprise/categories", Policy: Policy{Access: SuperAdmin}, Summary: "create an enterprise quick-reply category", handle: a.createQuickReplyCategory(quickreply.Enterprise)},
		{Method: "PATCH", Path: p + "/quick-replies/enterprise/categories/{id}", Policy: Policy{Access: SuperAdmin}, Summary: "rename or reorder an enterprise quick-reply category", handle: a.updateQuickReplyCategory(quickreply.Enterprise)},
		{Method: "DELETE", Path: p + "/quick-replies/enterprise/categories/{id}", Policy: Policy{Access: SuperAdmin}, Summary: "delete an empty enterprise quick-reply category", handle: a.deleteQuickReplyCategory(quickreply.Enterprise)},
		{Method: "POST", Path: p + "/quick-replies/enterprise/items", Policy: Policy{Access: SuperAdmin}, Summary: "create an enterprise quick reply", handle: a.createQuickReply(quickreply.Enterprise)},
		{Method: "PATCH", Path: p + "/quick-replies/enterprise/items/{id}", Policy: Policy{Access: SuperAdmin}, Summary: "edit or move an enterprise quick reply", handle: a.updateQuickReply(quickreply.Enterprise)},
		{Method: "DELETE", Path: p + "/quick-replies/enterprise/items/{id}", Policy: Policy{Access: SuperAdmin}, Summary: "delete an enterprise quick reply", handle: a.deleteQuickReply(quickreply.Enterprise)},

		// Presence: who is online, as this node knows it.
		{Method: "GET", Path: p + "/presence", Policy: Policy{Access: Signed}, Summary: "whether members are online, and when they were last seen", handle: a.presenceStates},

		// Meetings. Signed routes; the meeting decides who may do what
		// (meetings.go): host, co-hosts, invitees, administrators. The
		// guest token is public: the link token in its body is the proof.
		{Method: "POST", Path: p + "/meetings", Policy: Policy{Access: Signed}, Summary: "schedule or open a meeting hosted by the caller", handle: a.createMeeting},
		{Method: "GET", Path: p + "/meetings", Policy: Policy{Access: Signed}, Summary: "meetings the caller hosts, co-hosts or is invited to", handle: a.listMeetings},
		{Method: "GET", Path: p + "/meetings/{id}", Policy: Policy{Access: Signed}, Summary: "one meeting", handle: a.getMeeting},
		{Method: "PATCH", Path: p + "/meetings/{id}", Policy: Policy{Access: Signed}, Summary: "change a meeting's title, schedule, settings or invitees", handle: a.updateMeeting},
		{Method: "DELETE", Path: p + "/meetings/{id}", Policy: Policy{Access: Signed}, Summary: "cancel a meeting that has not started", handle: a.cancelMeeting},
		{Method: "POST", Path: p + "/meetings/{id}/link", Policy: Policy{Access: Signed}, Summary: "give a meeting a new join link", handle: a.rotateMeetingLink},
		{Method: "PUT", Path: p + "/meetings/{id}/cohosts", Policy: Policy{Access: Signed}, Summary: "set a meeting's co-hosts", handle: a.setMeetingCoHosts},
		{Method: "POST", Path: p + "/meetings/{id}/host", Policy: Policy{Access: Signed}, Summary: "hand a meeting to another member", handle: a.transferMeetingHost},
		{Method: "GET", Path: p + "/meetings/{id}/attendance", Policy: Policy{Access: Signed}, Summary: "a meeting's join and leave records", handle: a.meetingAttendance},
		{Method: "GET", Path: p + "/meetings/{id}/stats", Policy: Policy{Access: Signed}, Summary: "a meeting's attendance statistics", handle: a.meetingStats},
		{Method: "POST", Path: p + "/meetings/{id}/bans", Policy: Policy{Access: Signed}, Summary: "ban a member or guest from a meeting", handle: a.banFromMeeting},
		{Method: "GET", Path: p + "/meetings/{id}/recordings", Policy: Policy{Access: Signed}, Summary: "a meeting's recordings, with their manifests", handle: a.listMeetingRecordings},
		{Method: "GET", Path: p + "/meetings/{id}/recordings/{recording}/files/{name}", Policy: Policy{Access: Signed}, Summary: "download one file of a meeting recording (Range requests)", handle: a.downloadMeetingRecording},
		{Method: "POST", Path: p + "/meetings/{id}/guest-token", Policy: Policy{Access: Public}, Summary: "trade a meeting's link token for a guest token", handle: a.meetingGuestToken},

		// Lives. Signed routes; the live decides (lives.go): its host
		// manages it, members in an internal live's scope may read it.
		// The viewer token, for external lives, is public.
		{Method: "POST", Path: p + "/lives", Policy: Policy{Access: Signed}, Summary: "create a live hosted by the caller, with its stream key", handle: a.createLive},
		{Method: "GET", Path: p + "/lives", Policy: Policy{Access: Signed}, Summary: "lives the caller hosts or presents, and internal lives in their scope", handle: a.listLives},
		{Method: "GET", Path: p + "/lives/{id}", Policy: Policy{Access: Signed}, Summary: "one live", handle: a.getLive},
		{Method: "PATCH", Path: p + "/lives/{id}", Policy: Policy{Access: Signed}, Summary: "change a live", handle: a.updateLive},
		{Method: "DELETE", Path: p + "/lives/{id}", Policy: Policy{Access: Signed}, Summary: "delete a live that is not on air", handle: a.deleteLive},
		{Method: "POST", Path: p + "/lives/{id}/stream-key", Policy: Policy{Access: Signed}, Summary: "replace a live's stream key", handle: a.rotateStreamKey},
		{Method: "GET", Path: p + "/lives/{id}/stats", Policy: Policy{Access: Signed}, Summary: "a live's viewer statistics", handle: a.liveStats},
		{Method: "POST", Path: p + "/lives/{id}/viewer-token", Policy: Policy{Access: Public}, Summary: "trade an external live's link token for a viewer token", handle: a.liveViewerToken},

		// Administration.
		{Method: "GET", Path: p + "/audit", Policy: Policy{Access: SuperAdmin}, Summary: "query the audit log", handle: a.queryAudit},
		{Method: "GET", Path: p + "/apikeys", Policy: Policy{Access: SuperAdmin}, Summary: "list API keys", handle: a.listAPIKeys},
		{Method: "POST", Path: p + "/apikeys", Policy: Policy{Access: SuperAdmin}, Summary: "create an API key", handle: a.createAPIKey},
		{Method: "DELETE", Path: p + "/apikeys/{id}", Policy: Policy{Access: SuperAdmin}, Summary: "delete an API key", handle: a.deleteAPIKey},
	}
}

// Scope functions: what an Admin request acts on.

func scopePathDepartment(r *http.Request, _ []byte) (Target, error) {
	return Target{Departments: []string{r.PathValue("id")}}, nil
}

func (a *API) scopeBodyParent(r *http.Request, body []byte) (Target, error) {
	var b struct {
		ParentID string `json:"parent_id"`
	}
	if err := peekJSON(r, body, &b); err != nil {
		return Target{}, err
	}
	return Target{Departments: []string{b.ParentID}}, nil
}

func (a *API) scopeDepartmentUpdate(r *http.Request, body []byte) (Target, error) {
	var b struct {
		ParentID *string `json:"parent_id"`
	}
	if err := peekJSON(r, body, &b); err != nil {
		return Target{}, err
	}
	t := Target{Departments: []string{r.PathValue("id")}}
	if b.ParentID != nil {
		t.Departments = append(t.Departments, *b.ParentID)
	}
	return t, nil
}

func bodyDepartments(r *http.Request, body []byte) ([]string, error) {
	var b struct {
		Departments []string `json:"departments"`
	}
	err := peekJSON(r, body, &b)
	return b.Departments, err
}

func (a *API) scopeBodyDepartments(r *http.Request, body []byte) (Target, error) {
	depts, err := bodyDepartments(r, body)
	return Target{Departments: depts}, err
}

// memberTarget is a member as authorization sees it.
func memberTarget(m directory.Member) Target {
	return Target{Departments: m.Departments, Administrator: m.Role != directory.RoleMember}
}

func (a *API) scopePathMember(r *http.Request, _ []byte) (Target, error) {
	m, err := a.dir.GetMember(r.PathValue("id"))
	if err != nil {
		return Target{}, err
	}
	return memberTarget(m), nil
}

func (a *API) scopeMemberUpdate(r *http.Request, body []byte) (Target, error) {
	t, err := a.scopePathMember(r, body)
	if err != nil {
		return Target{}, err
	}
	newDepts, err := bodyDepartments(r, body)
	if err != nil {
		return Target{}, err
	}
	t.Departments = append(t.Departments, newDepts...)
	return t, nil
}

func (a *API) scopeTagMembers(r *http.Request, body []byte) (Target, error) {
	var b tagMembersRequest
	if err := peekJSON(r, body, &b); err != nil {
		return Target{}, err
	}
	ids := append(append([]string(nil), b.Add...), b.Remove...)
	switch {
	case len(ids) == 0:
		return Target{}, errorf(http.StatusBadRequest, CodeInvalidArgument, "add or remove at least one member")
	case len(ids) > directory.MaxTagMembersChange:
		return Target{}, errorf(http.StatusBadRequest, CodeInvalidArgument, fmt.Sprintf("at most %d members per request", directory.MaxTagMembersChange))
	}
	var t Target
	for _, id := range ids {
		m, err := a.dir.GetMember(id)
		if err != nil {
			return Target{}, fmt.Errorf("member %s: %w", id, err)
		}
		mt := memberTarget(m)
		t.Departments = append(t.Departments, mt.Departments...)
		t.Administrator = t.Administrator || mt.Administrator
	}
	return t, nil
}

// peekJSON reads the fields a scope needs. Unknown fields are left for the
// handler's strict decode; malformed bodies fail here exactly as there.
// An absent body decodes to nothing, for routes whose body is optional.
func peekJSON(r *http.Request, body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decode(r, body, v, false)
}
