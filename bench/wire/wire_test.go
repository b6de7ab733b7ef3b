package wire

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

func TestAppendChatSendIsTheDocumentedRequest(t *testing.T) {
	frame := AppendChatSend(nil, 42, "d_abc", []byte("m7-1"), []byte("0000000000001234 xxx"))
	var got struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data struct {
			ConversationID string `json:"conversation_id"`
			ClientMsgID    string `json:"client_msg_id"`
			Type           string `json:"type"`
			Body           map[string]string
		} `json:"data"`
	}
	if err := json.Unmarshal(frame, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, frame)
	}
	if got.Type != TypeChatSend || got.ID != "42" || got.Data.ConversationID != "d_abc" ||
		got.Data.ClientMsgID != "m7-1" || got.Data.Type != "text" || got.Data.Body["text"] != "0000000000001234 xxx" {
		t.Fatalf("decoded %+v", got)
	}
}

func TestDecodeInboundReadsAChatMessage(t *testing.T) {
	msg := []byte(`{"type":"chat.message","data":{"conversation_id":"g_1","seq":8,"sender_id":"bob","client_msg_id":"b-19","type":"text","body":{"text":"on my way"},"created_at":"2026-03-02T06:40:02.511Z"}}`)
	var in Inbound
	if err := DecodeInbound(msg, &in); err != nil {
		t.Fatal(err)
	}
	if string(in.Type) != TypeChatMessage || string(in.Data.ConversationID) != "g_1" || in.Data.Seq != 8 ||
		string(in.Data.SenderID) != "bob" || string(in.Data.Text) != "on my way" {
		t.Fatalf("decoded %+v", in)
	}
	// Another field order, as any JSON encoder may write it, still works.
	if err := DecodeInbound([]byte(`{"id":"3","data":{"seq":4}, "type":"chat.ack"}`), &in); err != nil ||
		string(in.Type) != TypeChatAck || string(in.ID) != "3" || in.Data.Seq != 4 {
		t.Fatalf("reordered ack: %v %+v", err, in)
	}
	// A system entry's body has no text and other fields; they are ignored.
	sys := []byte(`{"type":"chat.message","data":{"conversation_id":"g_1","seq":2,"sender_id":"alice","type":"system","body":{"event":"joined","members":["carol"]}}}`)
	if err := DecodeInbound(sys, &in); err != nil || string(in.Data.Type) != "system" || in.Data.Text != nil {
		t.Fatalf("system entry: %v %+v", err, in)
	}
}

func TestDialerSpreadsLoopbackSources(t *testing.T) {
	var mu sync.Mutex
	sources := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		sources[host] = true
		mu.Unlock()
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()

	d, err := NewDialer(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !d.SpreadsSources() {
		t.Fatalf("%s is loopback, but the dialer does not spread sources", srv.URL)
	}
	for range 3 {
		c, err := d.Dial(context.Background(), "tok")
		if err != nil {
			t.Fatal(err)
		}
		c.CloseNow()
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		if !sources[want] {
			t.Errorf("no connection from %s; got %v", want, sources)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "localhost": true, "127.1.2.3": true,
		"::1": false, "10.0.0.1": false, "example.com": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
