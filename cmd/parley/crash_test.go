package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// crashKills is how many times TestChatSurvivesKill9 kills the server:
// 5 by default, PARLEY_CRASH_KILLS for a longer soak.
func crashKills(t *testing.T) int {
	if s := os.Getenv("PARLEY_CRASH_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("PARLEY_CRASH_KILLS=%q", s)
		}
		return n
	}
	return 5
}

// crashSender is one device sending numbered messages and remembering what
// the server acknowledged.
type crashSender struct {
	name     string
	next     int
	acked    map[string]uint64 // client_msg_id -> seq
	inFlight string            // sent, not acknowledged when the server died
}

type frameMsg struct {
	Type string          `json:"type"`
	ID   string          `json:"id"`
	Data json.RawMessage `json:"data"`
}

// sendUntilDead sends messages one at a time until the connection breaks.
// A message whose ack never came stays in inFlight, to be resent.
func (s *crashSender) sendUntilDead(ctx context.Context, url, token, conv string, ackCount func()) {
	c, _, err := websocket.Dial(ctx, strings.Replace(url, "http", "ws", 1)+"/ws?access_token="+token, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	for {
		id := s.inFlight
		if id == "" {
			id = fmt.Sprintf("%s-%d", s.name, s.next)
			s.next++
			s.inFlight = id
		}
		req, _ := json.Marshal(map[string]any{"type": "chat.send", "id": id, "data": map[string]any{
			"conversation_id": conv, "client_msg_id": id, "type": "text", "body": map[string]string{"text": "crash " + id},
		}})
		if err := c.Write(ctx, websocket.MessageText, req); err != nil {
			return
		}
		// Every sender is a device of the same member, so pushed
		// chat.message frames arrive too; skip to the reply.
		var m frameMsg
		for m.ID != id {
			_, raw, err := c.Read(ctx)
			if err != nil {
				return
			}
			m = frameMsg{}
			json.Unmarshal(raw, &m)
		}
		if m.Type != "chat.ack" {
			return // an error reply (the server is shutting down): resend later
		}
		var ack struct {
			Seq       uint64 `json:"seq"`
			Duplicate bool   `json:"duplicate"`
		}
		json.Unmarshal(m.Data, &ack)
		if prev, ok := s.acked[id]; ok && prev != ack.Seq {
			panic(fmt.Sprintf("%s acked at seq %d, then at %d", id, prev, ack.Seq))
		}
		s.acked[id] = ack.Seq
		s.inFlight = ""
		ackCount()
	}
}

// TestChatSurvivesKill9 runs concurrent senders against a real parley
// process and kills it with SIGKILL at random moments. Every acknowledged
// message must be in the log exactly once at its acknowledged seq, the log
// gapless, and a message in flight at the kill, resent after the restart,
// stored exactly once.
func TestChatSurvivesKill9(t *testing.T) {
	dataDir := t.TempDir()
	env := []string{"PARLEY_ADMIN_PASSWORD=crash-admin-pw", "PARLEY_CHAT_SEND_PER_SECOND=100000", "PARLEY_CHAT_SEND_BURST=100000"}
	addr, cmd, _ := startProcess(t, dataDir, env...)
	url := "http://" + addr
	token := loginToken(t, url, "admin", "crash-admin-pw")
	postJSON(t, url+"/api/v1/members", token, `{"id":"peer","name":"Peer","departments":["1"]}`, 201, nil)
	var created struct {
		Conversation struct{ ID string } `json:"conversation"`
	}
	postJSON(t, url+"/api/v1/conversations", token, `{"name":"crash","members":["peer"]}`, 201, &created)
	conv := created.Conversation.ID

	senders := make([]*crashSender, 4)
	for i := range senders {
		senders[i] = &crashSender{name: fmt.Sprintf("w%d", i), acked: map[string]uint64{}}
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	kills := crashKills(t)
	for round := 0; round <= kills; round++ {
		var mu sync.Mutex
		acks := 0
		killAt := 30 + rng.IntN(200)
		killed := make(chan struct{})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var wg sync.WaitGroup
		for _, s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.sendUntilDead(ctx, url, token, conv, func() {
					mu.Lock()
					defer mu.Unlock()
					if acks++; acks == killAt && round < kills {
						close(killed)
					}
				})
			}()
		}
		if round < kills {
			select {
			case <-killed:
			case <-ctx.Done():
				t.Fatalf("round %d: only %d acks before the deadline", round, acks)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		} else {
			// The last round runs until every sender has resent what it
			// had in flight and sent a few more, then stops cleanly.
			deadline := time.Now().Add(20 * time.Second)
			for {
				mu.Lock()
				n := acks
				mu.Unlock()
				if n >= 40 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		}
		wg.Wait()
		cancel()
		addr, cmd, _ = startProcess(t, dataDir, env...)
		url = "http://" + addr
	}

	// Read the whole log back and check it.
	log := pullAll(t, url, token, conv)
	seqOf := map[string]uint64{}
	for i, e := range log {
		if e.Seq != uint64(i+1) {
			t.Fatalf("log has seq %d at position %d: a gap or reorder", e.Seq, i+1)
		}
		if e.ClientMsgID == "" {
			continue // the "created" entry
		}
		if prev, dup := seqOf[e.ClientMsgID]; dup {
			t.Fatalf("%s stored twice, at %d and %d", e.ClientMsgID, prev, e.Seq)
		}
		seqOf[e.ClientMsgID] = e.Seq
	}
	total := 0
	for _, s := range senders {
		for id, seq := range s.acked {
			if seqOf[id] != seq {
				t.Fatalf("%s was acked at seq %d but the log has it at %d", id, seq, seqOf[id])
			}
			total++
		}
		if s.inFlight != "" {
			// Still unacknowledged when the test stopped: stored at most
			// once, which the duplicate check above proved.
			continue
		}
	}
	t.Logf("%d kills, %d acknowledged messages, log of %d entries verified", kills, total, len(log))
}

type logEntry struct {
	Seq         uint64 `json:"seq"`
	ClientMsgID string `json:"client_msg_id"`
}

func pullAll(t *testing.T, url, token, conv string) []logEntry {
	t.Helper()
	var all []logEntry
	from := uint64(1)
	for {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/conversations/%s/messages?from_seq=%d&limit=1000", url, conv, from), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Entries []logEntry `json:"entries"`
		}
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("pull from %d: status %d", from, resp.StatusCode)
		}
		if len(page.Entries) == 0 {
			return all
		}
		all = append(all, page.Entries...)
		from = page.Entries[len(page.Entries)-1].Seq + 1
	}
}

func loginToken(t *testing.T, url, user, password string) string {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	postJSON(t, url+"/api/v1/auth/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, user, password), 200, &tok)
	return tok.AccessToken
}

func postJSON(t *testing.T, url, token, body string, want int, out any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		var e json.RawMessage
		json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("POST %s: %d %s, want %d", url, resp.StatusCode, e, want)
	}
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
}
