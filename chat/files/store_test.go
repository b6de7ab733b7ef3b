package files_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/chat/files"
	"parley/storage"
)

func openDB(t *testing.T, dir string) *storage.DB {
	t.Helper()
	db, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newStore(t *testing.T, maxBytes int64) (*files.Store, *storage.DB) {
	t.Helper()
	db := openDB(t, t.TempDir())
	t.Cleanup(func() { db.Close() })
	s, err := files.New(db, files.Options{MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

// onDisk lists every regular file under the data directory's files folder.
func onDisk(t *testing.T, dataDir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dataDir, "files"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// metaKeys counts the file metadata records in db.
func metaKeys(t *testing.T, db *storage.DB) int {
	t.Helper()
	n := 0
	if err := db.ScanPrefix([]byte(storage.PrefixFile), func(_, _ []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(t *testing.T, s *files.Store, id string) (files.Meta, []byte) {
	t.Helper()
	m, f, err := s.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return m, data
}

func TestPutText(t *testing.T) {
	s, _ := newStore(t, 0)
	content := []byte("quarterly numbers, draft 3\n")
	m, err := s.Put("g_conv", "alice", `C:\Users\alice\notes.txt`, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if m.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("sha256 %s, want %x", m.SHA256, sum)
	}
	if m.Name != "notes.txt" || m.Size != int64(len(content)) || m.ConversationID != "g_conv" || m.OwnerID != "alice" {
		t.Errorf("meta %+v", m)
	}
	if m.ContentType != "text/plain; charset=utf-8" || m.IsImage() || m.Width != 0 {
		t.Errorf("content type %q, image %v, width %d", m.ContentType, m.IsImage(), m.Width)
	}
	if len(m.ID) != 26 || m.CreatedAt.IsZero() {
		t.Errorf("id %q created %v", m.ID, m.CreatedAt)
	}
	got, data := readAll(t, s, m.ID)
	if !bytes.Equal(data, content) || got != m {
		t.Errorf("read back %q %+v, want %q %+v", data, got, content, m)
	}
	if s.MaxBytes() != files.DefaultMaxBytes {
		t.Errorf("MaxBytes %d, want the default %d", s.MaxBytes(), files.DefaultMaxBytes)
	}
}

func TestPutImageDimensions(t *testing.T) {
	s, _ := newStore(t, 0)
	m, err := s.Put("g_conv", "alice", "chart.png", bytes.NewReader(pngBytes(t, 40, 30)))
	if err != nil {
		t.Fatal(err)
	}
	if m.ContentType != "image/png" || !m.IsImage() || m.Width != 40 || m.Height != 30 {
		t.Fatalf("meta %+v, want a 40x30 image/png", m)
	}
}

// TestPutSniffsPastTheName: the name says image, the bytes say HTML; the
// bytes win.
func TestPutSniffsPastTheName(t *testing.T) {
	s, _ := newStore(t, 0)
	m, err := s.Put("g_conv", "alice", "cat.png", strings.NewReader("<html><script>alert(1)</script></html>"))
	if err != nil {
		t.Fatal(err)
	}
	if m.ContentType != "text/html; charset=utf-8" || m.IsImage() {
		t.Fatalf("content type %q", m.ContentType)
	}
}

func TestPutTooLargeLeavesNothing(t *testing.T) {
	s, db := newStore(t, 1000)
	if _, err := s.Put("g_conv", "alice", "exact.bin", bytes.NewReader(make([]byte, 1000))); err != nil {
		t.Fatalf("a file of exactly the limit: %v", err)
	}
	_, err := s.Put("g_conv", "alice", "big.bin", bytes.NewReader(make([]byte, 1001)))
	if !errors.Is(err, files.ErrTooLarge) {
		t.Fatalf("error %v, want ErrTooLarge", err)
	}
	if got := onDisk(t, db.Dir()); len(got) != 1 {
		t.Errorf("files on disk %v, want only the first", got)
	}
	if n := metaKeys(t, db); n != 1 {
		t.Errorf("%d metadata records, want 1", n)
	}
}

// failingReader yields n bytes of data, then an error, as a client that
// goes away halfway through its upload.
type failingReader struct{ n int }

var errCut = errors.New("connection reset")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errCut
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	r.n -= k
	return k, nil
}

func TestPutInterruptedLeavesNothing(t *testing.T) {
	s, db := newStore(t, 0)
	for _, n := range []int{0, 100, 100_000} { // before, inside and after the sniffed head
		_, err := s.Put("g_conv", "alice", "half.bin", &failingReader{n: n})
		if !errors.Is(err, errCut) {
			t.Fatalf("cut after %d bytes: error %v, want the reader's", n, err)
		}
	}
	if got := onDisk(t, db.Dir()); len(got) != 0 {
		t.Errorf("interrupted uploads left %v", got)
	}
	if n := metaKeys(t, db); n != 0 {
		t.Errorf("interrupted uploads left %d metadata records", n)
	}
}

func TestPutRefusesBadNames(t *testing.T) {
	s, db := newStore(t, 0)
	for _, name := range []string{"", "  ", "dir/", "..", "a\x00b", "tab\there", strings.Repeat("n", files.MaxNameBytes+1), "\xff.txt"} {
		if _, err := s.Put("g_conv", "alice", name, strings.NewReader("x")); !errors.Is(err, files.ErrInvalid) {
			t.Errorf("name %q: error %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.Put("", "alice", "a.txt", strings.NewReader("x")); !errors.Is(err, files.ErrInvalid) {
		t.Errorf("no conversation: error %v, want ErrInvalid", err)
	}
	if got := onDisk(t, db.Dir()); len(got) != 0 {
		t.Errorf("refused uploads left %v", got)
	}
}

func TestGetUnknown(t *testing.T) {
	s, _ := newStore(t, 0)
	for _, id := range []string{"", "../../db/CURRENT", "aaaaaaaaaaaaaaaaaaaaaaaaaa", "AAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if _, err := s.Get(id); !errors.Is(err, files.ErrNotFound) {
			t.Errorf("Get(%q): error %v, want ErrNotFound", id, err)
		}
		if _, _, err := s.Open(id); !errors.Is(err, files.ErrNotFound) {
			t.Errorf("Open(%q): error %v, want ErrNotFound", id, err)
		}
	}
}

// TestRestartKeepsFiles: files and metadata survive closing and reopening
// the data directory, and an upload a crash left half-written is swept.
func TestRestartKeepsFiles(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	s, err := files.New(db, files.Options{})
	if err != nil {
		t.Fatal(err)
	}
	content := pngBytes(t, 8, 8)
	m, err := s.Put("g_conv", "alice", "dot.png", bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	// What a crash in the middle of an upload leaves behind.
	leftover := filepath.Join(dir, "files", m.ID[:2], ".upload-123456")
	if err := os.WriteFile(leftover, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir)
	defer db.Close()
	s, err = files.New(db, files.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, data := readAll(t, s, m.ID)
	if !got.CreatedAt.Equal(m.CreatedAt) || got.SHA256 != m.SHA256 || got.Width != 8 || !bytes.Equal(data, content) {
		t.Fatalf("after restart: %+v, %d bytes; want %+v, %d bytes", got, len(data), m, len(content))
	}
	if _, err := os.Stat(leftover); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unfinished upload was not swept: %v", err)
	}
}
