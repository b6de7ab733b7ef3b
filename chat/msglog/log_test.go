package msglog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"parley/chat/msglog"
	"parley/storage"
)

func TestSequencesGaplessUnderConcurrency(t *testing.T) {
	const (
		workers = 50
		perWork = 200
		convs   = 5
	)
	// Few shards so conversations share committers, and a tiny cache so
	// states are evicted and reloaded from disk while appends run.
	_, l := openLog(t, t.TempDir(), msglog.Options{Shards: 3, CacheConversations: 2, MaxBatch: 64})

	acked := make([][]msglog.Entry, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWork {
				conv := fmt.Sprintf("conv-%d", (w+i)%convs)
				e, dup, err := l.Append(context.Background(), text(conv, fmt.Sprintf("user-%d", w), fmt.Sprintf("m-%d", i), "hi"))
				if err != nil || dup {
					t.Errorf("append worker %d #%d: dup=%v err=%v", w, i, dup, err)
					return
				}
				acked[w] = append(acked[w], e)
			}
		}()
	}
	// A reader polls meanwhile: the watermark never goes back and what it
	// reads is always gapless up to it.
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		var prev uint64
		for {
			select {
			case <-stop:
				return
			default:
			}
			last, err := l.LastSeq("conv-0")
			if err != nil || last < prev {
				t.Errorf("last seq went from %d to %d (err %v)", prev, last, err)
				return
			}
			prev = last
			page, err := l.ReadBefore("conv-0", 0, 50)
			if err != nil {
				t.Errorf("read before: %v", err)
				return
			}
			for i := 1; i < len(page); i++ {
				if page[i].Seq != page[i-1].Seq-1 {
					t.Errorf("history page has seq %d after %d", page[i].Seq, page[i-1].Seq)
					return
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-readerDone
	if t.Failed() {
		return
	}

	stored := map[string]msglog.Entry{}
	for c := range convs {
		for _, e := range readAll(t, l, fmt.Sprintf("conv-%d", c)) {
			if prev, ok := stored[clientKey(e)]; ok {
				t.Fatalf("%s stored twice: seq %d and %d", clientKey(e), prev.Seq, e.Seq)
			}
			stored[clientKey(e)] = e
		}
	}
	if len(stored) != workers*perWork {
		t.Fatalf("stored %d entries, want %d", len(stored), workers*perWork)
	}
	for _, es := range acked {
		for _, e := range es {
			got := stored[clientKey(e)]
			if got.Seq != e.Seq || got.ConversationID != e.ConversationID || !got.CreatedAt.Equal(e.CreatedAt) || string(got.Body) != string(e.Body) {
				t.Fatalf("acked %+v, stored %+v", e, got)
			}
		}
	}
}

func TestEntryFields(t *testing.T) {
	_, l := openLog(t, t.TempDir(), msglog.Options{})
	d := msglog.Draft{ConversationID: "g1", SenderID: "alice", ClientMsgID: "c1", Type: "link", Body: json.RawMessage(`{ "url" : "https://example.com" }`)}
	e, _ := mustAppend(t, l, d)
	if e.Seq != 1 || e.ConversationID != "g1" || e.SenderID != "alice" || e.ClientMsgID != "c1" || e.Type != "link" {
		t.Fatalf("entry %+v", e)
	}
	if string(e.Body) != `{"url":"https://example.com"}` {
		t.Fatalf("body %s, want it compacted", e.Body)
	}
	if e.CreatedAt.IsZero() || e.CreatedAt.Nanosecond()%1e6 != 0 || e.CreatedAt.Location().String() != "UTC" {
		t.Fatalf("created at %v, want UTC milliseconds", e.CreatedAt)
	}
	got, err := l.Get("g1", 1)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	a, _ := json.Marshal(e)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Fatalf("appended %s, read back %s", a, b)
	}

	// System entries need no client id and are never deduplicated.
	sys := msglog.Draft{ConversationID: "g1", SenderID: "server", Type: msglog.TypeSystem, Body: json.RawMessage(`{"event":"joined"}`)}
	s1, dup1 := mustAppend(t, l, sys)
	s2, dup2 := mustAppend(t, l, sys)
	if dup1 || dup2 || s1.Seq != 2 || s2.Seq != 3 {
		t.Fatalf("system entries got seq %d dup %v, seq %d dup %v", s1.Seq, dup1, s2.Seq, dup2)
	}
	// An empty body is stored as JSON null.
	n, _ := mustAppend(t, l, msglog.Draft{ConversationID: "g1", SenderID: "bob", ClientMsgID: "c2", Type: "recall"})
	if string(n.Body) != "null" {
		t.Fatalf("empty body stored as %q", n.Body)
	}
}

func TestReadPaging(t *testing.T) {
	_, l := openLog(t, t.TempDir(), msglog.Options{})
	const n = 25
	for i := 1; i <= n; i++ {
		mustAppend(t, l, text("room", "alice", fmt.Sprintf("c%d", i), fmt.Sprint(i)))
	}
	mustAppend(t, l, text("other", "alice", "c1", "elsewhere"))

	seqs := func(es []msglog.Entry, err error) string {
		t.Helper()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if es == nil {
			t.Fatalf("read returned nil, want an empty slice")
		}
		var parts []string
		for _, e := range es {
			if e.ConversationID != "room" {
				t.Fatalf("read entry of %s", e.ConversationID)
			}
			parts = append(parts, fmt.Sprint(e.Seq))
		}
		return strings.Join(parts, ",")
	}
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"first page", seqs(l.Read("room", 0, 10)), "1,2,3,4,5,6,7,8,9,10"},
		{"next page", seqs(l.Read("room", 11, 10)), "11,12,13,14,15,16,17,18,19,20"},
		{"short last page", seqs(l.Read("room", 21, 10)), "21,22,23,24,25"},
		{"past the end", seqs(l.Read("room", 26, 10)), ""},
		{"default limit", seqs(l.Read("room", 24, 0)), "24,25"},
		{"newest page", seqs(l.ReadBefore("room", 0, 4)), "25,24,23,22"},
		{"older page", seqs(l.ReadBefore("room", 22, 4)), "21,20,19,18"},
		{"oldest page", seqs(l.ReadBefore("room", 3, 4)), "2,1"},
		{"before the first", seqs(l.ReadBefore("room", 1, 4)), ""},
		{"before past the end", seqs(l.ReadBefore("room", 1000, 2)), "25,24"},
		{"unknown conversation", seqs(l.Read("nobody", 0, 10)), ""},
		{"unknown conversation history", seqs(l.ReadBefore("nobody", 0, 10)), ""},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got [%s], want [%s]", c.name, c.got, c.want)
		}
	}

	if last, err := l.LastSeq("room"); err != nil || last != n {
		t.Fatalf("last seq %d, %v; want %d", last, err, n)
	}
	if last, err := l.LastSeq("nobody"); err != nil || last != 0 {
		t.Fatalf("last seq of empty conversation %d, %v", last, err)
	}
	e, err := l.Get("room", 7)
	if err != nil || e.Seq != 7 || string(e.Body) != `{"text":"7"}` {
		t.Fatalf("get 7: %+v, %v", e, err)
	}
	for _, seq := range []uint64{0, n + 1} {
		if _, err := l.Get("room", seq); !errors.Is(err, msglog.ErrNotFound) {
			t.Errorf("get seq %d: %v, want ErrNotFound", seq, err)
		}
	}
	if _, err := l.Get("nobody", 1); !errors.Is(err, msglog.ErrNotFound) {
		t.Errorf("get in empty conversation: %v, want ErrNotFound", err)
	}
}

func TestValidation(t *testing.T) {
	_, l := openLog(t, t.TempDir(), msglog.Options{MaxBodyBytes: 100})
	ok := text("room", "alice", "c1", "x")
	with := func(f func(d *msglog.Draft)) msglog.Draft {
		d := ok
		f(&d)
		return d
	}
	invalid := map[string]msglog.Draft{
		"empty conversation":      with(func(d *msglog.Draft) { d.ConversationID = "" }),
		"slash in conversation":   with(func(d *msglog.Draft) { d.ConversationID = "a/b" }),
		"control in conversation": with(func(d *msglog.Draft) { d.ConversationID = "a\nb" }),
		"long conversation":       with(func(d *msglog.Draft) { d.ConversationID = strings.Repeat("c", msglog.MaxConversationIDBytes+1) }),
		"bad utf-8 conversation":  with(func(d *msglog.Draft) { d.ConversationID = "a\xffb" }),
		"empty sender":            with(func(d *msglog.Draft) { d.SenderID = "" }),
		"long sender":             with(func(d *msglog.Draft) { d.SenderID = strings.Repeat("s", msglog.MaxSenderIDBytes+1) }),
		"slash in sender":         with(func(d *msglog.Draft) { d.SenderID = "x/y" }),
		"missing client id":       with(func(d *msglog.Draft) { d.ClientMsgID = "" }),
		"long client id":          with(func(d *msglog.Draft) { d.ClientMsgID = strings.Repeat("m", msglog.MaxClientMsgIDBytes+1) }),
		"slash in client id":      with(func(d *msglog.Draft) { d.ClientMsgID = "1/2" }),
		"empty type":              with(func(d *msglog.Draft) { d.Type = "" }),
		"long type":               with(func(d *msglog.Draft) { d.Type = strings.Repeat("t", msglog.MaxTypeBytes+1) }),
		"body not JSON":           with(func(d *msglog.Draft) { d.Body = json.RawMessage(`{"text":`) }),
		"bad client id on system": with(func(d *msglog.Draft) { d.Type = msglog.TypeSystem; d.ClientMsgID = "a\x00" }),
	}
	for name, d := range invalid {
		if _, _, err := l.Append(context.Background(), d); !errors.Is(err, msglog.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	longest := with(func(d *msglog.Draft) {
		d.ConversationID = strings.Repeat("c", msglog.MaxConversationIDBytes)
		d.SenderID = strings.Repeat("s", msglog.MaxSenderIDBytes)
		d.ClientMsgID = strings.Repeat("m", msglog.MaxClientMsgIDBytes)
		d.Body = json.RawMessage(`"` + strings.Repeat("b", 98) + `"`) // exactly 100 bytes
	})
	if _, _, err := l.Append(context.Background(), longest); err != nil {
		t.Fatalf("draft at every limit: %v", err)
	}
	big := with(func(d *msglog.Draft) { d.Body = json.RawMessage(`"` + strings.Repeat("b", 99) + `"`) })
	if _, _, err := l.Append(context.Background(), big); !errors.Is(err, msglog.ErrTooLarge) {
		t.Fatalf("101-byte body: %v, want ErrTooLarge", err)
	}
	if last, _ := l.LastSeq("room"); last != 0 {
		t.Fatalf("rejected drafts stored something: last seq %d", last)
	}
	if _, err := l.Read("a/b", 0, 10); !errors.Is(err, msglog.ErrInvalid) {
		t.Errorf("read with bad id: %v", err)
	}
	if _, err := l.ReadBefore("", 0, 10); !errors.Is(err, msglog.ErrInvalid) {
		t.Errorf("read before with empty id: %v", err)
	}
	if _, err := l.Get("a\tb", 1); !errors.Is(err, msglog.ErrInvalid) {
		t.Errorf("get with bad id: %v", err)
	}
	if _, err := msglog.Open(nil, msglog.Options{}); !errors.Is(err, msglog.ErrInvalid) {
		t.Errorf("open on nil db: %v", err)
	}
}

func TestContextCancel(t *testing.T) {
	db, l := openLog(t, t.TempDir(), msglog.Options{Shards: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := l.Append(ctx, text("room", "alice", "c0", "x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with cancelled context: %v", err)
	}

	// Hold the only committer inside an OnCommit, so the next draft
	// cannot be taken, then cancel that draft while it waits.
	started, release := make(chan struct{}), make(chan struct{})
	blocker := text("room", "alice", "c1", "first")
	blocker.OnCommit = func(*storage.Batch, msglog.Entry) error {
		close(started)
		<-release
		return nil
	}
	firstDone := make(chan error, 1)
	go func() {
		_, _, err := l.Append(context.Background(), blocker)
		firstDone <- err
	}()
	<-started
	ctx, cancel = context.WithCancel(context.Background())
	waiting := make(chan error, 1)
	go func() {
		_, _, err := l.Append(ctx, text("room", "alice", "c2", "abandoned"))
		waiting <- err
	}()
	cancel()
	if err := <-waiting; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiting append: %v", err)
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatalf("blocked append: %v", err)
	}
	if all := readAll(t, l, "room"); len(all) != 1 || all[0].ClientMsgID != "c1" {
		t.Fatalf("stored %+v, want only c1", all)
	}
	if ok, err := db.Has([]byte(storage.PrefixChatDedup + "room/alice/c2")); ok || err != nil {
		t.Fatalf("abandoned draft left a dedup record (err %v)", err)
	}
}

func TestClose(t *testing.T) {
	db, l := openLog(t, t.TempDir(), msglog.Options{Shards: 2})
	// Senders keep appending while Close runs: each append either is
	// acked and stored, or fails with ErrClosed.
	var (
		mu    sync.Mutex
		acked = map[string]uint64{}
		wg    sync.WaitGroup
		first = make(chan struct{}, 8)
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				e, _, err := l.Append(context.Background(), text(fmt.Sprintf("conv-%d", w%3), fmt.Sprintf("u%d", w), fmt.Sprint(i), "x"))
				if errors.Is(err, msglog.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				acked[clientKey(e)] = e.Seq
				mu.Unlock()
				if i == 0 {
					first <- struct{}{}
				}
			}
		}()
	}
	for range 8 {
		<-first
	}
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, _, err := l.Append(context.Background(), text("conv-0", "late", "1", "x")); !errors.Is(err, msglog.ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if _, err := l.Read("conv-0", 1, 10); !errors.Is(err, msglog.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if _, err := l.ReadBefore("conv-0", 0, 10); !errors.Is(err, msglog.ErrClosed) {
		t.Fatalf("read before after close: %v", err)
	}
	if _, err := l.LastSeq("conv-0"); !errors.Is(err, msglog.ErrClosed) {
		t.Fatalf("last seq after close: %v", err)
	}
	if _, err := l.Get("conv-0", 1); !errors.Is(err, msglog.ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}

	// Everything acked is on disk, and nothing else: a draft the
	// committer took was committed and acked, not failed with ErrClosed.
	l2, err := msglog.Open(db, msglog.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer l2.Close()
	stored := 0
	for c := range 3 {
		for _, e := range readAll(t, l2, fmt.Sprintf("conv-%d", c)) {
			seq, ok := acked[clientKey(e)]
			if !ok || seq != e.Seq {
				t.Fatalf("%s stored at seq %d, acked at %d (acked: %v)", clientKey(e), e.Seq, seq, ok)
			}
			stored++
		}
	}
	if stored != len(acked) {
		t.Fatalf("%d of %d acked entries stored", stored, len(acked))
	}
}

// TestBodyBytesRoundTrip: what Append returns is what reads return, byte
// for byte, even for text full of characters JSON could escape.
func TestBodyBytesRoundTrip(t *testing.T) {
	db, l := openLog(t, t.TempDir(), msglog.Options{})
	defer closeAll(t, db, l)
	d := text("c1", "alice", "x1", "")
	d.Body = json.RawMessage(`{"text":"<b>Tom & Jerry</b>"}`)
	e, _ := mustAppend(t, l, d)
	got, err := l.Get("c1", e.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Body) != string(e.Body) || !strings.Contains(string(got.Body), "<b>Tom & Jerry</b>") {
		t.Fatalf("stored body %s, appended %s", got.Body, e.Body)
	}
}

// TestOnDurableInSeqOrder: the durable hook sees every new entry exactly
// once, in seq order per conversation, however many appenders race.
func TestOnDurableInSeqOrder(t *testing.T) {
	db, l := openLog(t, t.TempDir(), msglog.Options{Shards: 2})
	defer closeAll(t, db, l)
	var mu sync.Mutex
	seen := map[string][]uint64{}
	var badRaw error
	l.OnDurable(func(e msglog.Entry, raw []byte) {
		mu.Lock()
		defer mu.Unlock()
		seen[e.ConversationID] = append(seen[e.ConversationID], e.Seq)
		var back msglog.Entry
		if err := json.Unmarshal(raw, &back); err != nil || back.Seq != e.Seq || back.ConversationID != e.ConversationID ||
			!back.CreatedAt.Equal(e.CreatedAt) || string(back.Body) != string(e.Body) {
			badRaw = fmt.Errorf("raw %s does not decode to %+v (%v)", raw, e, err)
		}
	})
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				conv := fmt.Sprintf("c%d", i%3)
				mustAppend(t, l, text(conv, "s", fmt.Sprintf("w%d-%d", w, i), "x"))
			}
		}()
	}
	wg.Wait()
	mustAppend(t, l, text("c0", "s", "w0-0", "x")) // a resend is not reported again
	mu.Lock()
	defer mu.Unlock()
	if badRaw != nil {
		t.Fatal(badRaw)
	}
	total := 0
	for conv, seqs := range seen {
		for i, s := range seqs {
			if s != uint64(i+1) {
				t.Fatalf("%s reported %v: not 1..n in order", conv, seqs)
			}
		}
		total += len(seqs)
	}
	if total != 16*50 {
		t.Fatalf("reported %d entries, want %d", total, 16*50)
	}
}
