package conversation

import (
	"testing"

	"parley/storage"
)

// TestDirectPeer: each member of a direct conversation sees the other as
// its peer, from the one stored record; a group, an outsider and an
// unknown conversation are refused with the errors of Membership.
func TestDirectPeer(t *testing.T) {
	s, db := newStore(t, Options{})
	commit(t, db, func(b *storage.Batch) error {
		_, err := s.StageCreateDirect(b, "bob", "alice", 1, t0)
		return err
	})
	id := DirectID("alice", "bob")
	for viewer, want := range map[string]string{"alice": "bob", "bob": "alice"} {
		got, err := s.DirectPeer(id, viewer)
		mustNil(t, err)
		if got != want {
			t.Fatalf("%s's peer is %q, want %q", viewer, got, want)
		}
	}
	_, err := s.DirectPeer(id, "carol")
	wantErr(t, err, ErrNotMember)
	_, err = s.DirectPeer(DirectID("alice", "carol"), "alice")
	wantErr(t, err, ErrNotFound)
	g := mustGroup(t, s, db, "g_team", "alice", []string{"bob"}, 1)
	_, err = s.DirectPeer(g.ID, "alice")
	wantErr(t, err, ErrInvalid)
	_, err = s.DirectPeer(id, "a/b")
	wantErr(t, err, ErrInvalid)
}
