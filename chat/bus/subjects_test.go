package bus_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"parley/chat/bus"
)

// memberIDs are ids with every character class the directory allows and a
// few NATS reserves.
var memberIDs = []string{"zhang.san@corp-1", "1", "a_b-c", "a..b", "*", ">", "with space", "张三"}

func TestMemberEventsSubjectRoundTrips(t *testing.T) {
	for _, id := range memberIDs {
		subject := bus.MemberEventsSubject(id)
		if !server.IsValidLiteralSubject(subject) {
			t.Errorf("MemberEventsSubject(%q) = %q, not a valid literal subject", id, subject)
		}
		if n := strings.Count(subject, "."); n != 2 {
			t.Errorf("MemberEventsSubject(%q) = %q has %d dots, want the id as one token", id, subject, n)
		}
		if !server.SubjectMatchesFilter(subject, bus.MemberEventsWildcard) {
			t.Errorf("%q does not match %q", subject, bus.MemberEventsWildcard)
		}
		got, err := bus.MemberIDFromSubject(subject)
		if err != nil {
			t.Errorf("MemberIDFromSubject(%q): %v", subject, err)
			continue
		}
		if got != id {
			t.Errorf("MemberIDFromSubject(MemberEventsSubject(%q)) = %q", id, got)
		}
	}
}

// The encoding is a wire contract between nodes; this pins it.
func TestMemberEventsSubjectEncoding(t *testing.T) {
	const want = "parley.member.emhhbmcuc2FuQGNvcnAtMQ"
	if got := bus.MemberEventsSubject("zhang.san@corp-1"); got != want {
		t.Errorf("MemberEventsSubject = %q, want %q", got, want)
	}
}

func TestMemberIDFromSubjectRejects(t *testing.T) {
	for _, subject := range []string{
		"parley.member.",                       // no id
		"parley.members.MQ",                    // other prefix
		"parley.member.MQ.extra",               // two tokens
		"parley.member.!!",                     // not base64url
		"parley.member.MQ==",                   // padded
		"parley.member.emhhbmcuc2FuQGNvcnAtMR", // non-zero trailing bits
	} {
		if id, err := bus.MemberIDFromSubject(subject); err == nil {
			t.Errorf("MemberIDFromSubject(%q) = %q, want an error", subject, id)
		}
	}
}

// Messages published to each member's subject reach a subscriber on the
// wildcard, through a real server, and name the right member.
func TestMemberEventsWildcardDelivers(t *testing.T) {
	b := startBus(t, bus.Config{})
	sub, err := b.Conn().SubscribeSync(bus.MemberEventsWildcard)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	for _, id := range memberIDs {
		if err := b.Conn().Publish(bus.MemberEventsSubject(id), []byte(id)); err != nil {
			t.Fatalf("publish for %q: %v", id, err)
		}
	}
	for _, id := range memberIDs {
		msg, err := sub.NextMsg(waitTimeout)
		if err != nil {
			t.Fatalf("receive event for %q: %v", id, err)
		}
		got, err := bus.MemberIDFromSubject(msg.Subject)
		if err != nil {
			t.Fatalf("subject %q: %v", msg.Subject, err)
		}
		if got != id || string(msg.Data) != id {
			t.Errorf("event on %q decoded to %q with payload %q, want %q", msg.Subject, got, msg.Data, id)
		}
	}
}

func TestConversationSubject(t *testing.T) {
	for _, id := range []string{"g_abc", "d_x.y", "a b*>"} {
		subj := bus.ConversationSubject(id)
		if !server.IsValidLiteralSubject(subj) || strings.Count(subj, ".") != 2 {
			t.Errorf("subject %q for id %q is not three literal tokens", subj, id)
		}
	}
	if bus.ConversationSubject("x") == bus.InboxSubject("x") {
		t.Fatal("conversation and inbox subjects collide")
	}
}

func TestInboxSubjectRoundTrips(t *testing.T) {
	for _, id := range memberIDs {
		subject := bus.InboxSubject(id)
		if !server.IsValidLiteralSubject(subject) || strings.Count(subject, ".") != 3 {
			t.Errorf("InboxSubject(%q) = %q, want four literal tokens", id, subject)
		}
		shard := bus.InboxShard(id)
		if shard < 0 || shard >= bus.InboxShards {
			t.Fatalf("InboxShard(%q) = %d, out of range", id, shard)
		}
		if !server.SubjectMatchesFilter(subject, bus.InboxShardWildcard(shard)) {
			t.Errorf("%q does not match its shard's wildcard %q", subject, bus.InboxShardWildcard(shard))
		}
		if server.SubjectMatchesFilter(subject, bus.InboxShardWildcard((shard+1)%bus.InboxShards)) {
			t.Errorf("%q matches another shard's wildcard", subject)
		}
		got, err := bus.MemberIDFromInboxSubject(subject)
		if err != nil || got != id {
			t.Errorf("MemberIDFromInboxSubject(%q) = %q, %v; want %q", subject, got, err, id)
		}
	}
}

// The shard hash and the subject's spelling are a wire contract between
// nodes; this pins them.
func TestInboxSubjectEncoding(t *testing.T) {
	const want = "parley.inbox.41.emhhbmcuc2FuQGNvcnAtMQ"
	if got := bus.InboxSubject("zhang.san@corp-1"); got != want {
		t.Errorf("InboxSubject = %q, want %q", got, want)
	}
	if got := bus.InboxShardWildcard(10); got != "parley.inbox.0a.*" {
		t.Errorf("InboxShardWildcard(10) = %q", got)
	}
	// Ids spread over the shards: 10,000 sequential ids leave none empty.
	var used [bus.InboxShards]bool
	for i := range 10000 {
		used[bus.InboxShard("m"+strconv.Itoa(i))] = true
	}
	for shard, ok := range used {
		if !ok {
			t.Errorf("shard %d holds none of 10,000 ids", shard)
		}
	}
}

func TestMemberIDFromInboxSubjectRejects(t *testing.T) {
	good := bus.InboxSubject("zhang.san@corp-1")
	wrongShard := "parley.inbox.00." + good[strings.LastIndexByte(good, '.')+1:]
	for _, subject := range []string{
		"parley.inbox.41.",           // no id
		"parley.inbox.41",            // no shard token
		"parley.inboxes.41.MQ",       // other prefix
		"parley.inbox.41.!!",         // not base64url
		"parley.inbox.41.MQ.extra",   // an extra token
		wrongShard,                   // the id's shard is 41
		bus.MemberEventsSubject("x"), // another kind of subject
	} {
		if id, err := bus.MemberIDFromInboxSubject(subject); err == nil {
			t.Errorf("MemberIDFromInboxSubject(%q) = %q, want an error", subject, id)
		}
	}
}
