package meetbench

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrConfig marks a Config that cannot run; the message says why.
var ErrConfig = errors.New("invalid configuration")

// Layouts: the shapes of LiveKit's published meeting benchmarks.
const (
	// LayoutAudio: publishers send one microphone each; everyone in the
	// room hears every microphone (auto-subscribe), subscribers included.
	LayoutAudio = "audio"
	// LayoutVideo: publishers send one camera each and join without
	// auto-subscribe; every participant picks VideosPerSubscriber
	// cameras with meeting.subscribe, as a gallery view does.
	LayoutVideo = "video"
)

// Defaults, per layout, of the room shape.
const (
	DefaultRooms            = 1
	DefaultAudioPublishers  = 10
	DefaultAudioSubscribers = 40
	DefaultVideoPublishers  = 8
	DefaultVideoSubscribers = 0
)

// Limits of a run.
const (
	// VideosPerSubscriber is how many cameras each participant receives
	// in the video layout (fewer when the room has fewer).
	VideosPerSubscriber = 6
	// MaxParticipantsPerRoom is the largest max_participants a meeting
	// may have (PROTOCOL.md, section 9).
	MaxParticipantsPerRoom = 1000
	// MaxRunTime bounds the measured window, so the members' minted
	// tokens (24 hours at most) outlive the run.
	MaxRunTime = 23 * time.Hour
	// MinDuration is the shortest window that measures a rate.
	MinDuration = time.Second
)

// Config describes one meeting benchmark run.
type Config struct {
	URL           string        // server base URL, http or https
	AdminPassword string        // password of the super admin "admin"
	Duration      time.Duration // the measured window, after everyone joined
	Layout        string        // LayoutAudio or LayoutVideo
	Rooms         int           // meetings running at once
	// Publishers per room send media (and receive, like everyone);
	// Subscribers per room only receive.
	Publishers  int
	Subscribers int
	// Record has each room's host start the recording (meeting.host.record)
	// once the publishers are up and stop it at the end of the window;
	// then the run fetches the recordings and checks every file with
	// ffprobe, when it is installed.
	Record bool
	// MaxLoss is the share of packets that may be lost before the run
	// fails.
	MaxLoss float64
	// Keep leaves the run's members active at the end.
	Keep bool
	// Progress receives a line per phase and a line a second while
	// measuring; nil keeps quiet.
	Progress io.Writer
}

// Validate reports the first problem with c, wrapped in ErrConfig.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.URL == "":
		return bad("the server url is empty")
	case c.AdminPassword == "":
		return bad("no admin password: pass --admin-password or set PARLEY_ADMIN_PASSWORD")
	case c.Layout != LayoutAudio && c.Layout != LayoutVideo:
		return bad("--layout must be %q or %q", LayoutAudio, LayoutVideo)
	case c.Duration < MinDuration || c.Duration > MaxRunTime:
		return bad("--duration must be %v to %v", MinDuration, MaxRunTime)
	case c.Rooms < 1:
		return bad("--rooms must be at least 1")
	case c.Publishers < 1:
		return bad("--publishers must be at least 1: a room with no media measures nothing")
	case c.Subscribers < 0:
		return bad("--subscribers must not be negative")
	case c.Publishers == 1 && c.Subscribers == 0:
		return bad("one publisher and no subscribers: nobody receives anything")
	case c.Publishers+c.Subscribers > MaxParticipantsPerRoom:
		return bad("%d participants in a room: a meeting holds at most %d", c.Publishers+c.Subscribers, MaxParticipantsPerRoom)
	case !(c.MaxLoss >= 0 && c.MaxLoss <= 1):
		return bad("--max-loss must be 0 to 1")
	}
	return nil
}
