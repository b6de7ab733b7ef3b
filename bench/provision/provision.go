package provision

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"parley/bench/wire"
)

// AdminUser is the super admin a run signs in as.
const AdminUser = "admin"

// Concurrency and timing of provisioning.
const (
	// Workers is how many REST calls run at once.
	Workers = 32
	// adminTokenMaxAge is when the admin's access token (15 minutes by
	// default) is replaced by signing in again.
	adminTokenMaxAge = 10 * time.Minute
	// CleanupTimeout bounds the teardown, which runs even after the run
	// was interrupted.
	CleanupTimeout = 5 * time.Minute
	// maxCleanupErrors is how many failed disables a cleanup error names.
	maxCleanupErrors = 5
)

// runIDLength is the length of a run id: short enough for member ids,
// long enough not to repeat between runs.
const runIDLength = 8

// NewRunID returns a fresh run id of lowercase letters and digits.
func NewRunID() string {
	return strings.ToLower(rand.Text()[:runIDLength])
}

// ForEach calls fn for 0..n-1 on up to workers goroutines and returns the
// first error; after an error no new calls start.
func ForEach(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		next  int
		wg    sync.WaitGroup
	)
	for range min(n, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if first != nil || next >= n || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

// Fleet is one run's members on one server. Its methods are safe for
// concurrent use.
type Fleet struct {
	API           *wire.Client
	RunID         string
	adminPassword string

	adminMu sync.Mutex
	admin   string
	adminAt time.Time

	mu      sync.Mutex
	key     *wire.APIKey
	created []string          // member ids, in creation order
	tokens  map[string]string // member id → minted access token
}

// New returns an empty fleet for run runID.
func New(api *wire.Client, runID, adminPassword string) *Fleet {
	return &Fleet{API: api, RunID: runID, adminPassword: adminPassword, tokens: map[string]string{}}
}

// MemberID is the id of the run's member named name.
func (f *Fleet) MemberID(name string) string { return "bench-" + f.RunID + "-" + name }

// AdminToken returns a super admin access token, signing in again when
// the one held is getting old.
func (f *Fleet) AdminToken(ctx context.Context) (string, error) {
	f.adminMu.Lock()
	defer f.adminMu.Unlock()
	if f.admin != "" && time.Since(f.adminAt) < adminTokenMaxAge {
		return f.admin, nil
	}
	tok, err := f.API.Login(ctx, AdminUser, f.adminPassword)
	if err != nil {
		return "", err
	}
	f.admin, f.adminAt = tok, time.Now()
	return tok, nil
}

// Create makes one member per name (ids from MemberID) and mints each an
// access token valid for ttl. What it created is remembered, so Cleanup
// undoes exactly that, also after a failure half-way.
func (f *Fleet) Create(ctx context.Context, names []string, ttl time.Duration) error {
	admin, err := f.AdminToken(ctx)
	if err != nil {
		return err
	}
	f.mu.Lock()
	key := f.key
	f.mu.Unlock()
	if key == nil {
		k, err := f.API.CreateAPIKey(ctx, admin, "parley bench "+f.RunID)
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.key, key = &k, &k
		f.mu.Unlock()
	}
	return ForEach(ctx, len(names), Workers, func(ctx context.Context, i int) error {
		id := f.MemberID(names[i])
		err := f.API.CreateMember(ctx, admin, wire.NewMember{ID: id, Name: "bench " + names[i], Departments: []string{wire.RootDepartment}})
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.created = append(f.created, id)
		f.mu.Unlock()
		tok, err := f.API.MintToken(ctx, *key, id, ttl)
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.tokens[id] = tok
		f.mu.Unlock()
		return nil
	})
}

// Token returns the access token minted for member id, "" if none.
func (f *Fleet) Token(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens[id]
}

// Cleanup disables the members the fleet created (unless keep) and
// deletes its API key. It runs on its own deadline, so it also works
// after the run's context was cancelled.
func (f *Fleet) Cleanup(keep bool) error {
	f.mu.Lock()
	ids, key := append([]string(nil), f.created...), f.key
	f.mu.Unlock()
	if key == nil && len(ids) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), CleanupTimeout)
	defer cancel()
	admin, err := f.AdminToken(ctx)
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	var errs []error
	if !keep {
		var mu sync.Mutex
		failed := 0
		_ = ForEach(ctx, len(ids), Workers, func(ctx context.Context, i int) error {
			if err := f.API.DisableMember(ctx, admin, ids[i]); err != nil {
				mu.Lock()
				if failed++; failed <= maxCleanupErrors {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
			return nil
		})
		if failed > maxCleanupErrors {
			errs = append(errs, fmt.Errorf("%d more members not disabled", failed-maxCleanupErrors))
		}
	}
	if key != nil {
		if err := f.API.DeleteAPIKey(ctx, admin, key.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	return nil
}
