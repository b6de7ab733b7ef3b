package storage

import "encoding/binary"

// This file is the whole key layout. Every record Parley keeps in Pebble
// lives under one of the prefixes below; no other file builds keys.
//
// Encoding rules:
//   - a prefix is ASCII and ends in '/';
//   - string ids are validated by their owners never to contain '/' or
//     bytes below 0x20, so "prefix + id + '/'" sorts and splits safely;
//   - integers are 8-byte big-endian, so keys sort numerically;
//   - values are JSON unless the comment says otherwise.
//
// | prefix                 | rest of key                      | value                         |
// |------------------------|----------------------------------|-------------------------------|
// | meta/schema            | (none)                           | schema version, decimal text  |
// | dir/seq/               | kind                             | last issued id, 8-byte BE     |
// | dir/dept/              | dept id                          | directory.Department          |
// | dir/dept-child/        | parent id / child id             | empty (child index)           |
// | dir/member/            | member id                        | directory.Member              |
// | dir/dept-member/       | dept id / member id              | empty (membership index)      |
// | dir/member-mobile/     | mobile                           | member id (unique index)      |
// | dir/member-email/      | lower-cased email                | member id (unique index)      |
// | dir/tag/               | tag id                           | directory.Tag                 |
// | dir/tag-member/        | tag id / member id               | empty                         |
// | dir/member-tag/        | member id / tag id               | empty                         |
// | auth/password/         | member id                        | password hash (PHC string)    |
// | auth/refresh/          | sha256(token), hex               | auth refresh token record     |
// | auth/member-refresh/   | member id / sha256(token), hex   | empty (revocation index)      |
// | auth/apikey/           | key id                           | auth API key record           |
// | auth/jwt-secret        | (none)                           | raw HMAC secret bytes         |
// | auth/not-before/       | member id                        | unix millis, 8-byte BE        |
// | audit/                 | unix nanos BE8, sequence BE8     | audit.Entry                   |
// | chat/msg/              | conv id / seq BE8                | msglog.Entry                  |
// | chat/dedup/            | conv id / sender id / client id  | seq, 8-byte BE                |
// | chat/conv/             | conv id                          | conversation.Conversation     |
// | chat/conv-member/      | conv id / member id              | conversation.Membership       |
// | chat/member-conv/      | member id / conv id              | empty (reverse index)         |
// | chat/cursor/           | conv id / member id              | 3 uvarints: read, delivered,  |
// |                        |                                  | joined seq (not JSON)         |
// | files/                 | file id                          | files.Meta                    |
// | chat/recalled/         | conv id / seq BE8                | seq of the recall entry, BE8  |
// | chat/urgent/           | due unix ms BE8 / conv id /      | urgent.Item without its key   |
// |                        | seq BE8                          | fields                        |
// | presence/last-seen/    | member id                        | unix millis, 8-byte BE        |
// | quickreply/seq         | (none)                           | last issued id, 8-byte BE     |
// | quickreply/ent-cat/    | category id                      | quickreply.Category           |
// | quickreply/ent-item/   | item id                          | quickreply.Item               |
// | quickreply/cat/        | member id / category id          | quickreply.Category           |
// | quickreply/item/       | member id / item id              | quickreply.Item               |
// | meet/m/                | meeting id                       | meeting.Meeting               |
// | meet/member/           | member id / created unix nanos   | empty (a member's meetings:   |
// |                        | BE8 + meeting id                 | hosted, co-hosted, invited)   |
// | meet/att/              | meeting id / seq BE8             | meeting.Record (attendance)   |
// | live/l/                | live id                          | live.Live                     |
// | live/time/             | created unix nanos BE8 + live id | empty (every live, by age)    |
// | live/stream-key/       | sha256(stream key), hex          | live id (unique index)        |
// | live/key-of/           | live id                          | sha256(stream key), hex       |
// | live/viewer/           | live id / seq BE8                | live.ViewerRecord             |
// | live/counters/         | live id                          | live counters (peak,          |
// |                        |                                  | interactions, replay views)   |
// | liveroom/muted/        | live id / viewer id              | seq of the mute entry, BE8    |
// | liveroom/deleted/      | live id / seq BE8                | seq of the delete entry, BE8  |
// | liveroom/answered/     | live id / question seq BE8       | seq of the answer entry, BE8  |
// | liveroom/poll/         | live id / poll seq BE8           | liveroom.Poll                 |
// | liveroom/vote/         | live id / poll seq BE8 / viewer  | option index, 8-byte BE       |
// | liveroom/likes/        | live id                          | like total, 8-byte BE         |
// | liveroom/part/         | live id / kind / viewer id       | empty (lottery eligibility)   |
// | liveroom/draw/         | live id / draw seq BE8           | liveroom.Draw                 |
// | chat/counted/          | conv id / seq BE8                | counted entries up to seq,    |
// |                        |                                  | uvarint (not JSON)            |
// | chat/counted-by/       | conv id / sender id / seq BE8    | the sender's counted entries  |
// |                        |                                  | up to seq, uvarint (not JSON) |

// KeySchemaVersion holds the on-disk schema version.
var KeySchemaVersion = []byte("meta/schema")

// Directory prefixes.
const (
	PrefixIDSequence     = "dir/seq/"
	PrefixDepartment     = "dir/dept/"
	PrefixDeptChild      = "dir/dept-child/"
	PrefixMember         = "dir/member/"
	PrefixDeptMember     = "dir/dept-member/"
	PrefixMemberByMobile = "dir/member-mobile/"
	PrefixMemberByEmail  = "dir/member-email/"
	PrefixTag            = "dir/tag/"
	PrefixTagMember      = "dir/tag-member/"
	PrefixMemberTag      = "dir/member-tag/"
)

// Auth prefixes.
const (
	PrefixPassword      = "auth/password/"
	PrefixRefresh       = "auth/refresh/"
	PrefixMemberRefresh = "auth/member-refresh/"
	PrefixAPIKey        = "auth/apikey/"
)

// KeyJWTSecret holds the HMAC secret that signs access tokens when the
// configuration does not set one.
var KeyJWTSecret = []byte("auth/jwt-secret")

// PrefixNotBefore holds, per member, the time of the last RevokeMember:
// access tokens issued before it are refused.
const PrefixNotBefore = "auth/not-before/"

// PrefixAudit is the audit log, in time order.
const PrefixAudit = "audit/"

// Message log prefixes (chat/msglog): every conversation's entries in seq
// order, and the (sender, client message id) index that makes resends
// idempotent, scoped to the conversation.
const (
	PrefixChatMessage = "chat/msg/"
	PrefixChatDedup   = "chat/dedup/"
)

// Conversation prefixes (chat/conversation): each conversation, its
// members, the reverse index from a member to their conversations, and
// each member's compact read/delivery cursors, one small key per member
// so that read receipts are one prefix scan.
const (
	PrefixChatConversation = "chat/conv/"
	PrefixChatConvMember   = "chat/conv-member/"
	PrefixChatMemberConv   = "chat/member-conv/"
	PrefixChatCursor       = "chat/cursor/"
)

// PrefixFile holds the metadata of uploaded files (chat/files); the bytes
// live in the data directory's files/ folder, not in Pebble.
const PrefixFile = "files/"

// PrefixChatRecalled marks recalled messages (chat/messaging): one key
// per recalled entry, written in the same commit as the recall entry, so
// "is seq N recalled?" is one point read instead of a scan of the log.
const PrefixChatRecalled = "chat/recalled/"

// PrefixChatUrgent is the re-notify schedule of urgent messages
// (chat/urgent), ordered by due time so the next one due is the first key.
// The due time comes first; the conversation id sits between two
// fixed-width integers, so the key splits by position.
const PrefixChatUrgent = "chat/urgent/"

// PrefixPresenceLastSeen holds, per member, when the member was last seen
// online (chat/presence). It is the only stored part of presence; online
// state itself lives in memory and on the bus.
const PrefixPresenceLastSeen = "presence/last-seen/"

// KeyQuickReplySeq holds the last quick-reply id issued (chat/quickreply);
// categories and items share the sequence.
var KeyQuickReplySeq = []byte("quickreply/seq")

// Quick-reply prefixes (chat/quickreply): enterprise categories and items,
// visible to everyone, and each member's personal ones under their id.
const (
	PrefixQuickReplyEntCategory = "quickreply/ent-cat/"
	PrefixQuickReplyEntItem     = "quickreply/ent-item/"
	PrefixQuickReplyCategory    = "quickreply/cat/"
	PrefixQuickReplyItem        = "quickreply/item/"
)

// Key joins a prefix and string components with '/' between components.
// Key(PrefixDeptChild, "1", "7") is "dir/dept-child/1/7". The key has room
// for KeyPrefix's '/' and an AppendUint64 after it, which most keys end
// with (a seq, a time), so appending them allocates nothing more.
func Key(prefix string, parts ...string) []byte {
	n := len(prefix) + 8
	for _, p := range parts {
		n += len(p) + 1
	}
	k := make([]byte, 0, n)
	k = append(k, prefix...)
	for i, p := range parts {
		if i > 0 {
			k = append(k, '/')
		}
		k = append(k, p...)
	}
	return k
}

// KeyPrefix is Key with a trailing '/', the scan prefix for every key that
// continues the given components: KeyPrefix(PrefixDeptChild, "1") covers
// all children of department 1.
func KeyPrefix(prefix string, parts ...string) []byte {
	k := Key(prefix, parts...)
	if len(parts) > 0 {
		k = append(k, '/')
	}
	return k
}

// AppendUint64 appends v as 8 big-endian bytes, so numeric order is key
// order.
func AppendUint64(k []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(k, v)
}

// Uint64At decodes 8 big-endian bytes at k[off:].
func Uint64At(k []byte, off int) uint64 {
	return binary.BigEndian.Uint64(k[off : off+8])
}

// Meeting prefixes (sfu/meeting): each meeting; the index from a member to
// the meetings they host, co-host or are invited to, ordered by the
// meeting's creation time (the id follows the fixed-width time, so the key
// splits by position); and each meeting's attendance records in join
// order.
const (
	PrefixMeeting           = "meet/m/"
	PrefixMeetingByMember   = "meet/member/"
	PrefixMeetingAttendance = "meet/att/"
)

// Live prefixes (sfu/live): each live; every live by creation time; the
// stream key index, keyed by the key's SHA-256 so the key itself is never
// stored, and its reverse (live id to hash) so a rotation can delete the
// old entry; viewer records in join order; and the persisted viewer
// counters.
const (
	PrefixLive          = "live/l/"
	PrefixLiveByTime    = "live/time/"
	PrefixLiveStreamKey = "live/stream-key/"
	PrefixLiveKeyOf     = "live/key-of/"
	PrefixLiveViewer    = "live/viewer/"
	PrefixLiveCounters  = "live/counters/"
)

// Live interaction prefixes (chat/liveroom): which viewers are muted,
// which comments were deleted and which questions answered (each marker
// written in the commit of the log entry that records it, like
// chat/recalled/); each poll and one key per (poll, viewer), so "has this
// viewer voted?" is one point read and a second vote is refused; the
// like total; who took part in what (commented, asked, liked, watched),
// the pool a lottery draws from; and every lottery draw with its seed.
const (
	PrefixLiveRoomMuted    = "liveroom/muted/"
	PrefixLiveRoomDeleted  = "liveroom/deleted/"
	PrefixLiveRoomAnswered = "liveroom/answered/"
	PrefixLiveRoomPoll     = "liveroom/poll/"
	PrefixLiveRoomVote     = "liveroom/vote/"
	PrefixLiveRoomLikes    = "liveroom/likes/"
	PrefixLiveRoomPart     = "liveroom/part/"
	PrefixLiveRoomDraw     = "liveroom/draw/"
)

// Counted-entry prefixes (chat/msglog): for each entry a reader counts as
// unread (a member's message, not a system entry or a recall), the running
// number of such entries of the conversation, and of its sender, up to
// that seq. Written in the entry's own commit; "how many up to seq N" is
// one reverse seek, so unread counts never scan the log.
const (
	PrefixChatCounted   = "chat/counted/"
	PrefixChatCountedBy = "chat/counted-by/"
)
