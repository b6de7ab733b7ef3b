package messaging_test

import (
	"encoding/json"
	"testing"
	"time"

	"parley/chat/conversation"
	"parley/chat/files"
	"parley/chat/messaging"
	"parley/chat/msglog"
)

// ClientLimits reports the limits the service and its stores run with,
// the configured ones included, under the documented JSON names.
func TestClientLimits(t *testing.T) {
	l := testLimits()
	l.MaxTextBytes = 1000
	l.RecallWindow = 90 * time.Minute
	l.UrgentInterval, l.UrgentMaxRepeats = 90*time.Second, 4
	h := startHarness(t, l, nil, true)
	got := h.svc.ClientLimits()
	want := messaging.ClientLimits{
		MaxTextBytes: 1000, MaxFileBytes: files.DefaultMaxBytes, MaxFileNameBytes: files.MaxNameBytes,
		MaxGroupMembers: conversation.DefaultMaxGroupMembers, MaxMentions: messaging.MaxMentions,
		MaxForwardItems: messaging.MaxForwardItems, MaxClientMsgIDBytes: msglog.MaxClientMsgIDBytes,
		RecallWindowSeconds: 5400, MaxGroupNameChars: conversation.MaxNameRunes,
		MaxAnnouncementChars: conversation.MaxAnnouncementRunes, MaxWelcomeMessageChars: conversation.MaxWelcomeMessageRunes,
		UrgentIntervalMinutes: 2, UrgentMaxRepeats: 4,
	}
	if got != want {
		t.Fatalf("limits %+v\nwant   %+v", got, want)
	}
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]float64
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	if fields["recall_window_seconds"] != 5400 || fields["max_text_bytes"] != 1000 || len(fields) != 13 {
		t.Fatalf("limits encode as %s", raw)
	}

	// A server without a file store takes no files.
	if got := newHarness(t, messaging.Limits{}, nil).svc.ClientLimits(); got.MaxFileBytes != 0 || got.RecallWindowSeconds != 24*3600 {
		t.Fatalf("limits without files %+v, want max_file_bytes 0 and the default window", got)
	}
}
