package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"parley/storage"
)

// API key limits.
const (
	// MaxAPIKeys bounds how many API keys may exist at once.
	MaxAPIKeys = 1000
	// MaxAPIKeyNameLength bounds an API key's name, in bytes.
	MaxAPIKeyNameLength = 100
	// apiKeySecretBytes is the entropy of an API key secret.
	apiKeySecretBytes = 32
	// apiKeyTouchInterval is how stale LastUsedAt may get. Recording every
	// use would cost a synced write per API call; once a minute is enough
	// to tell a live key from a dead one.
	apiKeyTouchInterval = time.Minute
)

// APIKey lets a server-side integration mint access tokens for members (see
// IssueAccess). The secret is not part of it: it is shown once, by
// CreateAPIKey, and stored only as a hash.
type APIKey struct {
	ID         string    `json:"id"` // public, "pk_" + random
	Name       string    `json:"name"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"` // zero (and omitted) until first used
}

// apiKeyRecord is the stored form of an API key, under storage.PrefixAPIKey
// + id. The secret has 256 random bits, so a plain SHA-256 of it is as safe
// to keep as a slow password hash, and cheap to check on every call.
type apiKeyRecord struct {
	APIKey
	SecretSHA256 string `json:"secret_sha256"`
}

// CreateAPIKey creates a key named name on behalf of createdBy (a member id,
// or "system"/"cli"). It returns the key and its secret; the secret cannot
// be recovered later.
func (s *Service) CreateAPIKey(name, createdBy string) (key APIKey, secret string, err error) {
	if err := checkAPIKeyName(name); err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	if err := checkID("created by", createdBy); err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	raw := make([]byte, apiKeySecretBytes)
	rand.Read(raw) // never fails
	secret = "sk_" + base64.RawURLEncoding.EncodeToString(raw)
	rec := apiKeyRecord{
		APIKey: APIKey{
			ID:        "pk_" + strings.ToLower(rand.Text()),
			Name:      name,
			CreatedBy: createdBy,
			CreatedAt: s.now().UTC(),
		},
		SecretSHA256: hashAPISecret(secret),
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	err = s.db.ScanPrefix([]byte(storage.PrefixAPIKey), func(_, _ []byte) bool {
		n++
		return true
	})
	if err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: count keys: %w", err)
	}
	if n >= MaxAPIKeys {
		return APIKey{}, "", fmt.Errorf("create api key: %w: at most %d api keys", ErrLimit, MaxAPIKeys)
	}
	err = s.db.Update(func(b *storage.Batch) error {
		return b.SetJSON(storage.Key(storage.PrefixAPIKey, rec.ID), rec)
	})
	if err != nil {
		return APIKey{}, "", fmt.Errorf("create api key %s: %w", rec.ID, err)
	}
	return rec.APIKey, secret, nil
}

// ListAPIKeys returns every API key, oldest first, without secrets.
func (s *Service) ListAPIKeys() ([]APIKey, error) {
	var keys []APIKey
	var decodeErr error
	err := s.db.ScanPrefix([]byte(storage.PrefixAPIKey), func(k, v []byte) bool {
		var rec apiKeyRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			decodeErr = fmt.Errorf("decode %q: %w", k, err)
			return false
		}
		keys = append(keys, rec.APIKey)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	slices.SortFunc(keys, func(a, b APIKey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return keys, nil
}

// DeleteAPIKey deletes a key; its secret stops working at once. ErrNotFound
// if there is no such key.
func (s *Service) DeleteAPIKey(id string) error {
	if checkID("api key id", id) != nil {
		return fmt.Errorf("delete api key %q: %w", id, ErrNotFound)
	}
	key := storage.Key(storage.PrefixAPIKey, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	ok, err := s.db.Has(key)
	if err != nil {
		return fmt.Errorf("delete api key %s: %w", id, err)
	}
	if !ok {
		return fmt.Errorf("delete api key %s: %w", id, ErrNotFound)
	}
	b := s.db.NewBatch()
	b.Delete(key)
	if err := s.db.Commit(b); err != nil {
		return fmt.Errorf("delete api key %s: %w", id, err)
	}
	return nil
}

// CheckAPIKey returns the key when secret is its secret, comparing in
// constant time, and ErrInvalidCredentials when the id is unknown or the
// secret wrong. It records the use in LastUsedAt, at most once per minute.
func (s *Service) CheckAPIKey(id, secret string) (APIKey, error) {
	var rec apiKeyRecord
	found := false
	if checkID("api key id", id) == nil {
		err := s.db.GetJSON(storage.Key(storage.PrefixAPIKey, id), &rec)
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, storage.ErrNotFound):
			return APIKey{}, fmt.Errorf("check api key %s: %w", id, err)
		}
	}
	want, err := hex.DecodeString(rec.SecretSHA256)
	if err != nil || len(want) != sha256.Size {
		want = make([]byte, sha256.Size) // unknown key: compare anyway, then refuse
		found = false
	}
	got := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(got[:], want) != 1 || !found {
		return APIKey{}, ErrInvalidCredentials
	}
	now := s.now().UTC()
	if now.Sub(rec.LastUsedAt) >= apiKeyTouchInterval {
		if err := s.touchAPIKey(id, now); err != nil {
			// The key is valid; failing to note its use must not fail the call.
			slog.Warn("record api key use", "key", id, "err", err)
		}
		rec.LastUsedAt = now
	}
	return rec.APIKey, nil
}

// touchAPIKey sets the key's LastUsedAt, unless the key was deleted
// meanwhile: the re-read under s.mu keeps a concurrent delete from being
// undone.
func (s *Service) touchAPIKey(id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := storage.Key(storage.PrefixAPIKey, id)
	var rec apiKeyRecord
	err := s.db.GetJSON(key, &rec)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !now.After(rec.LastUsedAt) {
		return nil
	}
	rec.LastUsedAt = now
	return s.db.Update(func(b *storage.Batch) error { return b.SetJSON(key, rec) })
}

// checkAPIKeyName validates an API key name: 1 to MaxAPIKeyNameLength bytes
// of UTF-8 text without control characters.
func checkAPIKeyName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > MaxAPIKeyNameLength {
		return fmt.Errorf("%w: name must have 1 to %d bytes", ErrInvalid, MaxAPIKeyNameLength)
	}
	if !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		return fmt.Errorf("%w: name must be UTF-8 text without control characters", ErrInvalid)
	}
	return nil
}

func hashAPISecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
