package ws

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
)

// pollBatch is how many ready sockets one epoll_wait returns at most.
const pollBatch = 128

// poller watches the sockets of idle sessions with one epoll instance, so
// an idle session needs no goroutine: its reader arms the poller and
// ends, and the poller starts a new reader when bytes arrive.
//
// The runtime's own poller also watches these sockets; a second epoll
// instance on the same descriptor is allowed and leaves it undisturbed.
// Each registration is one-shot: an event disarms it until the next
// reader parks again, so one socket never has two readers.
type poller struct {
	epfd int
	wake [2]int // a pipe whose read end, registered as id 0, stops run

	mu       sync.Mutex
	sessions map[uint64]*Session // by poll id
	nextID   uint64
	closed   bool
}

// newPoller creates the epoll instance and starts its goroutine.
func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	p := &poller{epfd: epfd, sessions: map[uint64]*Session{}}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN} // id 0
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		p.closeFiles()
		return nil, fmt.Errorf("epoll_ctl: add wake pipe: %w", err)
	}
	go p.run()
	return p, nil
}

// arm watches s's socket for the next readable event, registering it
// first if it is new. The caller holds s.mu and has marked s parked, so
// an event that comes at once waits for the caller to finish.
func (p *poller) arm(s *Session) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("poller closed")
	}
	op := syscall.EPOLL_CTL_MOD
	if s.pollID == 0 {
		p.nextID++
		s.pollID = p.nextID
		p.sessions[s.pollID] = s
		op = syscall.EPOLL_CTL_ADD
	}
	id := s.pollID
	p.mu.Unlock()

	ev := syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(uint32(id)),
		Pad:    int32(uint32(id >> 32)),
	}
	var cerr error
	// Control holds the descriptor open for the call, so a socket closed
	// meanwhile fails here instead of naming a reused descriptor.
	err := s.in.raw.Control(func(fd uintptr) {
		cerr = syscall.EpollCtl(p.epfd, op, int(fd), &ev)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// forget stops watching s. A socket that is already closed has left the
// epoll set by itself.
func (p *poller) forget(s *Session) {
	p.mu.Lock()
	if s.pollID == 0 {
		p.mu.Unlock()
		return
	}
	delete(p.sessions, s.pollID)
	p.mu.Unlock()
	_ = s.in.raw.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
}

// run hands each readable socket back to its session.
func (p *poller) run() {
	events := make([]syscall.EpollEvent, pollBatch)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			p.stop()
			return
		}
		for i := range events[:n] {
			id := uint64(uint32(events[i].Fd)) | uint64(uint32(events[i].Pad))<<32
			if id == 0 {
				p.stop()
				return
			}
			p.mu.Lock()
			s := p.sessions[id]
			p.mu.Unlock()
			if s != nil {
				s.resume()
			}
		}
	}
}

// close stops the poller. Sessions it still watches are woken so their
// readers find out how their sockets stand.
func (p *poller) close() {
	_, _ = syscall.Write(p.wake[1], []byte{1})
}

// stop runs on the poller's goroutine as it ends: it wakes every session
// still parked, whose readers then see their sockets closed or readable,
// and releases the descriptors.
func (p *poller) stop() {
	p.mu.Lock()
	p.closed = true
	parked := make([]*Session, 0, len(p.sessions))
	for _, s := range p.sessions {
		parked = append(parked, s)
	}
	p.sessions = nil
	p.mu.Unlock()
	p.closeFiles()
	for _, s := range parked {
		s.resume()
	}
}

func (p *poller) closeFiles() {
	syscall.Close(p.wake[0])
	syscall.Close(p.wake[1])
	syscall.Close(p.epfd)
}
