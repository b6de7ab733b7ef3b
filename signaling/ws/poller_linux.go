package ws

import (
	"errors"
	"fmt"
	"os"
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
//
// The epoll descriptor is itself pollable, so the poller's goroutine
// waits for it in the runtime's poller like any socket read, rather than
// blocking a thread in epoll_wait: a thread blocked in a system call gives
// up its P, and every wake-up would then cost a thread hand-off.
type poller struct {
	file *os.File        // the epoll descriptor, in the runtime's poller
	raw  syscall.RawConn // file's: Read waits until it is readable

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
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("epoll: set non-blocking: %w", err)
	}
	// os.NewFile puts a non-blocking descriptor in the runtime's poller.
	file := os.NewFile(uintptr(epfd), "epoll")
	raw, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("epoll: %w", err)
	}
	p := &poller{file: file, raw: raw, sessions: map[uint64]*Session{}}
	go p.run()
	return p, nil
}

// ctl runs epoll_ctl on session socket fd. Control holds the epoll
// descriptor open for the call, so a poller closed meanwhile fails here
// instead of naming a reused descriptor.
func (p *poller) ctl(op int, fd int, ev *syscall.EpollEvent) error {
	var cerr error
	if err := p.raw.Control(func(epfd uintptr) { cerr = syscall.EpollCtl(int(epfd), op, fd, ev) }); err != nil {
		return err
	}
	return cerr
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
	// Control holds the socket open for the call, so a socket closed
	// meanwhile fails here instead of naming a reused descriptor.
	err := s.in.raw.Control(func(fd uintptr) { cerr = p.ctl(op, int(fd), &ev) })
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
	_ = s.in.raw.Control(func(fd uintptr) { _ = p.ctl(syscall.EPOLL_CTL_DEL, int(fd), nil) })
}

// run hands each readable socket back to its session. It drains the
// epoll instance before it waits again, since the runtime's poller
// reports the descriptor edge-triggered.
func (p *poller) run() {
	events := make([]syscall.EpollEvent, pollBatch)
	var ready []*Session
	for {
		ready = ready[:0]
		var waitErr error
		err := p.raw.Read(func(epfd uintptr) bool {
			n, err := syscall.EpollWait(int(epfd), events, 0)
			if err != nil && !errors.Is(err, syscall.EINTR) {
				waitErr = err // cannot be waited out
				return true
			}
			if n <= 0 {
				return false // nothing ready: wait in the runtime's poller
			}
			p.mu.Lock()
			for i := range events[:n] {
				id := uint64(uint32(events[i].Fd)) | uint64(uint32(events[i].Pad))<<32
				if s := p.sessions[id]; s != nil {
					ready = append(ready, s)
				}
			}
			p.mu.Unlock()
			return true
		})
		for _, s := range ready {
			s.resume()
		}
		if err != nil || waitErr != nil { // closed, or epoll failed
			p.stop()
			return
		}
	}
}

// close stops the poller. Sessions it still watches are woken so their
// readers find out how their sockets stand.
func (p *poller) close() {
	_ = p.file.Close() // ends the wait in run, which then stops
}

// stop runs on the poller's goroutine as it ends: it wakes every session
// still parked, whose readers then see their sockets closed or readable.
func (p *poller) stop() {
	p.mu.Lock()
	p.closed = true
	parked := make([]*Session, 0, len(p.sessions))
	for _, s := range p.sessions {
		parked = append(parked, s)
	}
	p.sessions = nil
	p.mu.Unlock()
	for _, s := range parked {
		s.resume()
	}
}
