package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// AssetsPrefix is the path under which every embedded file is served with a
// version in its URL, so browsers may keep it for a year.
const AssetsPrefix = "/assets/"

// ContentSecurityPolicy is sent with every answer of the web client. It
// allows only the server's own scripts, styles and connections (in
// Chromium and Firefox 'self' covers ws:// and wss:// to the same host):
// no inline script or style, no eval, no framing. Images may also be
// blob: URLs (chat images are fetched with the bearer token and shown from
// memory) and https: URLs (a member's avatar_url may point at a CDN).
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' blob: https:; media-src 'self' blob:; font-src 'self'; connect-src 'self'; " +
	"manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// immutableMaxAge is how long a versioned asset may be cached: a new build
// changes the version, and so the URL.
const immutableMaxAge = 365 * 24 * time.Hour

// versionPlaceholder is replaced in index.html by the versioned assets
// path, such as "/assets/3f2a9c01b7de".
const versionPlaceholder = "{{ASSETS}}"

// reservedPrefixes are served by other handlers of the same server. A
// request that reaches this handler under one of them (say /api/v2/x,
// POST /healthz, or GET /whip, which WHIP does not answer) is a 404, never
// the app's page, so a typo in an API path is not answered with HTML.
var reservedPrefixes = []string{"/api", "/ws", "/whip", "/whep", "/metrics", "/healthz", "/readyz"}

// contentTypes maps the extensions the client uses to their types. The
// table is explicit, not the host's mime database, so answers are the same
// on every machine.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	etag        string
	contentType string
}

// Handler serves the web client. Create it with New.
type Handler struct {
	version string
	assets  map[string]asset // by path without the leading slash
	index   asset
}

// New prepares the embedded files: it hashes them into a version and
// renders index.html with the versioned assets path. It fails only if the
// binary was built without the client's files, which this package's tests
// catch.
func New() (*Handler, error) {
	root, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("web client files: %w", err)
	}
	h := &Handler{assets: map[string]asset{}}
	var names []string
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		h.assets[p] = asset{body: body, etag: etagOf(body), contentType: ct}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read web client files: %w", err)
	}
	page, ok := h.assets["index.html"]
	if !ok {
		return nil, fmt.Errorf("web client files: no index.html")
	}

	// One version for the whole client: modules import each other by
	// relative URL, so they must all come from the same versioned folder.
	sort.Strings(names)
	sum := sha256.New()
	for _, n := range names {
		fmt.Fprintf(sum, "%s\x00%d\x00", n, len(h.assets[n].body))
		sum.Write(h.assets[n].body)
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:12]

	body := bytes.ReplaceAll(page.body, []byte(versionPlaceholder), []byte(AssetsPrefix+h.version))
	h.index = asset{body: body, etag: etagOf(body), contentType: page.contentType}
	delete(h.assets, "index.html")
	return h, nil
}

// MustNew is New for the server's route table, where the files are part of
// the binary: an error means a broken build.
func MustNew() *Handler {
	h, err := New()
	if err != nil {
		panic(err)
	}
	return h
}

// Version is the hash of the embedded files that versioned URLs carry.
func (h *Handler) Version() string { return h.version }

func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// ServeHTTP serves the page, an asset, or a 404. It answers only GET and
// HEAD.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")

	p := r.URL.Path
	for _, pre := range reservedPrefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			notFound(w, p)
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	if rest, ok := strings.CutPrefix(p, AssetsPrefix); ok {
		version, name, _ := strings.Cut(rest, "/")
		a, ok := h.assets[name]
		if !ok {
			notFound(w, p)
			return
		}
		if version == h.version {
			hdr.Set("Cache-Control", fmt.Sprintf("public, max-age=%d, immutable", int(immutableMaxAge.Seconds())))
		} else {
			// A page from an earlier build asking during an upgrade: serve
			// what we have, but let no cache keep it under the old name.
			hdr.Set("Cache-Control", "no-cache")
		}
		serve(w, r, name, a)
		return
	}

	name := strings.TrimPrefix(p, "/")
	if a, ok := h.assets[name]; ok {
		hdr.Set("Cache-Control", "no-cache")
		serve(w, r, name, a)
		return
	}
	// Client-side routes (/chat/g_..., /admin/members) get the page; a
	// path that names a file (a dot in its last segment) and is not one is
	// a 404, so a missing script fails loudly rather than as HTML.
	if name == "index.html" || !strings.Contains(path.Base(p), ".") {
		hdr.Set("Cache-Control", "no-cache")
		serve(w, r, "index.html", h.index)
		return
	}
	notFound(w, p)
}

// serve answers with one file. http.ServeContent handles If-None-Match
// against the ETag set here, HEAD and ranges.
func serve(w http.ResponseWriter, r *http.Request, name string, a asset) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("ETag", a.etag)
	if strings.HasPrefix(name, "client/") && strings.HasSuffix(name, ".js") {
		// Module scripts load in CORS mode: let other origins import the
		// client module. It is public code and carries no credentials.
		hdr.Set("Access-Control-Allow-Origin", "*")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

// notFound answers 404: in the API's JSON error shape under /api, plain
// text elsewhere.
func notFound(w http.ResponseWriter, p string) {
	w.Header().Set("Cache-Control", "no-store")
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":{"code":"not_found","message":"no such API route"}}`+"\n")
		return
	}
	http.Error(w, "404 page not found", http.StatusNotFound)
}
