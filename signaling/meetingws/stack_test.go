package meetingws_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"parley/chat/audit"
	"parley/chat/directory"
	"parley/sfu/meeting"
	"parley/sfu/rtc"
	"parley/sfu/transport"
	"parley/signaling/auth"
	"parley/signaling/meetingws"
	"parley/signaling/ws"
	"parley/storage"
)

// stack is one node's meeting signaling on loopback: a real Pebble,
// directory, auth, the member hub and the guest endpoint, meeting store,
// media transport, room manager and the meeting handlers, served over
// HTTP as the server routes them.
type stack struct {
	db        *storage.DB
	audit     *audit.Log
	dir       *directory.Directory
	auth      *auth.Service
	meetings  *meeting.Store
	transport *transport.Transport
	rooms     *rtc.Manager
	hub       *ws.Hub
	guests    *meetingws.GuestEndpoint
	srv       *httptest.Server
	// recordings is the folder of meeting recordings.
	recordings string
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newStack(t *testing.T, mutate func(*rtc.Config)) *stack {
	t.Helper()
	db, err := storage.Open(t.TempDir(), storage.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	st := &stack{db: db, audit: audit.New(db)}
	st.dir = directory.New(db, st.audit)
	if err := st.dir.Bootstrap("Test Co"); err != nil {
		t.Fatal(err)
	}
	members := memberStatus{st.dir}
	st.auth, err = auth.New(db, members, auth.Config{Secret: []byte(strings.Repeat("s", 32))})
	if err != nil {
		t.Fatal(err)
	}
	st.meetings = meeting.New(db, meeting.Options{})
	st.transport, err = transport.New(transport.Config{LoopbackOnly: true}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := rtc.DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	st.recordings = t.TempDir()
	st.rooms, err = rtc.NewManager(cfg, st.meetings, rtc.MediaDeps{Transport: st.transport, RecordingDir: st.recordings}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	wsCfg := ws.Config{ReadLimit: 64 << 10, SendQueue: 256, PingInterval: 20 * time.Second}
	st.hub = ws.NewHub(wsCfg, st.auth, members, quietLogger())
	st.guests, err = meetingws.NewGuestEndpoint(wsCfg, st.auth, st.rooms, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	err = meetingws.Register(meetingws.Deps{
		Rooms: st.rooms, Audit: st.audit, Logger: quietLogger(),
		Identify: meetingws.Identifier{Directory: st.dir, Guests: st.guests}.Identify,
	}, st.hub, st.guests.Hub())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", st.hub)
	mux.Handle("GET "+meetingws.GuestPath, st.guests)
	st.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		st.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.hub.Shutdown(ctx)
		_ = st.guests.Hub().Shutdown(ctx)
		st.rooms.Close()
		st.transport.Close()
		db.Close()
	})
	return st
}

// memberStatus is the server's: a member may hold a session while the
// directory has it active.
type memberStatus struct{ dir *directory.Directory }

func (m memberStatus) MemberActive(id string) (bool, error) {
	mem, err := m.dir.GetMember(id)
	if errors.Is(err, directory.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return mem.Status == directory.StatusActive, nil
}

// member creates a member and returns an access token for it.
func (st *stack) member(t *testing.T, id string) string {
	t.Helper()
	_, err := st.dir.CreateMember(directory.Actor{ID: "system"}, directory.Member{
		ID: id, Name: strings.ToUpper(id[:1]) + id[1:], Departments: []string{directory.RootDepartmentID},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := st.auth.StartSession(id)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// guest returns a guest token for a meeting.
func (st *stack) guest(t *testing.T, meetingID, name string) string {
	t.Helper()
	tok, err := st.auth.IssueGuest(auth.TokenScope{Kind: auth.ScopeKindMeeting, ID: meetingID}, name)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func (st *stack) meeting(t *testing.T, host string, settings meeting.SettingsPatch) meeting.Meeting {
	t.Helper()
	m, err := st.meetings.Create(meeting.NewMeeting{Title: "Weekly", HostID: host, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// auditActions lists the actions of the audit entries about a meeting,
// oldest first.
func (st *stack) auditActions(t *testing.T, meetingID string) []string {
	t.Helper()
	entries, _, err := st.audit.Query(audit.Query{TargetType: "meeting", TargetID: meetingID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Action)
	}
	return out
}

func boolp(b bool) *bool { return &b }

func intp(n int) *int { return &n }
