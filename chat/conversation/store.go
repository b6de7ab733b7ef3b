package conversation

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"sync"

	"parley/storage"
)

// lockStripes is how many mutexes Lock and the cursor advances spread
// conversations (and members) over. Two ids that share a stripe only wait
// for each other; they never see each other's data.
const lockStripes = 1024

// Id lengths, in base32 characters after the prefix.
const (
	// directIDChars keeps 130 bits of the pair's sha256.
	directIDChars = 26
	// groupIDChars keeps 100 random bits.
	groupIDChars = 20
)

// idEncoding is lower-case RFC 4648 base32 without padding: ids stay short,
// case-insensitive to read aloud, and free of '/'.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Store keeps conversations, their members and the members' cursors in
// Pebble. Reads go straight to the database. Changes to a conversation's
// membership and settings are checked and staged by the caller under
// Lock(convID) (see the package doc); cursor advances commit on their own.
type Store struct {
	db              *storage.DB
	maxGroupMembers int

	// convLocks are held exclusively by Lock, across check, stage and
	// commit of a membership change, and shared by the cursor advances,
	// so a cursor write never lands between a member's removal and the
	// commit that deletes their cursor.
	convLocks [lockStripes]sync.RWMutex
	// cursorLocks serialize read-modify-write of one member's cursors, so
	// concurrent acks from several devices stay monotonic.
	cursorLocks [lockStripes]sync.Mutex
	// accessCache caches permission records per conversation stripe; see
	// access.go.
	accessCache [lockStripes]accessStripe
}

// New returns the store kept in db.
func New(db *storage.DB, opts Options) *Store {
	max := opts.MaxGroupMembers
	if max <= 0 {
		max = DefaultMaxGroupMembers
	}
	return &Store{db: db, maxGroupMembers: max}
}

// MaxGroupMembers is the group size limit this store enforces.
func (s *Store) MaxGroupMembers() int { return s.maxGroupMembers }

// DirectID is the id of the direct conversation between a and b: "d_"
// followed by the first 26 characters of the lower-case base32 encoding of
// sha256(min(a,b) + 0x00 + max(a,b)). It is symmetric and deterministic,
// which is what makes creating a direct conversation idempotent. Member
// ids never hold control bytes, so the 0x00 separator is unambiguous.
func DirectID(a, b string) string {
	if b < a {
		a, b = b, a
	}
	h := sha256.New()
	h.Write([]byte(a))
	h.Write([]byte{0})
	h.Write([]byte(b))
	return DirectIDPrefix + idEncoding.EncodeToString(h.Sum(nil))[:directIDChars]
}

// NewGroupID returns a fresh group id: "g_" followed by 20 lower-case
// base32 characters (100 bits) from crypto/rand.
func NewGroupID() string {
	var raw [13]byte // 104 bits, encodes to 21 characters
	rand.Read(raw[:])
	return GroupIDPrefix + idEncoding.EncodeToString(raw[:])[:groupIDChars]
}

// Lock takes the exclusive lock of convID's stripe and returns its
// release. Callers hold it from the Check of a membership or settings
// change through the commit of the log entry whose OnCommit stages it, so
// nothing else changes the conversation in between.
//
// While it is held, AdvanceRead and AdvanceDelivered for conversations of
// the same stripe wait. So a goroutine holding Lock must not advance
// cursors, nor take a second Lock: either may deadlock.
func (s *Store) Lock(convID string) (unlock func()) {
	i := stripe(convID, "")
	s.convLocks[i].Lock()
	s.accessCache[i].gen.Add(1) // odd: cached records of the stripe are not trusted
	return func() {
		s.accessCache[i].gen.Add(1) // even again, and every earlier entry stale
		s.convLocks[i].Unlock()
	}
}

// stripe hashes a (and b, if set) with FNV-1a into a lock stripe.
func stripe(a, b string) int {
	h := uint32(2166136261)
	for i := 0; i < len(a); i++ {
		h = (h ^ uint32(a[i])) * 16777619
	}
	if b != "" {
		h = (h ^ '/') * 16777619
		for i := 0; i < len(b); i++ {
			h = (h ^ uint32(b[i])) * 16777619
		}
	}
	return int(h % lockStripes)
}

// Keys. Every key is built by one of these from the prefixes in
// storage/keys.go.

func convKey(id string) []byte { return storage.Key(storage.PrefixChatConversation, id) }

func memberKey(convID, memberID string) []byte {
	return storage.Key(storage.PrefixChatConvMember, convID, memberID)
}

func memberPrefix(convID string) []byte {
	return storage.KeyPrefix(storage.PrefixChatConvMember, convID)
}

func indexKey(memberID, convID string) []byte {
	return storage.Key(storage.PrefixChatMemberConv, memberID, convID)
}

func indexPrefix(memberID string) []byte {
	return storage.KeyPrefix(storage.PrefixChatMemberConv, memberID)
}

func cursorKey(convID, memberID string) []byte {
	return storage.Key(storage.PrefixChatCursor, convID, memberID)
}

func cursorPrefix(convID string) []byte {
	return storage.KeyPrefix(storage.PrefixChatCursor, convID)
}

// load returns the conversation id, or ErrNotFound.
func (s *Store) load(id string) (Conversation, error) {
	var c Conversation
	err := s.db.GetJSON(convKey(id), &c)
	if errors.Is(err, storage.ErrNotFound) {
		return Conversation{}, fmt.Errorf("conversation %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("load conversation %s: %w", id, err)
	}
	return c, nil
}

// loadMember returns memberID's membership of convID, or ErrNotMember. It
// does not look at the conversation record.
func (s *Store) loadMember(convID, memberID string) (Membership, error) {
	var m Membership
	err := s.db.GetJSON(memberKey(convID, memberID), &m)
	if errors.Is(err, storage.ErrNotFound) {
		return Membership{}, fmt.Errorf("member %s of conversation %s: %w", memberID, convID, ErrNotMember)
	}
	if err != nil {
		return Membership{}, fmt.Errorf("load member %s of conversation %s: %w", memberID, convID, err)
	}
	return m, nil
}

// loadGroup returns the conversation id if it is a group that is not
// dissolved: the precondition of every group change.
func (s *Store) loadGroup(id string) (Conversation, error) {
	if err := checkID("conversation id", id); err != nil {
		return Conversation{}, err
	}
	c, err := s.load(id)
	if err != nil {
		return Conversation{}, err
	}
	if c.Kind != KindGroup {
		return Conversation{}, invalidf("conversation", "%s is a direct conversation; only groups change members or settings", id)
	}
	if c.Dissolved {
		return Conversation{}, fmt.Errorf("conversation %s: %w", id, ErrDissolved)
	}
	return c, nil
}

// stageMember writes a new membership with its index and its cursors.
func stageMember(b *storage.Batch, convID string, m Membership) error {
	if err := b.SetJSON(memberKey(convID, m.MemberID), m); err != nil {
		return err
	}
	b.Set(indexKey(m.MemberID, convID), nil)
	start := uint64(0)
	if m.JoinedSeq > 0 {
		start = m.JoinedSeq - 1
	}
	b.Set(cursorKey(convID, m.MemberID), encodeCursors(Cursors{Read: start, Delivered: start, JoinedSeq: m.JoinedSeq}))
	return nil
}
