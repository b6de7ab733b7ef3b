package meeting

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/storage"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

var t0 = time.Date(2030, 5, 6, 9, 0, 0, 0, time.UTC)

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func openDB(t *testing.T, dir string) *storage.DB {
	t.Helper()
	db, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newStore(t *testing.T) (*Store, *clock) {
	t.Helper()
	db := openDB(t, t.TempDir())
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: t0}
	return New(db, Options{Now: clk.Now}), clk
}

func mustCreate(t *testing.T, s *Store, n NewMeeting) Meeting {
	t.Helper()
	if n.Title == "" {
		n.Title = "Standup"
	}
	if n.HostID == "" {
		n.HostID = "alice"
	}
	m, err := s.Create(n)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ptr[T any](v T) *T { return &v }

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func ids(ms []Meeting) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestCreateDefaultsAndGet(t *testing.T) {
	s, _ := newStore(t)
	m := mustCreate(t, s, NewMeeting{Title: "  Weekly sync ", Invitees: []string{"bob", "carol", "bob", "alice"}})
	if m.Title != "Weekly sync" || m.HostID != "alice" || m.Status != StatusScheduled || !m.CreatedAt.Equal(t0) {
		t.Fatalf("created %+v", m)
	}
	if !slices.Equal(m.Invitees, []string{"bob", "carol"}) {
		t.Fatalf("invitees %v: want duplicates and the host dropped", m.Invitees)
	}
	if m.Settings != DefaultSettings() || !m.Settings.AllowScreenShare || m.Settings.MaxParticipants != DefaultMaxParticipants {
		t.Fatalf("settings %+v, want defaults", m.Settings)
	}
	if len(m.LinkToken) != 22 || m.CoHosts == nil || m.Banned == nil {
		t.Fatalf("link token %q, cohosts %v, banned %v", m.LinkToken, m.CoHosts, m.Banned)
	}
	got, err := s.Get(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != m.ID || got.LinkToken != m.LinkToken || !slices.Equal(got.Invitees, m.Invitees) || !got.CreatedAt.Equal(m.CreatedAt) {
		t.Fatalf("get %+v, want %+v", got, m)
	}
	other := mustCreate(t, s, NewMeeting{})
	if other.ID == m.ID || other.LinkToken == m.LinkToken {
		t.Fatal("two meetings share an id or link token")
	}
	for _, id := range []string{"", "nope", "a/b", strings.Repeat("x", MaxIDBytes+1)} {
		_, err := s.Get(id)
		wantErr(t, err, ErrNotFound)
	}
}

func TestCreateSettingsAndSchedule(t *testing.T) {
	s, _ := newStore(t)
	start := t0.Add(time.Hour)
	m := mustCreate(t, s, NewMeeting{
		ScheduledStart: start.In(time.FixedZone("X", 3600)), ScheduledEnd: start.Add(30 * time.Minute),
		Settings: SettingsPatch{AllowGuests: ptr(true), AllowScreenShare: ptr(false), MaxParticipants: ptr(MaxParticipantsCap)},
	})
	if !m.ScheduledStart.Equal(start) || m.ScheduledStart.Location() != time.UTC || !m.ScheduledEnd.Equal(start.Add(30*time.Minute)) {
		t.Fatalf("schedule %v - %v", m.ScheduledStart, m.ScheduledEnd)
	}
	if !m.Settings.AllowGuests || m.Settings.AllowScreenShare || m.Settings.MaxParticipants != MaxParticipantsCap {
		t.Fatalf("settings %+v", m.Settings)
	}
}

func TestCreateValidation(t *testing.T) {
	s, _ := newStore(t)
	many := make([]string, MaxInvitees+1)
	for i := range many {
		many[i] = "m" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + time.Duration(i).String()
	}
	cases := []struct {
		name string
		n    NewMeeting
		want error
	}{
		{"empty title", NewMeeting{Title: "   ", HostID: "alice"}, ErrInvalid},
		{"long title", NewMeeting{Title: strings.Repeat("é", MaxTitleRunes+1), HostID: "alice"}, ErrInvalid},
		{"control in title", NewMeeting{Title: "a\x07b", HostID: "alice"}, ErrInvalid},
		{"no host", NewMeeting{Title: "x"}, ErrInvalid},
		{"host with slash", NewMeeting{Title: "x", HostID: "a/b"}, ErrInvalid},
		{"end without start", NewMeeting{Title: "x", HostID: "alice", ScheduledEnd: t0}, ErrInvalid},
		{"end before start", NewMeeting{Title: "x", HostID: "alice", ScheduledStart: t0, ScheduledEnd: t0.Add(-time.Minute)}, ErrInvalid},
		{"end at start", NewMeeting{Title: "x", HostID: "alice", ScheduledStart: t0, ScheduledEnd: t0}, ErrInvalid},
		{"too long", NewMeeting{Title: "x", HostID: "alice", ScheduledStart: t0, ScheduledEnd: t0.Add(MaxScheduledDuration + time.Second)}, ErrInvalid},
		{"zero participants", NewMeeting{Title: "x", HostID: "alice", Settings: SettingsPatch{MaxParticipants: ptr(0)}}, ErrInvalid},
		{"over the cap", NewMeeting{Title: "x", HostID: "alice", Settings: SettingsPatch{MaxParticipants: ptr(MaxParticipantsCap + 1)}}, ErrInvalid},
		{"bad invitee", NewMeeting{Title: "x", HostID: "alice", Invitees: []string{"ok", "bad\x00"}}, ErrInvalid},
		{"too many invitees", NewMeeting{Title: "x", HostID: "alice", Invitees: many}, ErrLimit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Create(c.n)
			wantErr(t, err, c.want)
		})
	}
	if ms, _, err := s.ListForMember("alice", "", 0); err != nil || len(ms) != 0 {
		t.Fatalf("refused creates left meetings behind: %v %v", ms, err)
	}
}

func TestUpdate(t *testing.T) {
	s, _ := newStore(t)
	m := mustCreate(t, s, NewMeeting{Invitees: []string{"bob"}})
	got, err := s.Update(m.ID, Patch{
		Title:          ptr("Renamed"),
		Settings:       &SettingsPatch{Locked: ptr(true), MaxParticipants: ptr(10)},
		Invitees:       &[]string{"carol", "alice"},
		ScheduledStart: ptr(t0.Add(time.Hour)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "Renamed" || !got.Settings.Locked || !got.Settings.AllowScreenShare || got.Settings.MaxParticipants != 10 ||
		!slices.Equal(got.Invitees, []string{"carol"}) || !got.ScheduledStart.Equal(t0.Add(time.Hour)) {
		t.Fatalf("updated %+v", got)
	}
	if again, _ := s.Get(m.ID); again.Title != "Renamed" || !again.Settings.Locked {
		t.Fatalf("update not stored: %+v", again)
	}
	// The member index follows the invitees.
	if ms, _, _ := s.ListForMember("bob", "", 0); len(ms) != 0 {
		t.Fatalf("bob still lists the meeting after being uninvited: %v", ids(ms))
	}
	if ms, _, _ := s.ListForMember("carol", "", 0); !slices.Equal(ids(ms), []string{m.ID}) {
		t.Fatalf("carol lists %v", ids(ms))
	}

	_, err = s.Update(m.ID, Patch{ScheduledEnd: ptr(t0)})
	wantErr(t, err, ErrInvalid) // end before the stored start
	_, err = s.Update(m.ID, Patch{Settings: &SettingsPatch{MaxParticipants: ptr(-1)}})
	wantErr(t, err, ErrInvalid)
	_, err = s.Update(m.ID, Patch{Title: ptr("")})
	wantErr(t, err, ErrInvalid)
	_, err = s.Update("missing", Patch{Title: ptr("x")})
	wantErr(t, err, ErrNotFound)

	if _, err := s.MarkStarted(m.ID, t0); err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(m.ID, Patch{ScheduledStart: ptr(t0)})
	wantErr(t, err, ErrState)
	if _, err := s.Update(m.ID, Patch{Title: ptr("Running")}); err != nil {
		t.Fatalf("a running meeting's title should change: %v", err)
	}
	if _, err := s.Ban(m.ID, "mallory"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(m.ID, Patch{Invitees: &[]string{"mallory"}})
	wantErr(t, err, ErrInvalid)
	if _, err := s.MarkEnded(m.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(m.ID, Patch{Title: ptr("Over")})
	wantErr(t, err, ErrState)
}

func TestCancel(t *testing.T) {
	s, _ := newStore(t)
	m := mustCreate(t, s, NewMeeting{})
	got, err := s.Cancel(m.ID)
	if err != nil || got.Status != StatusCancelled {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	if _, err := s.Cancel(m.ID); err != nil {
		t.Fatalf("second cancel: %v", err)
	}
	_, err = s.MarkStarted(m.ID, t0)
	wantErr(t, err, ErrState)

	running := mustCreate(t, s, NewMeeting{})
	if _, err := s.MarkStarted(running.ID, t0); err != nil {
		t.Fatal(err)
	}
	_, err = s.Cancel(running.ID)
	wantErr(t, err, ErrState)
	_, err = s.Cancel("missing")
	wantErr(t, err, ErrNotFound)
}

func TestListForMemberPaging(t *testing.T) {
	s, clk := newStore(t)
	var want []string
	for i := range 7 {
		clk.Set(t0.Add(time.Duration(i) * time.Minute))
		host, invitees := "alice", []string{"bob"}
		if i%2 == 1 {
			host, invitees = "bob", []string{"alice"}
		}
		want = append(want, mustCreate(t, s, NewMeeting{HostID: host, Invitees: invitees}).ID)
	}
	// Two meetings created in the same instant both list, by id.
	twin := mustCreate(t, s, NewMeeting{}).ID
	if twin > want[len(want)-1] {
		want = append(want, twin)
	} else {
		want = slices.Insert(want, len(want)-1, twin)
	}
	slices.Reverse(want)
	mustCreate(t, s, NewMeeting{HostID: "carol"}) // not alice's

	var got []string
	after := ""
	pages := 0
	for {
		page, next, err := s.ListForMember("alice", after, 3)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(page)...)
		pages++
		if next == "" {
			break
		}
		after = next
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("pages %d: got %v, want %v (newest first)", pages, got, want)
	}
	_, _, err := s.ListForMember("alice", "bogus", 3)
	wantErr(t, err, ErrInvalid)
	_, _, err = s.ListForMember("alice", "", MaxListLimit+1)
	wantErr(t, err, ErrInvalid)
	_, _, err = s.ListForMember("", "", 0)
	wantErr(t, err, ErrInvalid)
}

func TestCoHostsAndTransfer(t *testing.T) {
	s, _ := newStore(t)
	m := mustCreate(t, s, NewMeeting{Invitees: []string{"bob", "dave"}})
	got, err := s.SetCoHosts(m.ID, []string{"carol", "alice", "bob", "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.CoHosts, []string{"carol", "bob"}) {
		t.Fatalf("cohosts %v", got.CoHosts)
	}
	for member, role := range map[string]Role{"alice": RoleHost, "bob": RoleCoHost, "carol": RoleCoHost, "dave": RoleInvitee, "eve": RoleNone, "": RoleNone} {
		if r := got.RoleOf(member); r != role {
			t.Errorf("RoleOf(%q) = %q, want %q", member, r, role)
		}
	}
	if !got.IsHost("carol") || got.IsHost("dave") {
		t.Fatal("IsHost")
	}
	if ms, _, _ := s.ListForMember("carol", "", 0); len(ms) != 1 {
		t.Fatal("a co-host should list the meeting")
	}
	many := make([]string, MaxCoHosts+1)
	for i := range many {
		many[i] = "c" + time.Duration(i).String()
	}
	_, err = s.SetCoHosts(m.ID, many)
	wantErr(t, err, ErrLimit)

	// Taking the co-host role from bob leaves him invited.
	got, err = s.SetCoHosts(m.ID, []string{"carol"})
	if err != nil || got.RoleOf("bob") != RoleInvitee {
		t.Fatalf("bob is %q (%v)", got.RoleOf("bob"), err)
	}

	got, err = s.TransferHost(m.ID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if got.HostID != "carol" || got.RoleOf("alice") != RoleInvitee || slices.Contains(got.CoHosts, "carol") {
		t.Fatalf("after transfer %+v", got)
	}
	if ms, _, _ := s.ListForMember("alice", "", 0); len(ms) != 1 {
		t.Fatal("the old host should still list the meeting")
	}
	if same, err := s.TransferHost(m.ID, "carol"); err != nil || same.HostID != "carol" {
		t.Fatalf("transfer to the host: %v", err)
	}
	_, err = s.TransferHost(m.ID, "bad/id")
	wantErr(t, err, ErrInvalid)
	_, err = s.TransferHost("missing", "bob")
	wantErr(t, err, ErrNotFound)
}

func TestLinkToken(t *testing.T) {
	s, _ := newStore(t)
	m := mustCreate(t, s, NewMeeting{})
	if got, err := s.CheckLinkToken(m.ID, m.LinkToken); err != nil || got.ID != m.ID {
		t.Fatalf("check with the right token: %v", err)
	}
	for _, bad := range []string{"", m.LinkToken[:21], m.LinkToken + "x", strings.ToUpper(m.LinkToken)} {
		if bad == m.LinkToken {
			continue
		}
		_, err := s.CheckLinkToken(m.ID, bad)
		wantErr(t, err, ErrNotFound)
	}
	_, err := s.CheckLinkToken("missing", m.LinkToken)
	wantErr(t, err, ErrNotFound)

	rotated, err := s.RotateLinkToken(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.LinkToken == m.LinkToken {
		t.Fatal("rotation kept the token")
	}
	_, err = s.CheckLinkToken(m.ID, m.LinkToken)
	wantErr(t, err, ErrNotFound)
	if _, err := s.CheckLinkToken(m.ID, rotated.LinkToken); err != nil {
		t.Fatalf("new token: %v", err)
	}
	if _, err := s.Cancel(m.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.RotateLinkToken(m.ID)
	wantErr(t, err, ErrState)
}

func TestBan(t *testing.T) {
	s, _ := newStore(t)
	m := mustCreate(t, s, NewMeeting{Invitees: []string{"bob"}})
	if _, err := s.SetCoHosts(m.ID, []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Ban(m.ID, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if got.RoleOf("bob") != RoleNone || !slices.Equal(got.Banned, []string{"bob"}) {
		t.Fatalf("after ban %+v", got)
	}
	if _, err := s.Ban(m.ID, "bob"); err != nil {
		t.Fatalf("second ban: %v", err)
	}
	if _, err := s.Ban(m.ID, "guest:XYZ"); err != nil {
		t.Fatal(err)
	}
	for who, want := range map[string]bool{"bob": true, "guest:XYZ": true, "carol": false} {
		if got, err := s.IsBanned(m.ID, who); err != nil || got != want {
			t.Errorf("IsBanned(%s) = %v, %v", who, got, err)
		}
	}
	if ms, _, _ := s.ListForMember("bob", "", 0); len(ms) != 0 {
		t.Fatal("a banned member should not list the meeting")
	}
	_, err = s.Ban(m.ID, "alice")
	wantErr(t, err, ErrInvalid)
	_, err = s.SetCoHosts(m.ID, []string{"bob"})
	wantErr(t, err, ErrInvalid)
	_, err = s.TransferHost(m.ID, "bob")
	wantErr(t, err, ErrInvalid)
	_, err = s.IsBanned("missing", "bob")
	wantErr(t, err, ErrNotFound)

	if _, err := s.MarkStarted(m.ID, t0); err != nil {
		t.Fatal(err)
	}
	_, err = s.RecordJoin(m.ID, Attendee{ID: "bob", Name: "Bob"}, t0)
	wantErr(t, err, ErrBanned)
}

func TestStartAndEnd(t *testing.T) {
	s, _ := newStore(t)
	m := mustCreate(t, s, NewMeeting{})
	_, err := s.MarkEnded(m.ID, t0)
	wantErr(t, err, ErrState) // never started
	got, err := s.MarkStarted(m.ID, t0.Add(time.Minute))
	if err != nil || got.Status != StatusActive || !got.StartedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("start: %+v %v", got, err)
	}
	again, err := s.MarkStarted(m.ID, t0.Add(time.Hour))
	if err != nil || !again.StartedAt.Equal(got.StartedAt) {
		t.Fatalf("second start moved StartedAt: %+v %v", again, err)
	}
	// An end before the start (clock skew) is the start.
	ended, err := s.MarkEnded(m.ID, t0)
	if err != nil || ended.Status != StatusEnded || !ended.EndedAt.Equal(got.StartedAt) {
		t.Fatalf("end: %+v %v", ended, err)
	}
	if e2, err := s.MarkEnded(m.ID, t0.Add(time.Hour)); err != nil || !e2.EndedAt.Equal(ended.EndedAt) {
		t.Fatalf("second end: %+v %v", e2, err)
	}
	_, err = s.MarkStarted(m.ID, t0)
	wantErr(t, err, ErrState)
	for _, op := range []func() error{
		func() error { _, err := s.SetCoHosts(m.ID, nil); return err },
		func() error { _, err := s.TransferHost(m.ID, "bob"); return err },
		func() error { _, err := s.Ban(m.ID, "bob"); return err },
		func() error { _, err := s.Cancel(m.ID); return err },
	} {
		wantErr(t, op(), ErrState)
	}
}
