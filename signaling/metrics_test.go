package signaling

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/sfu/mediatest"
	"parley/sfu/rtc"
)

// scrape reads /metrics into a map from series (the name and its labels
// as the text format writes them, such as
// `parley_meeting_participants{state="joined"}`) to value.
func scrape(t *testing.T, baseURL string) map[string]float64 {
	t.Helper()
	status, raw := call(t, "GET", baseURL+"/metrics", "", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d %s", status, raw)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("/metrics line %q does not parse", line)
		}
		out[line[:i]] = v
	}
	return out
}

// wantSeries checks that every series given exists, with the value given
// when it is not negative.
func wantSeries(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for series, v := range want {
		have, ok := got[series]
		switch {
		case !ok:
			t.Errorf("/metrics lacks %s", series)
		case v >= 0 && have != v:
			t.Errorf("%s = %v, want %v", series, have, v)
		}
	}
}

// waitMetric scrapes until cond holds for the series' value, or fails
// after 10 seconds.
func waitMetric(t *testing.T, baseURL, series string, cond func(float64) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := scrape(t, baseURL)
		if cond(m[series]) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v after 10s", series, m[series])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A chat send between two members over the WebSocket moves the chat and
// WebSocket series by exactly what happened, and a refused send is
// counted by its reason.
func TestMetricsCountChat(t *testing.T) {
	f := newChatFixture(t)
	alice, bob := f.device(t, "alice"), f.device(t, "bob")
	const (
		stored   = `parley_chat_messages_stored_total{kind="group",type="text"}`
		requests = `parley_ws_requests_total{type="chat.send"}`
		tooLarge = `parley_chat_send_refusals_total{reason="too_large"}`
		wsError  = `parley_ws_request_errors_total{code="too_large",type="chat.send"}`
	)
	before := scrape(t, f.srv.URL)
	wantSeries(t, before, map[string]float64{
		stored: 0, requests: 0, tooLarge: 0,
		`parley_chat_messages_stored_total{kind="group",type="system"}`: 1, // the group's creation
		`parley_chat_online_members`:                                    2,
		`parley_chat_subscribed_conversations`:                          1,
		`parley_chat_dispatch_backlog`:                                  -1,
		`parley_chat_bus_published_total`:                               -1,
		`parley_chat_bus_received_total`:                                -1,
		`parley_chat_bus_inbox_elsewhere_total`:                         0,
		`parley_chat_bus_publish_errors_total`:                          0,
		`parley_chat_deliveries_total`:                                  -1,
		`parley_ws_slow_closes_total`:                                   0,
		`parley_chat_log_commit_failures_total`:                         0,
		`parley_chat_log_dedup_load_errors_total`:                       0,
		`parley_ws_requests_total{type="ping"}`:                         2, // each device's first
	})

	const n = 5
	for i := range n {
		if typ := alice.call("chat.send", textSend(f.group, "m-"+strconv.Itoa(i), "hello"), nil); typ != "chat.ack" {
			t.Fatalf("send answered %s", typ)
		}
	}
	bob.waitPushed("chat.message", n, 10*time.Second)
	alice.waitPushed("chat.message", n, 10*time.Second)
	if typ := alice.call("chat.send", textSend(f.group, "big", strings.Repeat("x", 16<<10+1)), nil); typ != "error" {
		t.Fatalf("an oversized send answered %s", typ)
	}

	after := scrape(t, f.srv.URL)
	// The first send looks its id up on disk; it pays for loading the
	// conversation's known ids, which spare the later sends theirs.
	if got := after[`parley_chat_log_dedup_lookups_total`] - before[`parley_chat_log_dedup_lookups_total`]; got < 1 || got >= n {
		t.Errorf("%v dedup lookups for %d new sends, want at least 1 and fewer than %d", got, n, n)
	}
	for series, delta := range map[string]float64{stored: n, requests: n + 1, tooLarge: 1, wsError: 1, `parley_chat_log_entries_total`: n} {
		if got := after[series] - before[series]; got != delta {
			t.Errorf("%s went up by %v, want %v", series, got, delta)
		}
	}
	// Each entry is published once and handed to both devices.
	for series, atLeast := range map[string]float64{
		`parley_chat_bus_published_total`: n, `parley_chat_bus_received_total`: n, `parley_chat_deliveries_total`: 2 * n,
	} {
		if got := after[series] - before[series]; got < atLeast {
			t.Errorf("%s went up by %v, want at least %v", series, got, atLeast)
		}
	}
}

// The meeting and live series exist on an idle node and follow a
// meeting with a publisher and a live whose encoder connects.
func TestMetricsFollowMeetingsAndLives(t *testing.T) {
	_, h264, opus := clipsToRecord(t)
	f := newRecordingFixture(t, nil)
	url := f.srv.URL
	idle := map[string]float64{
		`parley_meeting_rooms`: 0, `parley_meeting_participants{state="joined"}`: 0,
		`parley_meeting_participants{state="reconnecting"}`: 0, `parley_meeting_participants{state="waiting"}`: 0,
		`parley_meeting_published_tracks{kind="audio"}`: 0, `parley_meeting_published_tracks{kind="video"}`: 0,
		`parley_meeting_subscriptions`: 0, `parley_meeting_recordings`: 0, `parley_meeting_ingest_bytes_per_second`: 0,
		`parley_meeting_event_queue_overflows_total`: 0, `parley_live_broadcasts`: 0, `parley_live_broadcasts_on_air`: 0,
		`parley_live_viewers{protocol="whep"}`: 0, `parley_live_viewers{protocol="websocket"}`: 0,
		`parley_live_recordings`: 0, `parley_live_ingest_bytes_per_second`: 0,
		`parley_media_forward_latency_seconds_count{service="meeting"}`: 0,
		`parley_media_forward_latency_seconds_count{service="live"}`:    0,
	}
	for _, side := range []string{"meeting", "live"} {
		for _, c := range []string{"forwarded_packets", "forwarded_bytes", "retransmitted_packets", "nack_misses", "queue_dropped_packets", "keyframe_requests"} {
			idle["parley_"+side+"_"+c+"_total"] = 0
		}
	}
	wantSeries(t, scrape(t, url), idle)

	// Alice joins and publishes a camera and a microphone.
	alice := f.join(t, "alice")
	tracks := cameraAndMic("alice", h264Baseline)
	alice.publish(t, tracks, map[rtc.Source]mediatest.Clip{rtc.SourceCamera: h264, rtc.SourceMicrophone: opus})
	for src, tr := range tracks {
		clip := opus
		if src == rtc.SourceCamera {
			clip = h264
		}
		t.Cleanup(mediatest.PlayUntil(tr, clip))
	}
	// The two tracks' media may arrive in either order.
	waitMetric(t, url, `parley_meeting_published_tracks{kind="video"}`, func(v float64) bool { return v == 1 })
	m := waitMetric(t, url, `parley_meeting_published_tracks{kind="audio"}`, func(v float64) bool { return v == 1 })
	wantSeries(t, m, map[string]float64{
		`parley_meeting_rooms`: 1, `parley_meeting_participants{state="joined"}`: 1,
		`parley_meeting_published_tracks{kind="video"}`: 1, `parley_meeting_subscriptions`: 0,
		`parley_http_requests_total{code="201",route="POST /api/v1/meetings"}`: 1,
	})
	waitMetric(t, url, `parley_meeting_ingest_bytes_per_second`, func(v float64) bool { return v > 0 })
	if typ := alice.ws.call("meeting.leave", nil, nil); typ != "meeting.ok" {
		t.Fatalf("meeting.leave answered %s", typ)
	}
	waitMetric(t, url, `parley_meeting_rooms`, func(v float64) bool { return v == 0 })

	// A live's encoder connects over WHIP (sending nothing yet): the
	// broadcast exists, recording, not on air; WHIP is counted by the
	// HTTP series.
	admin := login(t, url, BootstrapAdminID, testAdminPassword).AccessToken
	var created struct {
		ID        string `json:"id"`
		StreamKey string `json:"stream_key"`
		WHIPURL   string `json:"whip_url"`
	}
	if status, raw := call(t, "POST", url+"/api/v1/lives", admin, map[string]string{"title": "Launch"}, &created); status != http.StatusCreated {
		t.Fatalf("create live: %d %s", status, raw)
	}
	req, _ := http.NewRequest("POST", created.WHIPURL, strings.NewReader(wiringOffer))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+created.StreamKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("WHIP: %d", resp.StatusCode)
	}
	wantSeries(t, scrape(t, url), map[string]float64{
		`parley_live_broadcasts`: 1, `parley_live_broadcasts_on_air`: 0, `parley_live_recordings`: 1,
		`parley_http_requests_total{code="201",route="POST /whip"}`: 1,
	})
}
