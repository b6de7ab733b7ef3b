package livews

import (
	"context"
	"errors"

	"parley/chat/liveroom"
	"parley/chat/msglog"
	"parley/sfu/live"
	"parley/signaling/ws"
)

type liveRequest struct {
	LiveID string `json:"live_id"`
}

// joinedReply answers live.join: the session's place in the live and the
// state a client shows before the first push, including what a viewer
// token cannot read from the REST API (title, host's name).
type joinedReply struct {
	LiveID      string          `json:"live_id"`
	Role        string          `json:"role"`
	ViewerID    string          `json:"viewer_id"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	HostID      string          `json:"host_id"`
	HostName    string          `json:"host_name"`
	Status      live.Status     `json:"status"`
	LastSeq     uint64          `json:"last_seq"`
	Likes       uint64          `json:"likes"`
	Viewers     int             `json:"viewers"`
	Muted       bool            `json:"muted"`
	Polls       []liveroom.Poll `json:"polls"`
}

// join admits the session to a live's room. Joining a room the session
// is already in answers with the state again and records nothing.
func (hs *Handlers) join(ctx context.Context, s *ws.Session, m ws.Message) {
	var req liveRequest
	if !decode(s, m, &req) {
		return
	}
	id, ok := hs.Identify(s)
	if !ok {
		s.ReplyError(m, CodeForbidden, "this token does not admit you to lives")
		return
	}
	l, err := hs.Lives.Get(req.LiveID)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	role, err := hs.role(l, id)
	if err != nil {
		hs.fail(s, m, err)
		return
	}

	hs.mu.Lock()
	st := hs.sessions[s]
	first := st == nil
	if first {
		st = &sessionState{id: id, lives: map[string]*joined{}}
		hs.sessions[s] = st
	}
	j, already := st.lives[l.ID]
	if !already {
		if len(st.lives) >= MaxLivesPerSession {
			hs.mu.Unlock()
			s.ReplyError(m, CodeLimit, "a session is in at most 8 live rooms; leave one first")
			return
		}
		j = &joined{}
		st.lives[l.ID] = j
	}
	hs.mu.Unlock()
	if first {
		hs.cleanups.Add(1)
		context.AfterFunc(s.Context(), func() {
			defer hs.cleanups.Done()
			hs.closeSession(s)
		})
	}

	if !already {
		join := func() error { return hs.Rooms.Join(l.ID, id.ViewerID, s) }
		if role != RoleViewer { // presenters are not counted as viewers
			join = func() error { return hs.Rooms.JoinPresenter(l.ID, s) }
		}
		if err := join(); err != nil {
			hs.mu.Lock()
			if st.lives[l.ID] == j {
				delete(st.lives, l.ID)
			}
			hs.mu.Unlock()
			hs.fail(s, m, err)
			return
		}
		recordID := hs.recordJoin(l, role, id)
		hs.mu.Lock()
		stillIn := hs.sessions[s] == st && st.lives[l.ID] == j
		if stillIn {
			j.recordID = recordID
		}
		hs.mu.Unlock()
		if !stillIn { // the session closed meanwhile
			hs.leaveRoom(s, l.ID, &joined{recordID: recordID})
			return
		}
	}

	out := joinedReply{
		LiveID: l.ID, Role: role, ViewerID: id.ViewerID,
		Title: l.Title, Description: l.Description, HostID: l.HostID, HostName: hs.memberName(l.HostID),
		Status: l.Status, Viewers: hs.Rooms.LocalViewers(l.ID),
	}
	if out.LastSeq, err = hs.Rooms.LastSeq(l.ID); err == nil {
		if out.Likes, err = hs.Rooms.Likes(l.ID); err == nil {
			if out.Muted, err = hs.Rooms.IsMuted(l.ID, id.ViewerID); err == nil {
				out.Polls, err = hs.Rooms.OpenPolls(l.ID)
			}
		}
	}
	hs.reply(s, m, "live.joined", out, err)
}

// recordJoin records a viewer's join in the live's statistics while it is
// on air, and returns the record's id ("" when none was made). Hosts and
// guests are not audience.
func (hs *Handlers) recordJoin(l live.Live, role string, id Identity) string {
	if role != RoleViewer || l.Status != live.StatusLive {
		return ""
	}
	name := displayName(id.Name, id.ViewerID)
	recordID, err := hs.Lives.RecordViewerJoin(l.ID, live.Viewer{ID: id.ViewerID, MemberID: id.MemberID, Name: name}, hs.Now())
	if err != nil {
		if !errors.Is(err, live.ErrState) { // went off air meanwhile
			hs.Logger.Warn("live: record viewer join", "live", l.ID, "viewer", id.ViewerID, "err", err)
		}
		return ""
	}
	return recordID
}

func (hs *Handlers) leave(ctx context.Context, s *ws.Session, m ws.Message) {
	var req liveRequest
	if !decode(s, m, &req) {
		return
	}
	hs.mu.Lock()
	var j *joined
	if st := hs.sessions[s]; st != nil {
		j = st.lives[req.LiveID]
		delete(st.lives, req.LiveID)
	}
	hs.mu.Unlock()
	if j != nil {
		hs.leaveRoom(s, req.LiveID, j)
	}
	s.Reply(m, "live.left", liveRequest{LiveID: req.LiveID})
}

type rangeRequest struct {
	LiveID    string `json:"live_id"`
	FromSeq   uint64 `json:"from_seq"`
	BeforeSeq uint64 `json:"before_seq"`
	Limit     int    `json:"limit"`
}

type entriesReply struct {
	LiveID  string         `json:"live_id"`
	Entries []msglog.Entry `json:"entries"`
}

func (hs *Handlers) history(ctx context.Context, s *ws.Session, m ws.Message) {
	hs.entries(s, m, false)
}

func (hs *Handlers) pull(ctx context.Context, s *ws.Session, m ws.Message) {
	hs.entries(s, m, true)
}

// entries answers live.history (newest first, before before_seq) and
// live.pull (ascending, from from_seq).
func (hs *Handlers) entries(s *ws.Session, m ws.Message, ascending bool) {
	var req rangeRequest
	if !decode(s, m, &req) {
		return
	}
	if _, _, err := hs.member(s, req.LiveID); err != nil {
		hs.fail(s, m, err)
		return
	}
	limit := min(req.Limit, MaxHistoryLimit)
	var es []msglog.Entry
	var err error
	if ascending {
		es, err = hs.Rooms.Pull(req.LiveID, req.FromSeq, limit)
	} else {
		es, err = hs.Rooms.History(req.LiveID, req.BeforeSeq, limit)
	}
	if es == nil {
		es = []msglog.Entry{}
	}
	hs.reply(s, m, "live.entries", entriesReply{LiveID: req.LiveID, Entries: es}, err)
}

func (hs *Handlers) comment(ctx context.Context, s *ws.Session, m ws.Message) {
	hs.post(ctx, s, m, "comment", hs.Rooms.Comment)
}

func (hs *Handlers) ask(ctx context.Context, s *ws.Session, m ws.Message) {
	hs.post(ctx, s, m, "question", hs.Rooms.Ask)
}

// post stores a viewer's comment or question under the comment limit and
// counts it as an interaction of kind.
func (hs *Handlers) post(ctx context.Context, s *ws.Session, m ws.Message, kind string,
	store func(context.Context, string, liveroom.TextRequest) (liveroom.Ack, error)) {
	var req liveroom.TextRequest
	if !decode(s, m, &req) {
		return
	}
	id, err := hs.viewerAction(s, req.LiveID)
	if err == nil {
		err = hs.takeComment(id, req.LiveID)
	}
	var ack liveroom.Ack
	if err == nil {
		req.SenderName = hs.senderName(id)
		ack, err = store(ctx, id.ViewerID, req)
	}
	if err == nil && !ack.Duplicate {
		hs.count(req.LiveID, kind, 1) // before the ack: whoever sees the ack sees the count
	}
	hs.reply(s, m, "live.ack", ack, err)
}

type likeRequest struct {
	LiveID string `json:"live_id"`
	Count  int    `json:"count"`
}

func (hs *Handlers) like(ctx context.Context, s *ws.Session, m ws.Message) {
	var req likeRequest
	if !decode(s, m, &req) {
		return
	}
	if req.Count == 0 {
		req.Count = 1
	}
	id, err := hs.viewerAction(s, req.LiveID)
	if err == nil {
		err = hs.likes.Take(req.LiveID+"/"+id.ViewerID, hs.Now())
	}
	if err == nil {
		err = hs.Rooms.Like(req.LiveID, id.ViewerID, req.Count)
	}
	if err == nil {
		hs.count(req.LiveID, "like", req.Count)
	}
	hs.reply(s, m, "live.liked", req, err)
}

type voteRequest struct {
	LiveID string `json:"live_id"`
	PollID uint64 `json:"poll_id"`
	Option int    `json:"option"`
}

func (hs *Handlers) vote(ctx context.Context, s *ws.Session, m ws.Message) {
	var req voteRequest
	if !decode(s, m, &req) {
		return
	}
	id, err := hs.viewerAction(s, req.LiveID)
	if err == nil {
		err = hs.Rooms.Vote(req.LiveID, id.ViewerID, req.PollID, req.Option)
	}
	if err == nil {
		hs.count(req.LiveID, "vote", 1)
	}
	hs.reply(s, m, "live.voted", req, err)
}

func (hs *Handlers) answer(ctx context.Context, s *ws.Session, m ws.Message) {
	var req liveroom.AnswerRequest
	if !decode(s, m, &req) {
		return
	}
	id, _, err := hs.moderator(s, req.LiveID)
	var ack liveroom.Ack
	if err == nil {
		req.SenderName = hs.senderName(id)
		ack, err = hs.Rooms.Answer(ctx, id.MemberID, req)
	}
	hs.reply(s, m, "live.ack", ack, err)
}

func (hs *Handlers) announce(ctx context.Context, s *ws.Session, m ws.Message) {
	var req liveroom.TextRequest
	if !decode(s, m, &req) {
		return
	}
	id, _, err := hs.moderator(s, req.LiveID)
	var ack liveroom.Ack
	if err == nil {
		req.SenderName = hs.senderName(id)
		ack, err = hs.Rooms.Announce(ctx, id.MemberID, req)
	}
	hs.reply(s, m, "live.ack", ack, err)
}

type seqRequest struct {
	LiveID string `json:"live_id"`
	Seq    uint64 `json:"seq"`
}

func (hs *Handlers) deleteEntry(ctx context.Context, s *ws.Session, m ws.Message) {
	var req seqRequest
	if !decode(s, m, &req) {
		return
	}
	id, _, err := hs.moderator(s, req.LiveID)
	var ack liveroom.Ack
	if err == nil {
		ack, err = hs.Rooms.Delete(ctx, req.LiveID, id.MemberID, req.Seq)
	}
	hs.reply(s, m, "live.ack", ack, err)
}

func (hs *Handlers) mute(ctx context.Context, s *ws.Session, m ws.Message) {
	var req liveroom.MuteRequest
	if !decode(s, m, &req) {
		return
	}
	id, l, err := hs.moderator(s, req.LiveID)
	if err == nil && l.Presents(req.ViewerID) {
		err = reqErr(CodeForbidden, "the host and guests cannot be muted")
	}
	var ack liveroom.Ack
	if err == nil {
		ack, err = hs.Rooms.Mute(ctx, id.MemberID, req)
	}
	hs.reply(s, m, "live.ack", ack, err)
}

func (hs *Handlers) openPoll(ctx context.Context, s *ws.Session, m ws.Message) {
	var req liveroom.OpenPollRequest
	if !decode(s, m, &req) {
		return
	}
	id, _, err := hs.moderator(s, req.LiveID)
	var p liveroom.Poll
	if err == nil {
		p, err = hs.Rooms.OpenPoll(ctx, id.MemberID, req)
	}
	hs.reply(s, m, "live.poll", p, err)
}

type pollRequest struct {
	LiveID string `json:"live_id"`
	PollID uint64 `json:"poll_id"`
}

func (hs *Handlers) closePoll(ctx context.Context, s *ws.Session, m ws.Message) {
	var req pollRequest
	if !decode(s, m, &req) {
		return
	}
	id, _, err := hs.moderator(s, req.LiveID)
	var p liveroom.Poll
	if err == nil {
		p, err = hs.Rooms.ClosePoll(ctx, req.LiveID, id.MemberID, req.PollID)
	}
	hs.reply(s, m, "live.poll", p, err)
}

// draw runs a lottery among the viewers: the host and guests never win.
func (hs *Handlers) draw(ctx context.Context, s *ws.Session, m ws.Message) {
	var req liveroom.DrawRequest
	if !decode(s, m, &req) {
		return
	}
	id, l, err := hs.moderator(s, req.LiveID)
	var d liveroom.Draw
	if err == nil {
		d, err = hs.Rooms.DrawLottery(ctx, id.MemberID, req, append([]string{l.HostID}, l.Guests...))
	}
	hs.reply(s, m, "live.lottery", d, err)
}

type drawsReply struct {
	LiveID string          `json:"live_id"`
	Draws  []liveroom.Draw `json:"draws"`
}

// draws lists a live's draws, with their seeds, to anyone in its room.
func (hs *Handlers) draws(ctx context.Context, s *ws.Session, m ws.Message) {
	var req liveRequest
	if !decode(s, m, &req) {
		return
	}
	_, _, err := hs.member(s, req.LiveID)
	var ds []liveroom.Draw
	if err == nil {
		ds, err = hs.Rooms.Draws(req.LiveID)
	}
	hs.reply(s, m, "live.draws", drawsReply{LiveID: req.LiveID, Draws: ds}, err)
}
