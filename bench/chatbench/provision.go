package chatbench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"

	"parley/bench/provision"
	"parley/bench/wire"
)

// Concurrency of the setup and teardown phases. REST calls are cheap but
// each member creation and disable is a synced write on the server, which
// groups concurrent ones into one fsync; dials pay a TCP and HTTP
// handshake each.
const (
	restWorkers  = 32
	dialWorkers  = 64
	closeWorkers = 256
)

// Timing of setup and teardown.
const (
	// tokenMargin is how much longer than the planned sending time a
	// member's minted token lives, for provisioning, drains and cleanup.
	tokenMargin = 30 * time.Minute
	// adminTokenMaxAge is when the admin's access token (15 minutes by
	// default) is replaced by signing in again.
	adminTokenMaxAge = 10 * time.Minute
	// cleanupTimeout bounds the teardown, which runs even after the run
	// was interrupted.
	cleanupTimeout = 5 * time.Minute
	// idleSettle is how long the server gets after the idle connections
	// opened before its memory is read: long enough for a Parley server
	// to let the last of them go idle (it parks a socket's reader after
	// a second without a message).
	idleSettle = 3 * time.Second
)

// adminToken returns a super admin access token, signing in again when
// the one held is getting old.
func (r *runner) adminToken(ctx context.Context) (string, error) {
	r.adminMu.Lock()
	defer r.adminMu.Unlock()
	if r.admin != "" && time.Since(r.adminAt) < adminTokenMaxAge {
		return r.admin, nil
	}
	tok, err := r.api.Login(ctx, AdminUser, r.cfg.AdminPassword)
	if err != nil {
		return "", err
	}
	r.admin, r.adminAt = tok, time.Now()
	return tok, nil
}

// provision creates the API key, the members, their tokens and the
// conversations. What it created is recorded on r as it goes, so cleanup
// undoes exactly that, also after a failure half-way.
func (r *runner) provision(ctx context.Context) error {
	admin, err := r.adminToken(ctx)
	if err != nil {
		return err
	}
	key, err := r.api.CreateAPIKey(ctx, admin, "parley bench "+r.plan.runID)
	if err != nil {
		return err
	}
	r.key = &key

	all := r.plan.allMembers()
	r.phase("creating %d members (bench-%s-…)", len(all), r.plan.runID)
	r.created = make([]bool, len(all))
	err = provision.ForEach(ctx, len(all), restWorkers, func(ctx context.Context, i int) error {
		err := r.api.CreateMember(ctx, admin, wire.NewMember{
			ID: all[i], Name: "bench " + all[i], Departments: []string{wire.RootDepartment},
		})
		if err == nil {
			r.createdMu.Lock()
			r.created[i] = true
			r.createdMu.Unlock()
		}
		return err
	})
	if err != nil {
		return err
	}

	// Tokens for every member with a connection: active, then idle.
	withConn := append(append([]string{}, r.plan.active...), r.plan.idle...)
	ttl := time.Duration(max(1, len(r.cfg.Sweep)))*r.cfg.Duration + tokenMargin
	r.tokens = make(map[string]string, len(withConn))
	var mu sync.Mutex
	err = provision.ForEach(ctx, len(withConn), restWorkers, func(ctx context.Context, i int) error {
		tok, err := r.api.MintToken(ctx, key, withConn[i], ttl)
		if err == nil {
			mu.Lock()
			r.tokens[withConn[i]] = tok
			mu.Unlock()
		}
		return err
	})
	if err != nil {
		return err
	}

	if len(r.plan.convs) > 0 {
		r.phase("creating %d conversations", len(r.plan.convs))
	}
	r.convs = make([]*conversation, len(r.plan.convs))
	return provision.ForEach(ctx, len(r.plan.convs), restWorkers, func(ctx context.Context, i int) error {
		cp := r.plan.convs[i]
		creator := cp.members[0]
		var id string
		var err error
		if cp.name == "" {
			id, err = r.api.OpenDirect(ctx, r.tokens[creator], cp.members[1])
		} else {
			id, err = r.api.CreateGroup(ctx, r.tokens[creator], cp.name, cp.members[1:])
		}
		r.convs[i] = &conversation{id: id}
		return err
	})
}

// measureIdle opens the idle connections and returns the server's growth
// per connection in resident memory and in Go heap and stacks in use.
func (r *runner) measureIdle(ctx context.Context) (rss, goInUse int64, err error) {
	before, err := r.api.ServerProcess(ctx)
	if err != nil {
		return 0, 0, err
	}
	r.phase("opening %d idle connections", len(r.plan.idle))
	r.idle = make([]*websocket.Conn, len(r.plan.idle))
	r.idleDone = make([]context.Context, len(r.plan.idle))
	err = provision.ForEach(ctx, len(r.plan.idle), dialWorkers, func(ctx context.Context, i int) error {
		ws, err := r.dialer.Dial(ctx, r.tokens[r.plan.idle[i]])
		if err != nil {
			return fmt.Errorf("idle connection %d: %w", i, err)
		}
		// CloseRead keeps reading, so the server's pings are answered.
		r.idleMu.Lock()
		r.idle[i], r.idleDone[i] = ws, ws.CloseRead(context.Background())
		r.idleMu.Unlock()
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	select {
	case <-time.After(idleSettle):
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	after, err := r.api.ServerProcess(ctx)
	if err != nil {
		return 0, 0, err
	}
	n := int64(len(r.plan.idle))
	return (after.RSSBytes - before.RSSBytes) / n, (after.GoInUseBytes - before.GoInUseBytes) / n, nil
}

// connect opens the active connections and starts their readers.
func (r *runner) connect(ctx context.Context) error {
	r.phase("opening %d connections", len(r.plan.active))
	slots := r.cfg.Inflight
	if openLoop(r.cfg.Rate) || len(r.cfg.Sweep) > 0 {
		slots = MaxBacklog
	}
	convOf := make([]*conversation, len(r.plan.active))
	for i, cp := range r.plan.convs {
		for _, idx := range cp.conns {
			convOf[idx] = r.convs[i]
		}
	}
	r.conns = make([]*conn, len(r.plan.active))
	err := provision.ForEach(ctx, len(r.plan.active), dialWorkers, func(ctx context.Context, i int) error {
		member := r.plan.active[i]
		ws, err := r.dialer.DialSocket(ctx, r.tokens[member])
		if err != nil {
			return fmt.Errorf("connection %d (%s): %w", i, member, err)
		}
		c := newConn(r, i, member, ws, convOf[i], slots)
		r.connsMu.Lock()
		r.conns[i] = c
		r.connsMu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	// Readers start once every conversation knows its connections, which
	// an ack's expected-delivery count reads.
	for i, cp := range r.plan.convs {
		for _, idx := range cp.conns {
			r.convs[i].conns = append(r.convs[i].conns, r.conns[idx])
		}
	}
	for _, c := range r.conns {
		go c.read()
	}
	return nil
}

// closer is a WebSocket of either kind the run opens: a *wire.Socket of
// an active connection or a *websocket.Conn of an idle one.
type closer interface {
	Close(code websocket.StatusCode, reason string) error
}

// closeAll closes every connection the run opened, and reports idle
// connections the server closed early.
func (r *runner) closeAll() []string {
	r.closing.Store(true)
	var problems []string
	for i, done := range r.idleDone {
		if done != nil && done.Err() != nil {
			problems = append(problems, fmt.Sprintf("idle connection %d was closed before the end of the run", i))
		}
	}
	var all []closer
	for _, c := range r.conns {
		if c != nil {
			all = append(all, c.ws)
		}
	}
	for _, ws := range r.idle {
		if ws != nil {
			all = append(all, ws)
		}
	}
	_ = provision.ForEach(context.Background(), len(all), closeWorkers, func(_ context.Context, i int) error {
		all[i].Close(websocket.StatusNormalClosure, "bench done")
		return nil
	})
	for _, ws := range r.slow {
		if ws != nil {
			ws.CloseNow() // a socket that never read cannot finish a close handshake
		}
	}
	return problems
}

// cleanup disables the members the run created (unless Keep) and deletes
// its API key. It runs on its own deadline, also after an interrupt.
func (r *runner) cleanup() error {
	r.createdMu.Lock()
	created := slices.Contains(r.created, true)
	r.createdMu.Unlock()
	if r.key == nil && !created {
		return nil // provisioning created nothing
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	var errs []error
	admin, err := r.adminToken(ctx)
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	if !r.cfg.Keep {
		var ids []string
		for i, id := range r.plan.allMembers() {
			if i < len(r.created) && r.created[i] {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			r.phase("disabling %d members", len(ids))
		}
		// Every member is tried; the first few failures are reported.
		var mu sync.Mutex
		failed := 0
		_ = provision.ForEach(ctx, len(ids), restWorkers, func(ctx context.Context, i int) error {
			if err := r.api.DisableMember(ctx, admin, ids[i]); err != nil {
				mu.Lock()
				if failed++; failed <= maxErrorSamples {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
			return nil
		})
		if failed > maxErrorSamples {
			errs = append(errs, fmt.Errorf("%d more members not disabled", failed-maxErrorSamples))
		}
	}
	if r.key != nil {
		if err := r.api.DeleteAPIKey(ctx, admin, r.key.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	return nil
}
