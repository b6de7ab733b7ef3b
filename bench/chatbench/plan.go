package chatbench

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// runIDLength is the length of a run id: 8 base32 characters, 40 random
// bits, enough that concurrent runs never collide.
const runIDLength = 8

// newRunID returns a fresh run id of lowercase letters and digits, usable
// inside member ids.
func newRunID() string {
	return strings.ToLower(rand.Text()[:runIDLength])
}

// plan is who exists in a run and who talks to whom, before any of it is
// created on the server.
type plan struct {
	runID   string
	prefix  string     // "bench-<run id>-", the start of every member id
	active  []string   // member of connection i
	offline []string   // group members without a connection
	idle    []string   // members of the idle connections
	convs   []convPlan // conversations of the active connections
}

// convPlan is one conversation to create.
type convPlan struct {
	name    string // group name; empty for a direct conversation
	members []string
	conns   []int // indexes of the connections in it
}

func newPlan(cfg *Config, runID string) *plan {
	p := &plan{runID: runID, prefix: "bench-" + runID + "-"}
	for i := range cfg.Conns {
		p.active = append(p.active, fmt.Sprintf("%sa%d", p.prefix, i))
	}
	for i := range cfg.Idle {
		p.idle = append(p.idle, fmt.Sprintf("%si%d", p.prefix, i))
	}
	if cfg.Conns == 0 {
		return p
	}
	if cfg.Groups == 0 {
		for i := 0; i < cfg.Conns; i += 2 {
			p.convs = append(p.convs, convPlan{
				members: []string{p.active[i], p.active[i+1]},
				conns:   []int{i, i + 1},
			})
		}
		return p
	}
	// Connection i is slot i/Groups of group i%Groups; slot 0, the
	// creator, always has a connection because Conns >= Groups.
	for g := range cfg.Groups {
		cp := convPlan{name: fmt.Sprintf("bench %s group %d", runID, g+1)}
		for slot := range cfg.GroupSize {
			if i := g + slot*cfg.Groups; i < cfg.Conns {
				cp.members = append(cp.members, p.active[i])
				cp.conns = append(cp.conns, i)
				continue
			}
			id := fmt.Sprintf("%so%d", p.prefix, len(p.offline))
			p.offline = append(p.offline, id)
			cp.members = append(cp.members, id)
		}
		p.convs = append(p.convs, cp)
	}
	return p
}

// allMembers lists every member the plan creates.
func (p *plan) allMembers() []string {
	all := make([]string, 0, len(p.active)+len(p.offline)+len(p.idle))
	all = append(all, p.active...)
	all = append(all, p.offline...)
	return append(all, p.idle...)
}
