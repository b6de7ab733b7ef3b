package live

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"parley/storage"
)

// newStreamKey makes a stream key: StreamKeyPrefix and 192 random bits.
func newStreamKey() string { return StreamKeyPrefix + randomToken(streamKeyBytes) }

// hashStreamKey is the storage name of a stream key.
func hashStreamKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// setStreamKey adds to b the index entries of liveID's key.
func setStreamKey(b *storage.Batch, liveID, key string) {
	h := hashStreamKey(key)
	b.Set(storage.Key(storage.PrefixLiveStreamKey, h), []byte(liveID))
	b.Set(storage.Key(storage.PrefixLiveKeyOf, liveID), []byte(h))
}

// deleteStreamKey adds to b the removal of liveID's key entries.
func (s *Store) deleteStreamKey(b *storage.Batch, liveID string) error {
	h, err := s.db.Get(storage.Key(storage.PrefixLiveKeyOf, liveID))
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load stream key hash: %w", err)
	}
	b.Delete(storage.Key(storage.PrefixLiveStreamKey, string(h)))
	b.Delete(storage.Key(storage.PrefixLiveKeyOf, liveID))
	return nil
}

// LiveByStreamKey returns the live whose stream key is key, with one
// index lookup. An unknown, rotated or malformed key is ErrNotFound.
func (s *Store) LiveByStreamKey(key string) (Live, error) {
	if len(key) != len(StreamKeyPrefix)+(streamKeyBytes*4+2)/3 || key[:len(StreamKeyPrefix)] != StreamKeyPrefix {
		return Live{}, fmt.Errorf("stream key: %w", ErrNotFound)
	}
	id, err := s.db.Get(storage.Key(storage.PrefixLiveStreamKey, hashStreamKey(key)))
	if errors.Is(err, storage.ErrNotFound) {
		return Live{}, fmt.Errorf("stream key: %w", ErrNotFound)
	}
	if err != nil {
		return Live{}, fmt.Errorf("look up stream key: %w", err)
	}
	return s.Get(string(id))
}

// RotateStreamKey replaces the live's stream key and returns the new one.
// The old key stops working with the same commit that makes the new one
// work. An encoder already publishing keeps its session; the ingest
// decides whether to cut it.
func (s *Store) RotateStreamKey(id string) (string, error) {
	key := newStreamKey()
	_, err := s.modify(id, "rotate stream key of", func(*Live) error { return nil }, func(b *storage.Batch, l Live) error {
		if err := s.deleteStreamKey(b, l.ID); err != nil {
			return err
		}
		setStreamKey(b, l.ID, key)
		return nil
	})
	if err != nil {
		return "", err
	}
	return key, nil
}
