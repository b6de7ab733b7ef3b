//go:build !linux

package ws

import "errors"

// poller is Linux-only (epoll). Elsewhere newPoller fails and every
// session keeps its reader goroutine, parked in the runtime's poller.
type poller struct{}

func newPoller() (*poller, error) {
	return nil, errors.New("no socket poller on this system")
}

func (p *poller) arm(s *Session) error { return errors.New("no socket poller on this system") }
func (p *poller) forget(s *Session)    {}
func (p *poller) close()               {}
