package recording

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"parley/sfu/mediatest"
)

// The clips every test records: short and small, so the package stays
// fast on a busy machine. mediatest caches the encodes.
const (
	clipDuration = 2 * time.Second
	clipWidth    = 320
	clipHeight   = 180
)

func videoClip(t *testing.T, mime string, d time.Duration) mediatest.Clip {
	t.Helper()
	return mediatest.Video(t, mediatest.VideoSpec{MimeType: mime, Width: clipWidth, Height: clipHeight, Duration: d})
}

// timedPacket is an RTP packet and when, in the sender's media time, it
// was sent.
type timedPacket struct {
	pkt   *rtp.Packet
	at    time.Duration
	frame int // index of the clip frame the packet carries
}

// sentStream is one track as a test publisher sends it.
type sentStream struct {
	ssrc     uint32
	tsBase   uint32
	rate     uint32
	start    time.Duration // sender time of the first frame
	packets  []timedPacket
	duration time.Duration
}

// packetize turns a clip into RTP packets with Pion's packetizer and the
// codec's payloader, starting at tsBase and at sender time start.
func packetize(t testing.TB, clip mediatest.Clip, ssrc, tsBase uint32, seq uint16, start time.Duration) *sentStream {
	t.Helper()
	var payloader rtp.Payloader
	rate := uint32(90000)
	switch clip.MimeType {
	case MimeTypeVP8:
		payloader = &codecs.VP8Payloader{EnablePictureID: true}
	case MimeTypeVP9:
		payloader = &codecs.VP9Payloader{}
	case MimeTypeH264:
		payloader = &codecs.H264Payloader{}
	case MimeTypeOpus:
		payloader = &codecs.OpusPayloader{}
		rate = 48000
	default:
		t.Fatalf("no payloader for %s", clip.MimeType)
	}
	p := rtp.NewPacketizerWithOptions(1200, payloader, rtp.NewFixedSequencer(seq), rate,
		rtp.WithSSRC(ssrc), rtp.WithPayloadType(96), rtp.WithTimestamp(tsBase))
	s := &sentStream{ssrc: ssrc, tsBase: tsBase, rate: rate, start: start, duration: clip.Duration()}
	at := start
	for i, f := range clip.Frames {
		samples := uint32(int64(f.Duration) * int64(rate) / int64(time.Second))
		for _, pkt := range p.Packetize(f.Data, samples) {
			s.packets = append(s.packets, timedPacket{pkt, at, i})
		}
		at += f.Duration
	}
	return s
}

// senderReport is the report the stream's sender would send if its clock
// read t0 at the stream's first frame.
func (s *sentStream) senderReport(t0 time.Time) *rtcp.SenderReport {
	return &rtcp.SenderReport{SSRC: s.ssrc, NTPTime: toNTP(t0.Add(s.start)), RTPTime: s.tsBase}
}

func toNTP(t time.Time) uint64 {
	sec := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return sec<<32 | frac
}

// feedItem is one packet for one track.
type feedItem struct {
	w   *TrackWriter
	pkt *rtp.Packet
	at  time.Duration
}

// interleave orders the packets of several tracks as a sender would send
// them: by sender time.
func interleave(tracks map[*TrackWriter]*sentStream) []feedItem {
	var items []feedItem
	for w, s := range tracks {
		for _, tp := range s.packets {
			items = append(items, feedItem{w, tp.pkt, tp.at})
		}
	}
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].at != items[j].at {
			return items[i].at < items[j].at
		}
		return items[i].w.codec < items[j].w.codec // deterministic across map order
	})
	return items
}

// perturb reorders some packets and duplicates a few, as a network does,
// with a fixed seed so every run sees the same.
func perturb(items []feedItem) []feedItem {
	r := rand.New(rand.NewPCG(1, 2))
	out := slices.Clone(items)
	for i := 20; i+2 < len(out); i += 15 + r.IntN(20) {
		out[i], out[i+2] = out[i+2], out[i]
	}
	for _, i := range []int{len(out) / 3, len(out) / 2} {
		dup := out[i]
		out = slices.Insert(out, i+3, dup)
	}
	return out
}

func feed(items []feedItem) {
	for _, it := range items {
		it.w.WriteRTP(it.pkt)
	}
}

// feedPaced feeds chunk packets at a time, each time waiting for the
// participant's goroutine to take them, so a small queue never overflows.
func feedPaced(p *Participant, items []feedItem, chunk int) {
	for i := 0; i < len(items); i += chunk {
		feed(items[i:min(i+chunk, len(items))])
		p.do(func() {})
	}
}

// eventLog collects a session's events.
type eventLog struct {
	mu     sync.Mutex
	events []Event
	ch     chan Event
}

func newEventLog() *eventLog { return &eventLog{ch: make(chan Event, 16)} }

func (l *eventLog) record(ev Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
	select {
	case l.ch <- ev:
	default:
	}
}

func (l *eventLog) list() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// waitFor returns the next event of type typ, failing after a generous
// limit so a broken recorder fails the test instead of hanging it.
func (l *eventLog) waitFor(t *testing.T, typ EventType) Event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-l.ch:
			if ev.Type == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

// quietLogger keeps the recorder's expected errors (a full disk) out of
// the test output.
var quietLogger = slog.New(slog.DiscardHandler)

func startSession(t *testing.T, events *eventLog) *Session {
	t.Helper()
	cfg := Config{Dir: t.TempDir(), ID: "rec1", QueueLength: 1 << 14, Logger: quietLogger}
	if events != nil {
		cfg.OnEvent = events.record
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// probe is what ffprobe says of a file.
type probe struct {
	Streams []struct {
		CodecName  string `json:"codec_name"`
		CodecType  string `json:"codec_type"`
		StartTime  string `json:"start_time"`
		NbReadPkts string `json:"nb_read_packets"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		NbStreams  int    `json:"nb_streams"`
	} `json:"format"`
}

func ffprobe(t *testing.T, path string, extra ...string) probe {
	t.Helper()
	args := append([]string{"-v", "error", "-show_streams", "-show_format", "-of", "json"}, extra...)
	args = append(args, path)
	var stderr bytes.Buffer
	cmd := exec.Command("ffprobe", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", path, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("ffprobe %s complains: %s", path, stderr.String())
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v", err)
	}
	return p
}

// decodes runs the file through ffmpeg's decoders and fails on any error.
func decodes(t *testing.T, path string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", path, "-f", "null", "-")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg decode %s: %v: %s", path, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("ffmpeg decode %s reports errors:\n%s", path, stderr.String())
	}
}

func seconds(t *testing.T, s string) time.Duration {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("parse seconds %q: %v", s, err)
	}
	return time.Duration(f * float64(time.Second))
}

// within fails unless got is within frac of want.
func within(t *testing.T, what string, got, want time.Duration, frac float64) {
	t.Helper()
	if d := got - want; d > time.Duration(float64(want)*frac) || -d > time.Duration(float64(want)*frac) {
		t.Fatalf("%s = %v, want %v within %.0f%%", what, got, want, frac*100)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func itoa(n int) string { return strconv.Itoa(n) }
