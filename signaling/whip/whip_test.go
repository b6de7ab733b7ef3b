package whip_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"parley/sfu/live"
	"parley/signaling/auth"
)

// obsOffer is an offer as OBS 30.2+ (libdatachannel) sends it: Opus on
// PT 111 and H.264 on PT 96 as 42e01f, both sendonly, a=group:LS, the
// ICE credentials at session level, and no candidates.
var obsOffer = strings.ReplaceAll(`v=0
o=rtc 1844672321 0 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=group:LS 0 1
a=msid-semantic:WMS *
a=setup:actpass
a=ice-ufrag:Qzn5
a=ice-pwd:Ph4v0l5hnAzxMj1rkGRCvE
a=ice-options:ice2,trickle
a=fingerprint:sha-256 7A:3D:9C:1E:44:0B:6F:A2:5D:88:19:C3:E0:42:7B:91:0D:6E:A5:33:FC:28:94:1B:7E:C0:5A:66:D2:83:4F:19
m=audio 9 UDP/TLS/RTP/SAVPF 111
c=IN IP4 0.0.0.0
a=mid:0
a=sendonly
a=ssrc:3461946341 cname:obs-cname
a=ssrc:3461946341 msid:obs obs-audio
a=msid:obs obs-audio
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1
m=video 9 UDP/TLS/RTP/SAVPF 96
c=IN IP4 0.0.0.0
a=mid:1
a=sendonly
a=ssrc:2165043906 cname:obs-cname
a=ssrc:2165043906 msid:obs obs-video
a=msid:obs obs-video
a=rtcp-mux
a=rtpmap:96 H264/90000
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1
`, "\n", "\r\n")

// sdpType is the Content-Type of an offer.
const sdpType = "application/sdp"

func TestWHIPCreate(t *testing.T) {
	e := newEnv(t, envOptions{})
	l, key := e.newLive(live.Scope{})

	t.Run("options answers CORS", func(t *testing.T) {
		resp := e.do("OPTIONS", "/whip", "", "Origin", "https://studio.example", "Access-Control-Request-Method", "POST")
		wantStatus(t, resp, http.StatusNoContent)
		h := resp.Header
		if h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Location") || h.Get("Accept-Post") != sdpType {
			t.Fatalf("preflight headers: %v", h)
		}
	})

	t.Run("missing key is 401", func(t *testing.T) {
		resp := e.do("POST", "/whip", obsOffer, "Content-Type", sdpType)
		body := wantStatus(t, resp, http.StatusUnauthorized)
		if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("no Bearer challenge: %v", resp.Header)
		}
		if code, _ := errorCode(t, body); code != "unauthenticated" {
			t.Fatalf("code %q", code)
		}
	})

	t.Run("wrong key is 401", func(t *testing.T) {
		other := live.StreamKeyPrefix + strings.Repeat("A", len(key)-len(live.StreamKeyPrefix))
		for _, k := range []string{other, "not-a-key", key + "x"} {
			wantStatus(t, e.do("POST", "/whip", obsOffer, "Content-Type", sdpType, "Authorization", "Bearer "+k), http.StatusUnauthorized)
		}
	})

	t.Run("wrong content type is 415", func(t *testing.T) {
		wantStatus(t, e.do("POST", "/whip", obsOffer, "Content-Type", "application/json", "Authorization", "Bearer "+key),
			http.StatusUnsupportedMediaType)
	})

	t.Run("malformed offer is 400", func(t *testing.T) {
		wantStatus(t, e.do("POST", "/whip", "v=0\r\nthis is not SDP", "Content-Type", sdpType, "Authorization", "Bearer "+key),
			http.StatusBadRequest)
	})

	t.Run("oversized offer is 413", func(t *testing.T) {
		big := obsOffer + strings.Repeat("a=x-padding:"+strings.Repeat("p", 1000)+"\r\n", 70)
		wantStatus(t, e.do("POST", "/whip", big, "Content-Type", sdpType, "Authorization", "Bearer "+key),
			http.StatusRequestEntityTooLarge)
	})

	t.Run("no usable codec is 422 naming the accepted ones", func(t *testing.T) {
		vp7 := strings.NewReplacer("opus/48000/2", "speex/48000", "H264/90000", "VP7/90000").Replace(obsOffer)
		body := wantStatus(t, e.do("POST", "/whip", vp7, "Content-Type", sdpType, "Authorization", "Bearer "+key),
			http.StatusUnprocessableEntity)
		code, msg := errorCode(t, body)
		if code != "unsupported_codec" || !strings.Contains(msg, "video/H264") || !strings.Contains(msg, "audio/opus") {
			t.Fatalf("422 body %s", body)
		}
	})

	t.Run("two video tracks is 422", func(t *testing.T) {
		twice := obsOffer + strings.ReplaceAll(obsOffer[strings.Index(obsOffer, "m=video"):], "a=mid:1", "a=mid:2")
		wantStatus(t, e.do("POST", "/whip", twice, "Content-Type", sdpType, "Authorization", "Bearer "+key),
			http.StatusUnprocessableEntity)
	})

	t.Run("OBS offer gets exactly 201 with everything OBS needs", func(t *testing.T) {
		// Lower-case header names and bearer scheme, as some clients send.
		resp := e.do("POST", "/whip", obsOffer, "content-type", "application/sdp", "authorization", "bearer "+key)
		answer := wantStatus(t, resp, http.StatusCreated)
		h := resp.Header
		if h.Get("Content-Type") != sdpType || !strings.HasPrefix(h.Get("Location"), "/whip/") ||
			len(h.Get("ETag")) < 3 || !strings.HasPrefix(h.Get("ETag"), `"`) {
			t.Fatalf("headers %v", h)
		}
		links := h.Values("Link")
		wantLinks := []string{
			`<` + testSTUN + `>; rel="ice-server"`,
			`<` + testTURN + `>; rel="ice-server"; username="` + testTURNUser + `"; credential="` + testTURNPass + `"; credential-type="password"`,
		}
		if !slices.Equal(links, wantLinks) {
			t.Fatalf("Link headers %q, want %q", links, wantLinks)
		}
		for _, want := range []string{"a=candidate:", "a=end-of-candidates", "a=rtpmap:111 opus/48000/2", "a=rtpmap:96 H264/90000",
			"a=recvonly", "a=ice-ufrag:", "a=fingerprint:"} {
			if !strings.Contains(answer, want) {
				t.Fatalf("answer lacks %q:\n%s", want, answer)
			}
		}
		got, err := e.lv.Get(l.ID)
		if err != nil || got.Status != live.StatusScheduled {
			t.Fatalf("live before media: %+v, %v (want scheduled until media arrives)", got.Status, err)
		}
	})
}

func TestWHIPSessionResource(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, key := e.newLive(live.Scope{})
	_, otherKey := e.newLive(live.Scope{})
	post := func() (string, string) {
		resp := e.do("POST", "/whip", obsOffer, "Content-Type", sdpType, "Authorization", "Bearer "+key)
		wantStatus(t, resp, http.StatusCreated)
		return resp.Header.Get("Location"), resp.Header.Get("ETag")
	}
	loc, etag := post()
	frag := "a=ice-ufrag:Qzn5\r\na=ice-pwd:Ph4v0l5hnAzxMj1rkGRCvE\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\na=end-of-candidates\r\n"
	fragType := "application/trickle-ice-sdpfrag"
	auth := "Bearer " + key

	t.Run("options on the resource", func(t *testing.T) {
		resp := e.do("OPTIONS", loc, "")
		wantStatus(t, resp, http.StatusNoContent)
		if resp.Header.Get("Accept-Patch") != fragType || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "DELETE") {
			t.Fatalf("headers %v", resp.Header)
		}
	})
	t.Run("patch without If-Match is 428", func(t *testing.T) {
		wantStatus(t, e.do("PATCH", loc, frag, "Content-Type", fragType, "Authorization", auth), http.StatusPreconditionRequired)
	})
	t.Run("patch with a stale ETag is 412", func(t *testing.T) {
		wantStatus(t, e.do("PATCH", loc, frag, "Content-Type", fragType, "Authorization", auth, "If-Match", `"stale"`),
			http.StatusPreconditionFailed)
	})
	t.Run("patch of another type is 415", func(t *testing.T) {
		wantStatus(t, e.do("PATCH", loc, frag, "Content-Type", "application/sdp", "Authorization", auth, "If-Match", etag),
			http.StatusUnsupportedMediaType)
	})
	t.Run("patch with another live's key is 401", func(t *testing.T) {
		wantStatus(t, e.do("PATCH", loc, frag, "Content-Type", fragType, "Authorization", "Bearer "+otherKey, "If-Match", etag),
			http.StatusUnauthorized)
	})
	t.Run("trickle is 204", func(t *testing.T) {
		wantStatus(t, e.do("PATCH", loc, frag, "content-type", fragType, "authorization", auth, "if-match", etag), http.StatusNoContent)
	})
	t.Run("trickle for another ICE session is 422", func(t *testing.T) {
		other := strings.Replace(frag, "Qzn5", "Zzzz", 1)
		wantStatus(t, e.do("PATCH", loc, other, "Content-Type", fragType, "Authorization", auth, "If-Match", etag),
			http.StatusUnprocessableEntity)
	})
	t.Run("ICE restart is 200 with new credentials and ETag", func(t *testing.T) {
		restart := "a=ice-ufrag:N3wU\r\na=ice-pwd:NewPasswordNewPassword1\r\n"
		resp := e.do("PATCH", loc, restart, "Content-Type", fragType, "Authorization", auth, "If-Match", "*")
		body := wantStatus(t, resp, http.StatusOK)
		newTag := resp.Header.Get("ETag")
		if resp.Header.Get("Content-Type") != fragType || newTag == "" || newTag == etag {
			t.Fatalf("restart headers %v (old ETag %s)", resp.Header, etag)
		}
		if !strings.Contains(body, "a=ice-ufrag:") || !strings.Contains(body, "a=ice-pwd:") || !strings.Contains(body, "a=candidate:") {
			t.Fatalf("restart body:\n%s", body)
		}
		// The old ETag is stale now, the new one good for trickling.
		wantStatus(t, e.do("PATCH", loc, frag, "Content-Type", fragType, "Authorization", auth, "If-Match", etag),
			http.StatusPreconditionFailed)
		newFrag := strings.NewReplacer("Qzn5", "N3wU", "Ph4v0l5hnAzxMj1rkGRCvE", "NewPasswordNewPassword1").Replace(frag)
		wantStatus(t, e.do("PATCH", loc, newFrag, "Content-Type", fragType, "Authorization", auth, "If-Match", newTag),
			http.StatusNoContent)
	})
	t.Run("unknown resource is 404", func(t *testing.T) {
		wantStatus(t, e.do("DELETE", "/whip/NOSUCHRESOURCE", "", "Authorization", auth), http.StatusNotFound)
		wantStatus(t, e.do("PATCH", "/whip/NOSUCHRESOURCE", frag, "Content-Type", fragType, "Authorization", auth, "If-Match", etag),
			http.StatusNotFound)
	})
	t.Run("delete needs the key", func(t *testing.T) {
		wantStatus(t, e.do("DELETE", loc, ""), http.StatusUnauthorized)
		wantStatus(t, e.do("DELETE", loc, "", "Authorization", "Bearer "+otherKey), http.StatusUnauthorized)
	})
	t.Run("a second POST with the key replaces the session", func(t *testing.T) {
		loc2, _ := post()
		if loc2 == loc {
			t.Fatal("the new session has the old Location")
		}
		wantStatus(t, e.do("DELETE", loc, "", "Authorization", auth), http.StatusNotFound)
		loc = loc2
	})
	t.Run("delete is 200, then the resource is gone", func(t *testing.T) {
		wantStatus(t, e.do("DELETE", loc, "", "Authorization", auth), http.StatusOK)
		wantStatus(t, e.do("DELETE", loc, "", "Authorization", auth), http.StatusNotFound)
	})
}

func TestWHIPBrowserPublishing(t *testing.T) {
	e := newEnv(t, envOptions{})
	l, _ := e.newLive(live.Scope{})
	post := func(token, query string) *http.Response {
		return e.do("POST", "/whip"+query, obsOffer, "Content-Type", sdpType, "Authorization", "Bearer "+token)
	}
	wantStatus(t, post(e.token("alice"), ""), http.StatusBadRequest)
	wantStatus(t, post(e.token("alice"), "?live=NOSUCHLIVE"), http.StatusNotFound)
	wantStatus(t, post(e.token("bob"), "?live="+l.ID), http.StatusForbidden)
	guest, err := e.auth.IssueGuest(auth.TokenScope{Kind: auth.ScopeKindLive, ID: l.ID}, "Viewer")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, post(guest.AccessToken, "?live="+l.ID), http.StatusUnauthorized)
	resp := post(e.token("alice"), "?live="+l.ID)
	wantStatus(t, resp, http.StatusCreated)
	// The host's token also ends the session.
	wantStatus(t, e.do("DELETE", resp.Header.Get("Location"), "", "Authorization", "Bearer "+e.token("alice")), http.StatusOK)
}

func TestWHEPAccess(t *testing.T) {
	e := newEnv(t, envOptions{})
	internal, _ := e.newLive(live.Scope{})
	scoped, _ := e.newLive(live.Scope{Kind: live.ScopeInternal, Departments: []string{"sales"}})
	external, _ := e.newLive(live.Scope{Kind: live.ScopeExternal})
	secret, _ := e.newLive(live.Scope{Kind: live.ScopeExternal, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"})
	post := func(liveID, token string) *http.Response {
		hdr := []string{"Content-Type", sdpType}
		if token != "" {
			hdr = append(hdr, "Authorization", "Bearer "+token)
		}
		return e.do("POST", "/whep/"+liveID, obsOffer, hdr...)
	}
	viewerToken := func(liveID string) string {
		g, err := e.auth.IssueGuest(auth.TokenScope{Kind: auth.ScopeKindLive, ID: liveID}, "Outside Viewer")
		if err != nil {
			t.Fatal(err)
		}
		return g.AccessToken
	}

	resp := e.do("OPTIONS", "/whep/"+internal.ID, "")
	wantStatus(t, resp, http.StatusNoContent)
	if resp.Header.Get("Accept-Post") != sdpType || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight headers %v", resp.Header)
	}
	wantStatus(t, post("NOSUCHLIVE", e.token("bob")), http.StatusNotFound)
	wantStatus(t, post(internal.ID, ""), http.StatusUnauthorized)
	wantStatus(t, post(internal.ID, "garbage"), http.StatusUnauthorized)
	wantStatus(t, post(internal.ID, viewerToken(internal.ID)), http.StatusNotFound) // viewer tokens are for external lives
	wantStatus(t, post(scoped.ID, e.token("carol")), http.StatusNotFound)           // out of scope looks like no live
	wantStatus(t, post(external.ID, e.token("carol")), http.StatusNotFound)
	wantStatus(t, post(external.ID, viewerToken(internal.ID)), http.StatusUnauthorized)
	wantStatus(t, post(external.ID, "wrong-link-token"), http.StatusUnauthorized)
	wantStatus(t, post(secret.ID, secret.LinkToken), http.StatusUnauthorized) // a password asks for a viewer token
	wantStatus(t, e.do("POST", "/whep/"+internal.ID, obsOffer, "Content-Type", "text/plain", "Authorization", "Bearer "+e.token("bob")),
		http.StatusUnsupportedMediaType)

	// Everyone allowed in gets 409 with Retry-After while nothing is on air.
	for _, c := range []struct{ live, token string }{
		{internal.ID, e.token("bob")},
		{scoped.ID, e.token("alice")}, // the host
		{external.ID, external.LinkToken},
		{external.ID, viewerToken(external.ID)},
		{secret.ID, viewerToken(secret.ID)},
	} {
		resp := post(c.live, c.token)
		body := wantStatus(t, resp, http.StatusConflict)
		if code, _ := errorCode(t, body); code != "not_on_air" || resp.Header.Get("Retry-After") != "5" {
			t.Fatalf("409 without Retry-After or code: %v %s", resp.Header, body)
		}
	}
	// A player that cannot set headers puts the link token in the URL.
	wantStatus(t, e.do("POST", "/whep/"+external.ID+"?t="+external.LinkToken, obsOffer, "Content-Type", sdpType), http.StatusConflict)
}

func TestWHIPCapacity(t *testing.T) {
	e := newEnv(t, envOptions{maxBroadcasts: 1})
	_, key1 := e.newLive(live.Scope{})
	_, key2 := e.newLive(live.Scope{})
	wantStatus(t, e.do("POST", "/whip", obsOffer, "Content-Type", sdpType, "Authorization", "Bearer "+key1), http.StatusCreated)
	// The same live may always replace its own session.
	wantStatus(t, e.do("POST", "/whip", obsOffer, "Content-Type", sdpType, "Authorization", "Bearer "+key1), http.StatusCreated)
	resp := e.do("POST", "/whip", obsOffer, "Content-Type", sdpType, "Authorization", "Bearer "+key2)
	body := wantStatus(t, resp, http.StatusServiceUnavailable)
	if code, _ := errorCode(t, body); code != "capacity" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("503 %v %s", resp.Header, body)
	}
}

// BenchmarkWHIPAnswer measures a WHIP POST with OBS's offer, from the
// request to the 201 with every server candidate, then its DELETE. OBS
// gives up on an answer after 8 s.
func BenchmarkWHIPAnswer(b *testing.B) {
	e := newEnv(b, envOptions{})
	_, key := e.newLive(live.Scope{})
	for b.Loop() {
		resp := e.do("POST", "/whip", obsOffer, "Content-Type", sdpType, "Authorization", "Bearer "+key)
		wantStatus(b, resp, http.StatusCreated)
		wantStatus(b, e.do("DELETE", resp.Header.Get("Location"), "", "Authorization", "Bearer "+key), http.StatusOK)
	}
}
