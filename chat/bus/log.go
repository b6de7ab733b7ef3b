package bus

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats-server/v2/server"
)

// LevelTrace is the slog level of NATS protocol traces. Traces print every
// protocol line, message payloads included, so they sit below Debug and
// appear only when the handler is set to this level on purpose.
const LevelTrace = slog.LevelDebug - 4

// serverLogger adapts an *slog.Logger to nats-server's Logger interface.
type serverLogger struct {
	logger *slog.Logger
}

var _ server.Logger = serverLogger{}

// setServerLogger routes the server's logs to logger. nats-server skips
// formatting debug and trace lines unless told they are wanted, so the flags
// follow the handler's level at start; a later level change does not turn
// them on.
func setServerLogger(s *server.Server, logger *slog.Logger) {
	ctx := context.Background()
	debug := logger.Enabled(ctx, slog.LevelDebug)
	trace := logger.Enabled(ctx, LevelTrace)
	s.SetLoggerV2(serverLogger{logger: logger}, debug, trace, false)
}

// Noticef logs at Info.
func (l serverLogger) Noticef(format string, v ...any) { l.log(slog.LevelInfo, format, v) }

// Warnf logs at Warn.
func (l serverLogger) Warnf(format string, v ...any) { l.log(slog.LevelWarn, format, v) }

// Errorf logs at Error.
func (l serverLogger) Errorf(format string, v ...any) { l.log(slog.LevelError, format, v) }

// Fatalf logs at Error and, unlike nats-server's own logger, does not exit
// the process: the failures it reports (a port already in use, say) leave
// the server not ready, and Start returns that as an error.
func (l serverLogger) Fatalf(format string, v ...any) { l.log(slog.LevelError, format, v) }

// Debugf logs at Debug.
func (l serverLogger) Debugf(format string, v ...any) { l.log(slog.LevelDebug, format, v) }

// Tracef logs at LevelTrace.
func (l serverLogger) Tracef(format string, v ...any) { l.log(LevelTrace, format, v) }

func (l serverLogger) log(level slog.Level, format string, v []any) {
	ctx := context.Background()
	if !l.logger.Enabled(ctx, level) {
		return
	}
	l.logger.Log(ctx, level, fmt.Sprintf(format, v...))
}
