package wire

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Meetings and lives over REST (signaling/PROTOCOL.md, sections 9 and
// 10), WHIP and WHEP, and the live recordings' replay: what the media
// scenarios of the generator need.

// maxSDPAnswer bounds an SDP answer the generator reads; the server sends
// at most 64 KiB.
const maxSDPAnswer = 1 << 20

// ContentTypeSDP is the media type of WHIP and WHEP offers and answers.
const ContentTypeSDP = "application/sdp"

// Error codes of WHIP and WHEP the generator tells apart.
const (
	// CodeNotOnAir answers WHEP for a live with no media yet.
	CodeNotOnAir = "not_on_air"
)

// MeetingSettings are the settings a meeting is created with; nil fields
// take the server's defaults.
type MeetingSettings struct {
	Locked          *bool `json:"locked,omitempty"`
	WaitingRoom     *bool `json:"waiting_room,omitempty"`
	MuteOnEntry     *bool `json:"mute_on_entry,omitempty"`
	AllowGuests     *bool `json:"allow_guests,omitempty"`
	AutoRecord      *bool `json:"auto_record,omitempty"`
	MaxParticipants int   `json:"max_participants,omitempty"`
}

// NewMeeting is the body of POST /api/v1/meetings: an instant meeting
// when it has no scheduled start.
type NewMeeting struct {
	Title    string          `json:"title"`
	Invitees []string        `json:"invitees,omitempty"`
	Settings MeetingSettings `json:"settings"`
}

// Meeting is the part of a meeting record the generator reads.
type Meeting struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Status string `json:"status"`
}

// CreateMeeting creates a meeting hosted by the token's member.
func (c *Client) CreateMeeting(ctx context.Context, token string, m NewMeeting) (Meeting, error) {
	var out Meeting
	if err := c.call(ctx, "POST", "/api/v1/meetings", token, m, &out); err != nil {
		return Meeting{}, fmt.Errorf("create meeting %q: %w", m.Title, err)
	}
	return out, nil
}

// MeetingRecording is one recording of a meeting, as
// GET /api/v1/meetings/{id}/recordings lists it.
type MeetingRecording struct {
	RecordingID string `json:"recording_id"`
	State       string `json:"state"` // "finished" or "unfinished"
	Manifest    *struct {
		StartedAt  time.Time       `json:"started_at"`
		StoppedAt  time.Time       `json:"stopped_at"`
		StopReason string          `json:"stop_reason"`
		Files      []RecordingFile `json:"files"`
	} `json:"manifest"`
}

// MeetingRecordingFinished is the state of a recording with its
// manifest.
const MeetingRecordingFinished = "finished"

// MeetingRecordings lists a meeting's recordings; token must be a host's,
// a co-host's or a super admin's.
func (c *Client) MeetingRecordings(ctx context.Context, token, meetingID string) ([]MeetingRecording, error) {
	var out struct {
		Recordings []MeetingRecording `json:"recordings"`
	}
	if err := c.call(ctx, "GET", "/api/v1/meetings/"+url.PathEscape(meetingID)+"/recordings", token, nil, &out); err != nil {
		return nil, fmt.Errorf("list recordings of meeting %s: %w", meetingID, err)
	}
	return out.Recordings, nil
}

// MeetingRecordingPath is where one file of a meeting recording is
// served.
func MeetingRecordingPath(meetingID, recordingID, name string) string {
	return "/api/v1/meetings/" + url.PathEscape(meetingID) + "/recordings/" + url.PathEscape(recordingID) + "/files/" + url.PathEscape(name)
}

// LiveScope says who may watch a live.
type LiveScope struct {
	Kind       string `json:"kind"` // "internal" or "external"
	AllMembers bool   `json:"all_members,omitempty"`
}

// NewLive is the body of POST /api/v1/lives.
type NewLive struct {
	Title  string    `json:"title"`
	Scope  LiveScope `json:"scope"`
	Record bool      `json:"record"`
}

// Live is the part of a live record the generator reads. StreamKey is
// set only in the answer of CreateLive.
type Live struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Status    string `json:"status"`
	Record    bool   `json:"record"`
	StreamKey string `json:"stream_key"`
}

// CreateLive creates a live hosted by the token's member, with its
// stream key.
func (c *Client) CreateLive(ctx context.Context, token string, l NewLive) (Live, error) {
	var out Live
	if err := c.call(ctx, "POST", "/api/v1/lives", token, l, &out); err != nil {
		return Live{}, fmt.Errorf("create live %q: %w", l.Title, err)
	}
	return out, nil
}

// GetLive reads a live.
func (c *Client) GetLive(ctx context.Context, token, id string) (Live, error) {
	var out Live
	if err := c.call(ctx, "GET", "/api/v1/lives/"+url.PathEscape(id), token, nil, &out); err != nil {
		return Live{}, fmt.Errorf("read live %s: %w", id, err)
	}
	return out, nil
}

// DeleteLive deletes a live that is not on air; token must be its
// host's.
func (c *Client) DeleteLive(ctx context.Context, token, id string) error {
	if err := c.call(ctx, "DELETE", "/api/v1/lives/"+url.PathEscape(id), token, nil, nil); err != nil {
		return fmt.Errorf("delete live %s: %w", id, err)
	}
	return nil
}

// Recording is one finished recording of a live.
type Recording struct {
	ID         string          `json:"id"`
	StartedAt  time.Time       `json:"started_at"`
	StoppedAt  time.Time       `json:"stopped_at"`
	StopReason string          `json:"stop_reason"`
	Files      []RecordingFile `json:"files"`
}

// RecordingFile is one file of a recording, as its manifest lists it.
type RecordingFile struct {
	Name          string `json:"name"`
	Participant   string `json:"participant"` // meetings: whose file it is
	URL           string `json:"url"`         // lives: a path on the server
	Segment       int    `json:"segment"`
	Container     string `json:"container"`
	ContentType   string `json:"content_type"`
	StartOffsetMs int64  `json:"start_offset_ms"`
	DurationMs    int64  `json:"duration_ms"`
	Bytes         int64  `json:"bytes"`
	Complete      bool   `json:"complete"`
}

// LiveRecordings lists a live's finished recordings.
func (c *Client) LiveRecordings(ctx context.Context, token, liveID string) ([]Recording, error) {
	var out struct {
		Recordings []Recording `json:"recordings"`
	}
	if err := c.call(ctx, "GET", "/api/v1/lives/"+url.PathEscape(liveID)+"/recordings", token, nil, &out); err != nil {
		return nil, fmt.Errorf("list recordings of live %s: %w", liveID, err)
	}
	return out.Recordings, nil
}

// Download writes the file at path (a recording's url) to w and returns
// how many bytes it wrote.
func (c *Client) Download(ctx context.Context, token, path string, w io.Writer) (int64, error) {
	if !strings.HasPrefix(path, "/") {
		return 0, fmt.Errorf("download %q: want a path on the server", path)
	}
	// A recording may take longer than one REST call is allowed.
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return 0, fmt.Errorf("download %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	client := *c.http
	client.Timeout = 0
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("download %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return 0, fmt.Errorf("download %s: status %d: %s", path, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("download %s: %w", path, err)
	}
	return n, nil
}

// downloadTimeout bounds one recording download.
const downloadTimeout = 5 * time.Minute

// SDPSession is a WHIP or WHEP session the server made.
type SDPSession struct {
	Location string // the session's resource, a path on the server
	ETag     string
	Answer   string
}

// PublishWHIP sends an encoder's offer to POST /whip with the stream
// key.
func (c *Client) PublishWHIP(ctx context.Context, streamKey, offer string) (SDPSession, error) {
	return c.postSDP(ctx, "/whip", streamKey, offer)
}

// PlayWHEP sends a player's offer to POST /whep/{live id} with an
// access token. A live not on air yet is an *APIError with code
// CodeNotOnAir.
func (c *Client) PlayWHEP(ctx context.Context, liveID, token, offer string) (SDPSession, error) {
	return c.postSDP(ctx, "/whep/"+url.PathEscape(liveID), token, offer)
}

func (c *Client) postSDP(ctx context.Context, path, token, offer string) (SDPSession, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+path, strings.NewReader(offer))
	if err != nil {
		return SDPSession{}, fmt.Errorf("POST %s: %w", path, err)
	}
	req.Header.Set("Content-Type", ContentTypeSDP)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return SDPSession{}, fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return SDPSession{}, fmt.Errorf("POST %s: %w", path, readAPIError(resp))
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxSDPAnswer))
	if err != nil {
		return SDPSession{}, fmt.Errorf("POST %s: read answer: %w", path, err)
	}
	s := SDPSession{Location: resp.Header.Get("Location"), ETag: resp.Header.Get("ETag"), Answer: string(raw)}
	if s.Location == "" || len(raw) == 0 {
		return SDPSession{}, fmt.Errorf("POST %s: 201 without a Location or an answer", path)
	}
	if !strings.HasPrefix(s.Location, "/") {
		u, err := url.Parse(s.Location)
		if err != nil {
			return SDPSession{}, fmt.Errorf("POST %s: Location %q: %w", path, s.Location, err)
		}
		s.Location = u.Path
	}
	return s, nil
}

// readAPIError reads an answer that is not the one expected as an
// *APIError: the API's error body when it has one, its text otherwise.
func readAPIError(resp *http.Response) *APIError {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
		e.Error.Message = strings.TrimSpace(string(raw))
	}
	return &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
}

// EndSession ends a WHIP or WHEP session: DELETE on its Location.
func (c *Client) EndSession(ctx context.Context, location, token string) error {
	req, err := http.NewRequestWithContext(ctx, "DELETE", c.base+location, nil)
	if err != nil {
		return fmt.Errorf("DELETE %s: %w", location, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if err := c.do(req, nil); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}
