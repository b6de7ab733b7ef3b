package signaling

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"parley/sfu/live"
	"parley/signaling/livewatch"
	"parley/signaling/whip"
)

// liveRecordingsDir is where live recordings are kept, under the data
// directory.
const liveRecordingsDir = "recordings/lives"

// startLiveMedia starts the media side of lives on the node's transport:
// WHIP ingest, WHEP playback and the recordings' replay (mounted by
// routes), and live.watch on the member hub. Lives a previous process
// left on air get the disconnect grace to have their encoders come back.
// It runs after the REST API exists: who may watch is the API's scope
// decision.
func (s *Server) startLiveMedia(cfg Config, logger *slog.Logger) error {
	var err error
	s.broadcasts, err = live.NewBroadcasts(live.MediaConfig{
		Transport:       s.transport,
		Store:           s.lives,
		RecordingDir:    filepath.Join(cfg.DataDir, filepath.FromSlash(liveRecordingsDir)),
		DisconnectGrace: cfg.Live.DisconnectGrace,
		MaxBroadcasts:   cfg.Live.MaxBroadcasts,
		MaxViewers:      cfg.Live.MaxViewers,
		Logger:          logger,
		OnStatus: func(id string, st live.Status, at time.Time) {
			if err := s.liveRooms.PublishStatus(id, string(st), at); err != nil {
				logger.Warn("live status push", "live", id, "err", err)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("start live media: %w", err)
	}
	if err := s.broadcasts.Recover(); err != nil {
		return fmt.Errorf("start live media: %w", err)
	}
	access := &whip.Access{Lives: s.lives, Tokens: s.auth, Members: s.dir, InScope: s.api.InLiveScope}
	s.whip, err = whip.New(whip.Deps{Broadcasts: s.broadcasts, Access: access, Logger: logger})
	if err != nil {
		return fmt.Errorf("start live media: %w", err)
	}
	if err := livewatch.Register(s.hub, livewatch.Deps{Broadcasts: s.broadcasts, Access: access, Logger: logger}); err != nil {
		return fmt.Errorf("start live media: %w", err)
	}
	return nil
}
