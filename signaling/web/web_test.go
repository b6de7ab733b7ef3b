package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func newHandler(t *testing.T) *Handler {
	t.Helper()
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestIndexIsServedWithPolicyAndRevalidation(t *testing.T) {
	h := newHandler(t)
	rec := get(t, h, "GET", "/", nil)
	if rec.Code != 200 {
		t.Fatalf("GET /: %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Fatalf("index Cache-Control %q, want no-cache so a new build is picked up", cc)
	}
	if got := rec.Header().Get("Content-Security-Policy"); got != ContentSecurityPolicy {
		t.Fatalf("CSP %q", got)
	}
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe-") {
		t.Errorf("CSP allows something unsafe: %s", ContentSecurityPolicy)
	}
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}
	body := rec.Body.String()
	if strings.Contains(body, versionPlaceholder) {
		t.Fatal("index.html still holds the version placeholder")
	}
	if !strings.Contains(body, `src="/assets/`+h.Version()+`/app.js"`) {
		t.Fatalf("index.html does not load the versioned app.js:\n%s", body)
	}

	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on index.html")
	}
	again := get(t, h, "GET", "/", http.Header{"If-None-Match": {etag}})
	if again.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", again.Code)
	}
}

// The page's HTML must carry no inline script or style: the CSP would
// block them, and the app would break only in the browser.
func TestIndexHasNoInlineCode(t *testing.T) {
	h := newHandler(t)
	body := get(t, h, "GET", "/", nil).Body.String()
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), // a script element with content
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
	} {
		if m := re.FindString(body); m != "" {
			t.Errorf("index.html has inline code %q", m)
		}
	}
}

func TestAssetsAreVersionedAndTyped(t *testing.T) {
	h := newHandler(t)
	cases := map[string]string{
		"app.js":            "text/javascript; charset=utf-8",
		"app.css":           "text/css; charset=utf-8",
		"icon.svg":          "image/svg+xml",
		"client/index.js":   "text/javascript; charset=utf-8",
		"client/chat.js":    "text/javascript; charset=utf-8",
		"i18n/zh.js":        "text/javascript; charset=utf-8",
		"ui/chatscreen.js":  "text/javascript; charset=utf-8",
		"client/meeting.js": "text/javascript; charset=utf-8",
		"client/live.js":    "text/javascript; charset=utf-8",
		"client/whip.js":    "text/javascript; charset=utf-8",
	}
	for name, ct := range cases {
		rec := get(t, h, "GET", AssetsPrefix+h.Version()+"/"+name, nil)
		if rec.Code != 200 {
			t.Fatalf("%s: %d", name, rec.Code)
		}
		if got := rec.Header().Get("Content-Type"); got != ct {
			t.Errorf("%s: content type %q, want %q", name, got, ct)
		}
		if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("%s: versioned Cache-Control %q", name, cc)
		}
		// The stable path is revalidated, not kept.
		plain := get(t, h, "GET", "/"+name, nil)
		if plain.Code != 200 || plain.Header().Get("Cache-Control") != "no-cache" || plain.Header().Get("ETag") == "" {
			t.Errorf("/%s: %d, Cache-Control %q, ETag %q", name, plain.Code, plain.Header().Get("Cache-Control"), plain.Header().Get("ETag"))
		}
	}

	// An old version still loads, but no cache may keep it under that name.
	old := get(t, h, "GET", AssetsPrefix+"000000000000/app.js", nil)
	if old.Code != 200 || old.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("old version: %d %q", old.Code, old.Header().Get("Cache-Control"))
	}
	if rec := get(t, h, "GET", AssetsPrefix+h.Version()+"/nope.js", nil); rec.Code != 404 {
		t.Fatalf("missing asset: %d", rec.Code)
	}
	if rec := get(t, h, "GET", AssetsPrefix+h.Version()+"/index.html", nil); rec.Code != 404 {
		t.Fatalf("the raw index.html template is served: %d", rec.Code)
	}
}

func TestClientModuleMayBeImportedCrossOrigin(t *testing.T) {
	h := newHandler(t)
	rec := get(t, h, "GET", "/client/index.js", http.Header{"Origin": {"https://app.example.com"}})
	if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("client module lacks CORS for import: %v", rec.Header())
	}
	if rec := get(t, h, "GET", "/", nil); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("the page itself must not be shared cross-origin")
	}
}

func TestVersionFollowsContent(t *testing.T) {
	a, b := newHandler(t), newHandler(t)
	if a.Version() != b.Version() || len(a.Version()) != 12 {
		t.Fatalf("versions %q %q", a.Version(), b.Version())
	}
}

func TestClientRoutesFallBackToThePage(t *testing.T) {
	h := newHandler(t)
	for _, p := range []string{"/chat", "/chat/g_ye6cxx4colrbaehl2gii", "/contacts/m/alice", "/admin/audit", "/index.html",
		"/meetings/5ZQ2KJ7W3XN4MB6T8RYCP2DHAQ/room", "/live/7W3XN4MB6T8RYCP2DHAQ5ZQ2KJ", "/m/5ZQ2KJ7W3XN4MB6T8RYCP2DHAQ", "/l/7W3XN4MB6T8RYCP2DHAQ5ZQ2KJ"} {
		rec := get(t, h, "GET", p, nil)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %q", p, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	// Paths that name a file, or belong to other handlers, are never the page.
	for _, p := range []string{"/favicon.ico", "/chat/missing.js", "/api", "/api/v2/members", "/ws/x", "/metrics/x", "/healthz/", "/readyz/x", "/whip", "/whep/7W3XN4MB6T8RYCP2DHAQ5ZQ2KJ"} {
		rec := get(t, h, "GET", p, nil)
		if rec.Code != 404 || strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %q, want a 404 that is not HTML", p, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	if rec := get(t, h, "GET", "/api/v2/x", nil); errorCodeOf(rec.Body.String()) != "not_found" {
		t.Errorf("/api 404 is not in the API's error shape: %s", rec.Body)
	}
}

func errorCodeOf(body string) string {
	m := regexp.MustCompile(`"code":"([a-z_]+)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestOnlyGetAndHead(t *testing.T) {
	h := newHandler(t)
	if rec := get(t, h, "HEAD", "/", nil); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Fatalf("HEAD /: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	rec := get(t, h, "POST", "/chat", nil)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /chat: %d Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

// Every embedded file has a known content type, so nothing is served as
// application/octet-stream by accident.
func TestEveryFileHasAContentType(t *testing.T) {
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := p[strings.LastIndex(p, "."):]
		if _, ok := contentTypes[ext]; !ok {
			t.Errorf("%s: no content type for %q", p, ext)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// User content must never become markup: no module may use innerHTML,
// outerHTML, insertAdjacentHTML or document.write.
func TestNoHTMLInjectionSinks(t *testing.T) {
	sink := regexp.MustCompile(`\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|new Function|\beval\(`)
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(staticFS, p)
		if err != nil {
			return err
		}
		if m := sink.Find(b); m != nil {
			t.Errorf("%s uses %q", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The two dictionaries must have the same keys, so no screen shows a raw
// key in one language.
func TestDictionariesMatch(t *testing.T) {
	keys := func(name string) map[string]bool {
		b, err := fs.ReadFile(staticFS, "static/i18n/"+name)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)(?:^|[{,]\s*)"?([a-zA-Z_.]+)"?:\s`).FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
		}
		return out
	}
	en, zh := keys("en.js"), keys("zh.js")
	if len(en) < 100 {
		t.Fatalf("parsed only %d English keys", len(en))
	}
	for k := range en {
		if !zh[k] {
			t.Errorf("zh.js lacks %q", k)
		}
	}
	for k := range zh {
		if !en[k] {
			t.Errorf("en.js lacks %q", k)
		}
	}
}

// Every literal key the modules pass to t() is in the English dictionary
// (keys built at run time, such as "role." + role, are checked by eye).
func TestEveryKeyIsTranslated(t *testing.T) {
	b, err := fs.ReadFile(staticFS, "static/i18n/en.js")
	if err != nil {
		t.Fatal(err)
	}
	dict := string(b)
	use := regexp.MustCompile(`\bt\("([a-zA-Z_.]+)"[,)]`)
	err = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		src, err := fs.ReadFile(staticFS, p)
		if err != nil {
			return err
		}
		for _, m := range use.FindAllStringSubmatch(string(src), -1) {
			if !strings.Contains(dict, `"`+m[1]+`":`) && !regexp.MustCompile(`[{,\s]`+regexp.QuoteMeta(m[1])+`:`).MatchString(dict) {
				t.Errorf("%s: t(%q) has no English text", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
