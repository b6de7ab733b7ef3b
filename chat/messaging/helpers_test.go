package messaging_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/chat/bus"
	"parley/chat/conversation"
	"parley/chat/fanout"
	"parley/chat/files"
	"parley/chat/messaging"
	"parley/chat/msglog"
	"parley/storage"
)

// quiet discards the logs of the parts under test.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// people are the active members of the test company. "mallory" is known
// to no test directory, so she stands for an inactive or unknown id.
var people = []string{"alice", "bob", "carol", "dave", "erin", "frank"}

// frameBarrier is the type of the marker frames settle publishes. It is
// not a frame the service sends; helpers that count frames skip it.
const frameBarrier = "test.barrier"

// frameRec is one frame as a device would decode it.
type frameRec struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// recorder stands in for the WebSocket hub: it records, per member, every
// frame fanout handed over. The hub gets one delivery per member however
// many sessions the member has, so one delivery is one frame on every
// device of the member.
type recorder struct {
	mu  sync.Mutex
	got map[string][]frameRec
}

func (r *recorder) DeliverToMember(memberID string, frame []byte) {
	var f frameRec
	if err := json.Unmarshal(frame, &f); err != nil {
		f = frameRec{Type: "undecodable: " + err.Error(), Data: append(json.RawMessage(nil), frame...)}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string][]frameRec{}
	}
	r.got[memberID] = append(r.got[memberID], f)
}

// frames returns the frames of type typ delivered to memberID, in order.
func (r *recorder) frames(memberID, typ string) []json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []json.RawMessage
	for _, f := range r.got[memberID] {
		if f.Type == typ {
			out = append(out, f.Data)
		}
	}
	return out
}

// types lists the types of every frame memberID got, barriers left out.
func (r *recorder) types(memberID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, f := range r.got[memberID] {
		if f.Type != frameBarrier {
			out = append(out, f.Type)
		}
	}
	return out
}

// hasBarrier reports whether memberID got the barrier token.
func (r *recorder) hasBarrier(memberID, token string) bool {
	want := `"` + token + `"`
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.got[memberID] {
		if f.Type == frameBarrier && string(f.Data) == want {
			return true
		}
	}
	return false
}

// directory stands in for the company directory: the ids in it are active.
type directory map[string]bool

func (d directory) MemberActive(id string) (bool, error) { return d[id], nil }

// localEvents applies membership changes to this node's fanout directly.
// The server publishes them on the bus and every node, this one included,
// ends up calling exactly fanout.Joined / fanout.Left (signaling/events.go);
// with one node, the bus hop adds only an asynchronous delay, which would
// make "a message sent right after AddMembers reaches the new member" a
// race in these tests. Delivery over the bus is tested in chat/bus and
// chat/fanout.
type localEvents struct{ fan *fanout.Fanout }

func (e localEvents) MemberJoined(memberID, convID string) error {
	return e.fan.Joined(memberID, convID)
}

func (e localEvents) MemberLeft(memberID, convID string) error {
	e.fan.Left(memberID, convID)
	return nil
}

// testLimits are DefaultLimits with a short receipt interval.
func testLimits() messaging.Limits {
	l := messaging.DefaultLimits()
	l.ReceiptInterval = 20 * time.Millisecond
	return l
}

// harness is one node's chat: a real Pebble, message log, conversation
// store, embedded NATS and fanout, and the service over them.
type harness struct {
	dir    string
	db     *storage.DB
	log    *msglog.Log
	convs  *conversation.Store
	bus    *bus.Bus
	fan    *fanout.Fanout
	rec    *recorder
	people directory
	files  *files.Store // nil unless started with files
	svc    *messaging.Service

	barriers atomic.Int64
	stopOnce sync.Once
}

// newHarness starts a node with the given limits (testLimits when zero)
// and the events implementation made by events (localEvents when nil).
func newHarness(t *testing.T, limits messaging.Limits, events func(*fanout.Fanout) messaging.Events) *harness {
	t.Helper()
	return startHarness(t, limits, events, false)
}

// startHarness is newHarness, with a real file store over the node's
// Pebble when withFiles is set.
func startHarness(t *testing.T, limits messaging.Limits, events func(*fanout.Fanout) messaging.Events, withFiles bool) *harness {
	t.Helper()
	if limits == (messaging.Limits{}) {
		limits = testLimits()
	}
	h := &harness{dir: t.TempDir(), rec: &recorder{}, people: directory{}}
	for _, p := range people {
		h.people[p] = true
	}
	var err error
	h.db, err = storage.Open(h.dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.log, err = msglog.Open(h.db, msglog.Options{Shards: 2})
	if err != nil {
		h.db.Close()
		t.Fatal(err)
	}
	h.convs = conversation.New(h.db, conversation.Options{})
	if withFiles {
		if h.files, err = files.New(h.db, files.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	h.bus, err = bus.Start(bus.Config{}, quiet)
	if err != nil {
		h.log.Close()
		h.db.Close()
		t.Fatal(err)
	}
	h.fan = fanout.New(h.bus.Conn(), h.rec, h.convs, quiet)
	var ev messaging.Events = localEvents{h.fan}
	if events != nil {
		ev = events(h.fan)
	}
	deps := messaging.Deps{
		Log: h.log, Conversations: h.convs, Fanout: h.fan, Members: h.people,
		Events: ev, Limits: limits, Logger: quiet,
	}
	if h.files != nil { // a nil *files.Store would be a non-nil FileLookup
		deps.Files = h.files
	}
	h.svc = messaging.New(deps)
	t.Cleanup(h.stop)
	return h
}

// stop shuts the node down, in the order the server does. It is safe to
// call twice.
func (h *harness) stop() {
	h.stopOnce.Do(func() {
		h.svc.Close()
		h.bus.Close()
		h.log.Close()
		h.db.Close()
	})
}

// online opens one session for each id (an id listed twice gets two).
func (h *harness) online(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := h.fan.SessionOpened(id); err != nil {
			t.Fatalf("open session of %s: %v", id, err)
		}
	}
}

// settle waits until everything the service published so far has reached
// the recorder: it publishes a marker on convID's subject (unless convID is
// empty) and on the inbox of each member, and waits for each member to get
// both. NATS keeps the order of one connection's messages on each
// subscription, and the service publishes on the same connection, so
// frames published before the markers have been delivered once the
// markers have. So "exactly once" and "nothing" assertions need no sleep.
// List only members who are online and, when convID is set, in it.
func (h *harness) settle(t *testing.T, convID string, members ...string) {
	t.Helper()
	convTok := fmt.Sprintf("conv-%d", h.barriers.Add(1))
	inboxTok := fmt.Sprintf("inbox-%d", h.barriers.Add(1))
	if convID != "" {
		if err := h.fan.Publish(convID, barrierFrame(convTok)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range members {
		if err := h.fan.SendToMember(m, barrierFrame(inboxTok)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "barriers", func() bool {
		for _, m := range members {
			if !h.rec.hasBarrier(m, inboxTok) || (convID != "" && !h.rec.hasBarrier(m, convTok)) {
				return false
			}
		}
		return true
	})
}

func barrierFrame(token string) []byte {
	return []byte(`{"type":"` + frameBarrier + `","data":"` + token + `"}`)
}

// eventually polls cond for up to five seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// messages decodes the chat.message frames memberID got for convID.
func (h *harness) messages(t *testing.T, memberID, convID string) []msglog.Entry {
	t.Helper()
	var out []msglog.Entry
	for _, raw := range h.rec.frames(memberID, messaging.FrameMessage) {
		var e msglog.Entry
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("decode chat.message for %s: %v", memberID, err)
		}
		if e.ConversationID == convID {
			out = append(out, e)
		}
	}
	return out
}

// removals decodes the chat.removed frames memberID got for convID.
func (h *harness) removals(t *testing.T, memberID, convID string) []messaging.Removed {
	t.Helper()
	var out []messaging.Removed
	for _, raw := range h.rec.frames(memberID, messaging.FrameRemoved) {
		var r messaging.Removed
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("decode chat.removed for %s: %v", memberID, err)
		}
		if r.ConversationID == convID {
			out = append(out, r)
		}
	}
	return out
}

// summaries decodes the chat.conversation frames memberID got.
func (h *harness) summaries(t *testing.T, memberID string) []messaging.Summary {
	t.Helper()
	var out []messaging.Summary
	for _, raw := range h.rec.frames(memberID, messaging.FrameConversation) {
		var s messaging.Summary
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("decode chat.conversation for %s: %v", memberID, err)
		}
		out = append(out, s)
	}
	return out
}

// group creates a group owned by owner with the other members.
func (h *harness) group(t *testing.T, owner string, members ...string) conversation.Conversation {
	t.Helper()
	c, err := h.svc.CreateGroup(context.Background(), owner, messaging.GroupSpec{Name: "Team", Members: members})
	if err != nil {
		t.Fatalf("create group of %s: %v", owner, err)
	}
	return c
}

var clientIDs atomic.Int64

// textReq is a text message with a fresh client message id.
func textReq(convID, text string) messaging.SendRequest {
	return bodyReq(convID, messaging.TypeText, messaging.TextBody{Text: text})
}

// bodyReq is a message of type typ with body encoded as JSON and a fresh
// client message id.
func bodyReq(convID, typ string, body any) messaging.SendRequest {
	raw, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return messaging.SendRequest{
		ConversationID: convID,
		ClientMsgID:    fmt.Sprintf("cm-%d", clientIDs.Add(1)),
		Type:           typ,
		Body:           raw,
	}
}

// send sends text from sender and returns the ack.
func (h *harness) send(t *testing.T, sender, convID, text string) messaging.Ack {
	t.Helper()
	ack, err := h.svc.Send(context.Background(), sender, textReq(convID, text))
	if err != nil {
		t.Fatalf("%s sends in %s: %v", sender, convID, err)
	}
	return ack
}

// lastSeq is convID's last durable seq.
func (h *harness) lastSeq(t *testing.T, convID string) uint64 {
	t.Helper()
	last, err := h.log.LastSeq(convID)
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// entries reads every entry of convID and checks the seqs run 1..LastSeq.
func (h *harness) entries(t *testing.T, convID string) []msglog.Entry {
	t.Helper()
	es, err := h.log.Read(convID, 1, msglog.MaxReadLimit)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range es {
		if e.Seq != uint64(i+1) {
			t.Fatalf("%s: entry %d has seq %d", convID, i, e.Seq)
		}
	}
	if last := h.lastSeq(t, convID); uint64(len(es)) != last {
		t.Fatalf("%s: read %d entries, last seq %d", convID, len(es), last)
	}
	return es
}

// system decodes a system entry's body, failing if e is not one.
func system(t *testing.T, e msglog.Entry) messaging.SystemBody {
	t.Helper()
	if e.Type != msglog.TypeSystem {
		t.Fatalf("entry %d is %q, want a system entry", e.Seq, e.Type)
	}
	var b messaging.SystemBody
	if err := json.Unmarshal(e.Body, &b); err != nil {
		t.Fatalf("decode system entry %d: %v", e.Seq, err)
	}
	return b
}

// lastSystem is the system body of convID's last entry.
func (h *harness) lastSystem(t *testing.T, convID string) messaging.SystemBody {
	t.Helper()
	e, err := h.log.Get(convID, h.lastSeq(t, convID))
	if err != nil {
		t.Fatal(err)
	}
	return system(t, e)
}

// seqs lists the seqs of entries.
func seqs(es []msglog.Entry) []uint64 {
	out := make([]uint64, 0, len(es))
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

// seqRange is lo..hi inclusive.
func seqRange(lo, hi uint64) []uint64 {
	out := []uint64{}
	for s := lo; s <= hi; s++ {
		out = append(out, s)
	}
	return out
}

// wantErr fails unless err matches target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error = %v, want %v", what, err, target)
	}
}

// wantSeqs fails unless got equals want.
func wantSeqs(t *testing.T, what string, got, want []uint64) {
	t.Helper()
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("%s: seqs %v, want %v", what, got, want)
	}
}

func ptr[T any](v T) *T { return &v }
