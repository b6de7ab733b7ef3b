package signaling

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"testing"

	"parley/chat/files"
	"parley/chat/messaging"
)

// fileTestLimit is chat.max_file_bytes in these tests, small so that the
// limit is cheap to pass.
const fileTestLimit = 4096

// newFileChat is newRESTChat with a small file size limit.
func newFileChat(t *testing.T, members ...string) *restChat {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	cfg.Chat.MaxFileBytes = fileTestLimit
	return newRESTChatWith(t, cfg, members...)
}

// group creates a group owned by owner over REST and returns its id.
func (c *restChat) group(owner string, members ...string) string {
	c.t.Helper()
	var sum messaging.Summary
	c.must(http.StatusCreated, owner, "POST", "/conversations", map[string]any{"name": "Files", "members": members}, &sum)
	return sum.Conversation.ID
}

// rawRequest sends body as is, with the headers given, as member.
func (c *restChat) rawRequest(member, method, path string, body io.Reader, headers map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+"/api/v1"+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if tok := c.tokens[member]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, raw
}

// upload posts content to convID's files as member, claiming contentType,
// and returns the status and raw answer.
func (c *restChat) upload(member, convID, name, contentType string, content io.Reader) (int, []byte) {
	c.t.Helper()
	resp, raw := c.rawRequest(member, "POST", "/conversations/"+convID+"/files?name="+url.QueryEscape(name), content, map[string]string{"Content-Type": contentType})
	return resp.StatusCode, raw
}

// mustUpload uploads and fails unless the answer is 201 with metadata.
func (c *restChat) mustUpload(member, convID, name, contentType string, content []byte) files.Meta {
	c.t.Helper()
	status, raw := c.upload(member, convID, name, contentType, bytes.NewReader(content))
	var m files.Meta
	if status != http.StatusCreated || json.Unmarshal(raw, &m) != nil {
		c.t.Fatalf("upload %s as %s: %d %s", name, member, status, raw)
	}
	return m
}

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// storedFiles lists the regular files under the data directory's files
// folder, finished or not.
func storedFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dataDir, "files"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFileUploadDownload: uploads sniff their type whatever the client
// claims, and downloads serve members only, with ranges and conditional
// requests.
func TestFileUploadDownload(t *testing.T) {
	c := newFileChat(t, "alice", "bob", "carol")
	g := c.group("alice", "bob")

	text := []byte("minutes of the planning meeting\nall agreed\n")
	doc := c.mustUpload("alice", g, "minutes.txt", "image/png", text)
	sum := sha256.Sum256(text)
	if doc.ContentType != "text/plain; charset=utf-8" || doc.Size != int64(len(text)) || doc.SHA256 != hex.EncodeToString(sum[:]) ||
		doc.Name != "minutes.txt" || doc.ConversationID != g || doc.OwnerID != "alice" || doc.Width != 0 {
		t.Fatalf("text upload %+v", doc)
	}
	// The name may come in Content-Disposition, RFC 2231-encoded.
	pic := testPNG(t, 20, 10)
	resp, raw := c.rawRequest("bob", "POST", "/conversations/"+g+"/files", bytes.NewReader(pic), map[string]string{
		"Content-Type":        "application/octet-stream",
		"Content-Disposition": `attachment; filename*=UTF-8''%E5%9B%BE.png`,
	})
	var img files.Meta
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &img) != nil {
		t.Fatalf("png upload: %d %s", resp.StatusCode, raw)
	}
	if img.ContentType != "image/png" || img.Width != 20 || img.Height != 10 || img.Name != "图.png" || img.OwnerID != "bob" {
		t.Fatalf("png upload %+v", img)
	}

	// Full download, as the other member.
	resp, body := c.rawRequest("bob", "GET", "/files/"+doc.ID, nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, text) {
		t.Fatalf("download: %d %q", resp.StatusCode, body)
	}
	etag := `"` + doc.SHA256 + `"`
	for header, want := range map[string]string{
		"Content-Type":           "text/plain; charset=utf-8",
		"Content-Disposition":    "attachment; filename=minutes.txt",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "private",
		"Etag":                   etag,
		"Accept-Ranges":          "bytes",
	} {
		if got := resp.Header.Get(header); got != want {
			t.Errorf("%s: %q, want %q", header, got, want)
		}
	}
	resp, body = c.rawRequest("alice", "GET", "/files/"+img.ID, nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, pic) || resp.Header.Get("Content-Type") != "image/png" ||
		resp.Header.Get("Content-Disposition") != "inline; filename*=utf-8''%E5%9B%BE.png" {
		t.Fatalf("image download: %d %v", resp.StatusCode, resp.Header)
	}

	// A range, and a range that still matches the ETag.
	resp, body = c.rawRequest("bob", "GET", "/files/"+doc.ID, nil, map[string]string{"Range": "bytes=3-9"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, text[3:10]) ||
		resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 3-9/%d", len(text)) {
		t.Fatalf("range: %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Range"))
	}
	resp, body = c.rawRequest("bob", "GET", "/files/"+doc.ID, nil, map[string]string{"Range": "bytes=-4", "If-Range": etag})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, text[len(text)-4:]) {
		t.Fatalf("suffix range with If-Range: %d %q", resp.StatusCode, body)
	}
	resp, body = c.rawRequest("bob", "GET", "/files/"+doc.ID, nil, map[string]string{"Range": "bytes=0-1", "If-Range": `"stale"`})
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, text) {
		t.Fatalf("If-Range with another ETag must send the whole file: %d %q", resp.StatusCode, body)
	}
	resp, body = c.rawRequest("bob", "GET", "/files/"+doc.ID, nil, map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("If-None-Match: %d %q", resp.StatusCode, body)
	}

	// Outsiders learn nothing: the same 404 as for an unknown id.
	for _, path := range []string{"/files/" + doc.ID, "/files/aaaaaaaaaaaaaaaaaaaaaaaaaa", "/files/..%2Fdb"} {
		c.refused(http.StatusNotFound, "not_found", "carol", "GET", path, nil)
	}
	c.refused(http.StatusNotFound, "not_member", "carol", "POST", "/conversations/"+g+"/files?name=x.txt", "hello")
	c.refused(http.StatusBadRequest, "invalid_argument", "alice", "POST", "/conversations/"+g+"/files", "no name")
	// Leaving the group ends access to its files.
	c.must(http.StatusNoContent, "bob", "DELETE", "/conversations/"+g+"/members/bob", nil, nil)
	c.refused(http.StatusNotFound, "not_found", "bob", "GET", "/files/"+doc.ID, nil)
}

// onlyReader hides bytes.Reader's Len, so the client cannot know the
// length and sends the body chunked.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestFileUploadTooLarge: a file over chat.max_file_bytes is 413
// too_large, whether the client announced its length or not, and nothing
// is left on disk.
func TestFileUploadTooLarge(t *testing.T) {
	c := newFileChat(t, "alice")
	g := c.group("alice")
	dataDir := c.srv.cfg.DataDir

	c.mustUpload("alice", g, "exact.bin", "application/octet-stream", make([]byte, fileTestLimit))
	big := make([]byte, fileTestLimit+1)
	for _, body := range []io.Reader{bytes.NewReader(big), onlyReader{bytes.NewReader(big)}} {
		status, raw := c.upload("alice", g, "big.bin", "application/octet-stream", body)
		if status != http.StatusRequestEntityTooLarge || errorCode(raw) != "too_large" {
			t.Fatalf("oversized upload (%T): %d %s", body, status, raw)
		}
	}
	if got := storedFiles(t, dataDir); len(got) != 1 {
		t.Fatalf("files on disk %v, want only the one within the limit", got)
	}
}

// TestFileMessagesREST: file and image messages sent over REST carry the
// upload's metadata in canonical form; an image message needs an image,
// and a file of another conversation cannot be sent.
func TestFileMessagesREST(t *testing.T) {
	c := newFileChat(t, "alice", "bob", "carol")
	g := c.group("alice", "bob")
	other := c.group("alice", "carol")

	img := c.mustUpload("alice", g, "chart.png", "image/jpeg", testPNG(t, 6, 4))
	doc := c.mustUpload("alice", g, "a&b.txt", "text/plain", []byte("plain & simple"))
	foreign := c.mustUpload("alice", other, "other.txt", "text/plain", []byte("elsewhere"))

	send := func(id, typ string, body map[string]string) (int, []byte) {
		return c.do("alice", "POST", "/conversations/"+g+"/messages", map[string]any{"client_msg_id": id, "type": typ, "body": body}, nil)
	}
	if status, raw := send("f1", "image", map[string]string{"file_id": img.ID, "caption": "Q3 <final>"}); status != http.StatusOK {
		t.Fatalf("image message: %d %s", status, raw)
	}
	if status, raw := send("f2", "file", map[string]string{"file_id": doc.ID}); status != http.StatusOK {
		t.Fatalf("file message: %d %s", status, raw)
	}
	for _, bad := range []struct {
		typ  string
		body map[string]string
	}{
		{"image", map[string]string{"file_id": doc.ID}},
		{"file", map[string]string{"file_id": foreign.ID}},
		{"file", map[string]string{"file_id": "nope"}},
	} {
		status, raw := send("bad", bad.typ, bad.body)
		if status != http.StatusBadRequest || errorCode(raw) != "invalid_argument" {
			t.Errorf("%s %v: %d %s, want 400 invalid_argument", bad.typ, bad.body, status, raw)
		}
	}

	var page struct {
		Entries []struct {
			Seq  uint64          `json:"seq"`
			Type string          `json:"type"`
			Body json.RawMessage `json:"body"`
		} `json:"entries"`
	}
	c.must(http.StatusOK, "bob", "GET", "/conversations/"+g+"/messages?from_seq=2", nil, &page)
	if len(page.Entries) != 2 {
		t.Fatalf("entries %+v, want the two file messages", page.Entries)
	}
	want := []struct{ typ, body string }{
		{"image", fmt.Sprintf(`{"file_id":%q,"name":"chart.png","size":%d,"content_type":"image/png","width":6,"height":4,"caption":"Q3 <final>"}`, img.ID, img.Size)},
		{"file", fmt.Sprintf(`{"file_id":%q,"name":"a&b.txt","size":14,"content_type":"text/plain; charset=utf-8"}`, doc.ID)},
	}
	for i, e := range page.Entries {
		var got, exp any
		if json.Unmarshal(e.Body, &got) != nil || json.Unmarshal([]byte(want[i].body), &exp) != nil {
			t.Fatalf("entry %d: undecodable body %s", e.Seq, e.Body)
		}
		// Compared as values: the log may store '<' and '&' escaped.
		if e.Type != want[i].typ || !reflect.DeepEqual(got, exp) {
			t.Errorf("entry %d: %s %s\nwant      %s %s", e.Seq, e.Type, e.Body, want[i].typ, want[i].body)
		}
	}
}
