package auth

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAPIKeys(t *testing.T) {
	clk := newClock()
	s := newService(t, newMembers("alice"), clk, Config{})

	key, secret, err := s.CreateAPIKey("billing sync", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key.ID, "pk_") || !strings.HasPrefix(secret, "sk_") || len(secret) < 40 {
		t.Fatalf("key %+v, secret %q", key, secret)
	}
	if key.Name != "billing sync" || key.CreatedBy != "alice" || !key.CreatedAt.Equal(clk.Now()) || !key.LastUsedAt.IsZero() {
		t.Fatalf("key %+v", key)
	}
	raw, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "last_used_at") {
		t.Fatalf("unused key JSON %s has last_used_at", raw)
	}

	clk.Advance(time.Minute)
	got, err := s.CheckAPIKey(key.ID, secret)
	if err != nil {
		t.Fatalf("right secret: %v", err)
	}
	if got.ID != key.ID || !got.LastUsedAt.Equal(clk.Now()) {
		t.Fatalf("CheckAPIKey returned %+v", got)
	}
	for name, tc := range map[string][2]string{
		"wrong secret": {key.ID, secret[:len(secret)-1] + "x"},
		"empty secret": {key.ID, ""},
		"unknown id":   {"pk_nothere", secret},
		"malformed id": {"pk/../x", secret},
		"secret as id": {secret, key.ID},
		"empty id":     {"", secret},
	} {
		if _, err := s.CheckAPIKey(tc[0], tc[1]); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("%s: got %v, want ErrInvalidCredentials", name, err)
		}
	}

	second, _, err := s.CreateAPIKey("chat bot", "alice")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.ListAPIKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != key.ID || keys[1].ID != second.ID {
		t.Fatalf("ListAPIKeys = %+v, want [%s %s]", keys, key.ID, second.ID)
	}
	if !keys[0].LastUsedAt.Equal(clk.Now()) {
		t.Fatalf("listed LastUsedAt %v, want %v", keys[0].LastUsedAt, clk.Now())
	}
	raw, err = json.Marshal(keys)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) || strings.Contains(string(raw), "secret") {
		t.Fatalf("list JSON %s shows a secret", raw)
	}

	if err := s.DeleteAPIKey(key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckAPIKey(key.ID, secret); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("deleted key: got %v, want ErrInvalidCredentials", err)
	}
	if err := s.DeleteAPIKey(key.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: got %v, want ErrNotFound", err)
	}
	if keys, err := s.ListAPIKeys(); err != nil || len(keys) != 1 || keys[0].ID != second.ID {
		t.Fatalf("after delete ListAPIKeys = %+v, %v", keys, err)
	}
}

func TestAPIKeyValidation(t *testing.T) {
	s := newService(t, newMembers("alice"), newClock(), Config{})
	for name, args := range map[string][2]string{
		"empty name":    {"", "alice"},
		"blank name":    {"   ", "alice"},
		"long name":     {strings.Repeat("n", MaxAPIKeyNameLength+1), "alice"},
		"control char":  {"a\nb", "alice"},
		"bad creator":   {"ok", "a/b"},
		"empty creator": {"ok", ""},
		"invalid utf-8": {"\xff\xfe", "alice"},
	} {
		if _, _, err := s.CreateAPIKey(args[0], args[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	if keys, err := s.ListAPIKeys(); err != nil || len(keys) != 0 {
		t.Fatalf("rejected keys were stored: %+v, %v", keys, err)
	}
}
