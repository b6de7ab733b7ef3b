package signaling

import (
	"net/http"
	"strings"
	"testing"
)

// wiringOffer is a minimal OBS-shaped offer: Opus and H.264, sendonly,
// no candidates.
var wiringOffer = strings.ReplaceAll(`v=0
o=rtc 1 0 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=group:LS 0 1
a=msid-semantic:WMS *
a=setup:actpass
a=ice-ufrag:Qzn5
a=ice-pwd:Ph4v0l5hnAzxMj1rkGRCvE
a=fingerprint:sha-256 7A:3D:9C:1E:44:0B:6F:A2:5D:88:19:C3:E0:42:7B:91:0D:6E:A5:33:FC:28:94:1B:7E:C0:5A:66:D2:83:4F:19
m=audio 9 UDP/TLS/RTP/SAVPF 111
c=IN IP4 0.0.0.0
a=mid:0
a=sendonly
a=rtcp-mux
a=rtpmap:111 opus/48000/2
m=video 9 UDP/TLS/RTP/SAVPF 96
c=IN IP4 0.0.0.0
a=mid:1
a=sendonly
a=rtcp-mux
a=rtpmap:96 H264/90000
a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1
`, "\n", "\r\n")

// TestLiveMediaWiring follows the URLs a created live hands out: the
// encoder's WHIP URL takes the stream key, the WHEP URL answers 409
// until media arrives, and the replay list is served beside the live.
func TestLiveMediaWiring(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	admin := login(t, srv.URL, BootstrapAdminID, testAdminPassword).AccessToken
	var created struct {
		ID        string `json:"id"`
		StreamKey string `json:"stream_key"`
		WHIPURL   string `json:"whip_url"`
		WHEPURL   string `json:"whep_url"`
	}
	if status, raw := call(t, "POST", srv.URL+"/api/v1/lives", admin, map[string]string{"title": "Launch"}, &created); status != http.StatusCreated {
		t.Fatalf("create live: %d %s", status, raw)
	}
	post := func(url, token, body string) *http.Response {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/sdp")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post(created.WHIPURL, created.StreamKey, wiringOffer)
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(resp.Header.Get("Location"), "/whip/") {
		t.Fatalf("WHIP: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := post(created.WHEPURL, admin, wiringOffer); resp.StatusCode != http.StatusConflict || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("WHEP before media: %d %v", resp.StatusCode, resp.Header)
	}
	var list struct {
		Recordings []any `json:"recordings"`
	}
	if status, raw := call(t, "GET", srv.URL+"/api/v1/lives/"+created.ID+"/recordings", admin, nil, &list); status != http.StatusOK || list.Recordings == nil {
		t.Fatalf("recordings: %d %s", status, raw)
	}
	req, _ := http.NewRequest("DELETE", srv.URL+resp.Header.Get("Location"), nil)
	req.Header.Set("Authorization", "Bearer "+created.StreamKey)
	del, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	del.Body.Close()
	if del.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", del.StatusCode)
	}
}
