package files

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // image.DecodeConfig reads the dimensions of these
	_ "image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"parley/storage"
)

// DefaultMaxBytes is Options.MaxBytes when it is zero, the default of
// chat.max_file_bytes.
const DefaultMaxBytes = 100 << 20

// MaxNameBytes caps a file's name, the common limit of file systems.
const MaxNameBytes = 255

// sniffBytes is how much of a file http.DetectContentType looks at.
const sniffBytes = 512

// dirName is the folder of the data directory that holds the files.
const dirName = "files"

// tempPrefix starts the names of uploads in progress. Finished files are
// named by their id alone, which never starts with '.'.
const tempPrefix = ".upload-"

// idChars is the length of a file id: 128 random bits in base32.
const idChars = 26

// idEncoding is lower-case RFC 4648 base32 without padding, as
// conversation ids use: short, free of '/', and safe as a file name on
// case-insensitive file systems.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Errors returned by Store methods. Callers match them with errors.Is.
var (
	// ErrNotFound reports an id that names no file.
	ErrNotFound = errors.New("file not found")
	// ErrTooLarge reports an upload over the size limit. Nothing was kept.
	ErrTooLarge = errors.New("file too large")
	// ErrInvalid reports a missing or malformed name or owner.
	ErrInvalid = errors.New("invalid")
)

// Options tune the store. The zero value is what production uses.
type Options struct {
	// MaxBytes is the largest file an upload may store. Zero means
	// DefaultMaxBytes.
	MaxBytes int64
}

// Meta describes one uploaded file. It never changes once stored.
type Meta struct {
	ID string `json:"id"`
	// ConversationID is the conversation the file was uploaded for; only
	// its members may read it.
	ConversationID string `json:"conversation_id"`
	// OwnerID is the member who uploaded it.
	OwnerID string `json:"owner_id"`
	// Name is the name the uploader gave, without any path.
	Name string `json:"name"`
	Size int64  `json:"size"`
	// ContentType is sniffed from the file's first bytes; what the client
	// claimed is ignored.
	ContentType string `json:"content_type"`
	// SHA256 is the hex digest of the content, also its ETag.
	SHA256 string `json:"sha256"`
	// Width and Height are an image's dimensions in pixels, when the
	// standard library can read them (JPEG, PNG, GIF).
	Width     int       `json:"width,omitempty"`
	Height    int       `json:"height,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// IsImage reports whether the sniffed content type is an image. Sniffing
// never yields an image type for SVG (it is XML, and may carry script), so
// every image type is safe to show inline.
func (m Meta) IsImage() bool { return strings.HasPrefix(m.ContentType, "image/") }

// Store keeps uploaded files under <data dir>/files/<ab>/<id>, where ab is
// the id's first two characters, and their Meta in Pebble.
type Store struct {
	db       *storage.DB
	root     string
	maxBytes int64

	// dirMu makes creating a fan-out folder and syncing its parent one
	// step, so no upload renames into a folder whose entry is not yet
	// durable.
	dirMu sync.Mutex
}

// New opens the store of db's data directory, creating its folder, and
// removes uploads a crash left unfinished. Call it before serving.
func New(db *storage.DB, opts Options) (*Store, error) {
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	s := &Store{db: db, root: filepath.Join(db.Dir(), dirName), maxBytes: maxBytes}
	if err := os.MkdirAll(s.root, 0o750); err != nil {
		return nil, fmt.Errorf("create file folder %s: %w", s.root, err)
	}
	if err := s.sweep(); err != nil {
		return nil, err
	}
	return s, nil
}

// MaxBytes is the size limit of one file.
func (s *Store) MaxBytes() int64 { return s.maxBytes }

// sweep removes temporary files of uploads that a crash interrupted.
func (s *Store) sweep() error {
	leftovers, err := filepath.Glob(filepath.Join(s.root, "*", tempPrefix+"*"))
	if err != nil {
		return fmt.Errorf("list unfinished uploads: %w", err)
	}
	for _, p := range leftovers {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove unfinished upload %s: %w", p, err)
		}
	}
	return nil
}

// Put stores the content read from r as a file of conversation convID
// uploaded by ownerID, and returns its metadata. It reads at most
// MaxBytes()+1 bytes: a longer content is ErrTooLarge. A read error from r
// is returned wrapped. In every failure nothing is left on disk or in the
// database. The caller checks that ownerID may post in convID.
func (s *Store) Put(convID, ownerID, name string, r io.Reader) (Meta, error) {
	name, err := cleanName(name)
	if err != nil {
		return Meta{}, err
	}
	if convID == "" || ownerID == "" {
		return Meta{}, fmt.Errorf("%w: a file needs a conversation and an owner", ErrInvalid)
	}
	id, err := newID()
	if err != nil {
		return Meta{}, err
	}
	dir := filepath.Join(s.root, id[:2])
	if err := s.ensureDir(dir); err != nil {
		return Meta{}, err
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return Meta{}, fmt.Errorf("create upload file: %w", err)
	}
	m := Meta{ID: id, ConversationID: convID, OwnerID: ownerID, Name: name}
	if err := s.write(tmp, r, &m); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return Meta{}, err
	}
	final := s.path(id)
	if err := os.Rename(tmp.Name(), final); err != nil {
		os.Remove(tmp.Name())
		return Meta{}, fmt.Errorf("move upload into place: %w", err)
	}
	if err := syncDir(dir); err != nil {
		os.Remove(final)
		return Meta{}, err
	}
	m.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	if err := s.db.Update(func(b *storage.Batch) error {
		return b.SetJSON(storage.Key(storage.PrefixFile, id), m)
	}); err != nil {
		os.Remove(final)
		return Meta{}, fmt.Errorf("store metadata of file %s: %w", id, err)
	}
	return m, nil
}

// write copies r into f under the size limit, fills in m's size, digest,
// content type and image dimensions, and syncs and closes f.
func (s *Store) write(f *os.File, r io.Reader, m *Meta) error {
	lr := io.LimitReader(r, s.maxBytes+1)
	head := make([]byte, sniffBytes)
	n, err := io.ReadFull(lr, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("read upload: %w", err)
	}
	head = head[:n]
	h := sha256.New()
	w := io.MultiWriter(f, h)
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("write upload: %w", err)
	}
	rest, err := io.Copy(w, lr)
	if err != nil {
		return fmt.Errorf("copy upload: %w", err)
	}
	m.Size = int64(n) + rest
	if m.Size > s.maxBytes {
		return fmt.Errorf("%w: the limit is %d bytes", ErrTooLarge, s.maxBytes)
	}
	m.SHA256 = hex.EncodeToString(h.Sum(nil))
	m.ContentType = http.DetectContentType(head)
	if m.IsImage() {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("rewind upload: %w", err)
		}
		// Only the header is read. A format without a registered decoder
		// (WebP, BMP, icons) or a damaged header leaves the size unknown.
		if cfg, _, err := image.DecodeConfig(bufio.NewReader(f)); err == nil {
			m.Width, m.Height = cfg.Width, cfg.Height
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync upload: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close upload: %w", err)
	}
	return nil
}

// Get returns the metadata of file id, or ErrNotFound.
func (s *Store) Get(id string) (Meta, error) {
	if !validID(id) {
		return Meta{}, fmt.Errorf("file %q: %w", id, ErrNotFound)
	}
	var m Meta
	err := s.db.GetJSON(storage.Key(storage.PrefixFile, id), &m)
	if errors.Is(err, storage.ErrNotFound) {
		return Meta{}, fmt.Errorf("file %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Meta{}, fmt.Errorf("load file %s: %w", id, err)
	}
	return m, nil
}

// Open returns the metadata of file id and its content, open for reading,
// or ErrNotFound. The caller closes the file.
func (s *Store) Open(id string) (Meta, *os.File, error) {
	m, err := s.Get(id)
	if err != nil {
		return Meta{}, nil, err
	}
	f, err := os.Open(s.path(id))
	if err != nil {
		// Metadata is committed only after the content is in place, so
		// this is damage, not a missing file.
		return Meta{}, nil, fmt.Errorf("open content of file %s: %w", id, err)
	}
	return m, f, nil
}

// path is where file id's content lives.
func (s *Store) path(id string) string {
	return filepath.Join(s.root, id[:2], id)
}

// ensureDir creates a fan-out folder on first use and makes its entry
// durable, so a crash cannot lose the folder with files renamed into it.
func (s *Store) ensureDir(dir string) error {
	s.dirMu.Lock()
	defer s.dirMu.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create file folder %s: %w", dir, err)
	}
	return syncDir(s.root)
}

// syncDir makes the entries of dir durable: a rename is not, until its
// folder is synced.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate file id: %w", err)
	}
	return idEncoding.EncodeToString(b[:]), nil
}

// validID reports whether id could be a file id. Anything else is refused
// before it reaches a key or a path.
func validID(id string) bool {
	if len(id) != idChars {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// cleanName keeps the last element of a path (browsers and tools may send
// one) and refuses empty names, names over MaxNameBytes, invalid UTF-8 and
// control characters, which would break the Content-Disposition header
// the file is served with.
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name[strings.LastIndexAny(name, `/\`)+1:])
	switch {
	case name == "" || name == "." || name == "..":
		return "", fmt.Errorf("%w: a file name is required", ErrInvalid)
	case len(name) > MaxNameBytes:
		return "", fmt.Errorf("%w: the file name is longer than %d bytes", ErrInvalid, MaxNameBytes)
	case !utf8.ValidString(name):
		return "", fmt.Errorf("%w: the file name is not valid UTF-8", ErrInvalid)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%w: the file name contains control character %U", ErrInvalid, r)
		}
	}
	return name, nil
}
