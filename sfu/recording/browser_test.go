package recording

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/sfu/mediatest"
)

// chromiumPath is Debian's Chromium; tests never download a browser.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds one Chromium run.
const browserTimeout = 90 * time.Second

func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv(mediatest.RequireEnv) != "" {
			t.Fatalf("%s is required (%s is set): %v", chromiumPath, mediatest.RequireEnv, err)
		}
		t.Skip("chromium not installed")
	}
}

// playerPage plays each file twice: as a <video> source (seeking to the
// middle, which needs the Cues or the fragments, then playing to the
// end), and appended whole to a Media Source Extensions buffer, which is
// strict about the container. It posts what it saw to /result.
const playerPage = `<!doctype html><meta charset="utf-8"><body><script>
const files = %s;
function once(el, ev, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timeout waiting for " + ev)), ms);
    el.addEventListener(ev, () => { clearTimeout(t); resolve(); }, {once: true});
    el.addEventListener("error", () => {
      clearTimeout(t);
      const e = el.error;
      reject(new Error("error event" + (e ? ": " + e.code + " " + e.message : "")));
    }, {once: true});
  });
}
async function viaSrc(f) {
  const v = document.createElement("video");
  v.muted = true;
  document.body.appendChild(v);
  v.src = "/files/" + f.name;
  await once(v, "loadedmetadata", 20000);
  const r = {duration: v.duration, width: v.videoWidth, height: v.videoHeight};
  v.currentTime = v.duration / 2;
  await once(v, "seeked", 20000);
  r.seekedTo = v.currentTime;
  v.playbackRate = 2;
  await v.play();
  await once(v, "ended", 20000);
  r.endedAt = v.currentTime;
  r.frames = v.getVideoPlaybackQuality().totalVideoFrames;
  return r;
}
async function viaMSE(f) {
  if (!MediaSource.isTypeSupported(f.mime)) return {error: "type not supported: " + f.mime};
  const ms = new MediaSource();
  const v = document.createElement("video");
  v.muted = true;
  v.src = URL.createObjectURL(ms);
  await once(ms, "sourceopen", 10000);
  const sb = ms.addSourceBuffer(f.mime);
  const data = await (await fetch("/files/" + f.name)).arrayBuffer();
  sb.appendBuffer(data);
  await once(sb, "updateend", 10000);
  const b = sb.buffered;
  if (b.length === 0) return {error: "nothing buffered"};
  return {start: b.start(0), end: b.end(b.length - 1), ranges: b.length};
}
(async () => {
  const out = {};
  for (const f of files) {
    out[f.name] = {};
    try { out[f.name].src = await viaSrc(f); } catch (e) { out[f.name].src = {error: String(e)}; }
    try { out[f.name].mse = await viaMSE(f); } catch (e) { out[f.name].mse = {error: String(e)}; }
  }
  await fetch("/result", {method: "POST", body: JSON.stringify(out)});
})();
</script>`

type playResult struct {
	Src struct {
		Error    string  `json:"error"`
		Duration float64 `json:"duration"`
		Width    int     `json:"width"`
		Height   int     `json:"height"`
		SeekedTo float64 `json:"seekedTo"`
		EndedAt  float64 `json:"endedAt"`
		Frames   int     `json:"frames"`
	} `json:"src"`
	MSE struct {
		Error  string  `json:"error"`
		Start  float64 `json:"start"`
		End    float64 `json:"end"`
		Ranges int     `json:"ranges"`
	} `json:"mse"`
}

// TestBrowserPlaysRecordings records VP8+Opus to WebM and H.264+Opus to
// fragmented MP4, serves them the way the download endpoint will (through
// OpenFile and http.ServeContent, with Range), and has Chromium play them.
func TestBrowserPlaysRecordings(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	needChromium(t)
	audio := mediatest.Audio(t, clipDuration)
	s := startSession(t, nil)
	sent := map[string]time.Duration{}
	mimes := map[string]string{}
	for i, mime := range []string{MimeTypeVP8, MimeTypeH264} {
		video := videoClip(t, mime, clipDuration)
		id := fmt.Sprintf("p%d", i)
		p, err := s.AddParticipant(id)
		if err != nil {
			t.Fatal(err)
		}
		vw, _ := p.AddTrack(TrackConfig{ID: "cam", MimeType: mime})
		aw, _ := p.AddTrack(TrackConfig{ID: "mic", MimeType: MimeTypeOpus})
		vs := packetize(t, video, uint32(10+i), 1000, 1, 0)
		as := packetize(t, audio, uint32(20+i), 2000, 2, 0)
		t0 := time.Now()
		vw.WriteSenderReport(vs.senderReport(t0))
		aw.WriteSenderReport(as.senderReport(t0))
		feed(perturb(interleave(map[*TrackWriter]*sentStream{vw: vs, aw: as})))
		if mime == MimeTypeVP8 {
			mimes[FileName(id, 0, ContainerWebM)] = `video/webm; codecs="vp8,opus"`
			sent[FileName(id, 0, ContainerWebM)] = max(video.Duration(), audio.Duration())
		} else {
			sps := video.Frames[0].Data[5:8] // after the start code and NAL header
			mimes[FileName(id, 0, ContainerMP4)] = fmt.Sprintf(`video/mp4; codecs="avc1.%x,opus"`, sps)
			sent[FileName(id, 0, ContainerMP4)] = max(video.Duration(), audio.Duration())
		}
	}
	m, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(s.Dir())

	type pageFile struct {
		Name string `json:"name"`
		Mime string `json:"mime"`
	}
	var files []pageFile
	for _, e := range m.Files {
		files = append(files, pageFile{e.Name, mimes[e.Name]})
	}
	filesJSON, _ := json.Marshal(files)
	results := make(chan map[string]playResult, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, playerPage, filesJSON)
	})
	mux.HandleFunc("GET /files/{name}", func(w http.ResponseWriter, r *http.Request) {
		f, e, err := OpenFile(root, s.ID(), r.PathValue("name"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", e.Container.ContentType())
		http.ServeContent(w, r, e.Name, fi.ModTime(), f)
	})
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		var res map[string]playResult
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &res); err != nil {
			t.Errorf("page result %s: %v", b, err)
		}
		select {
		case results <- res:
		default:
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumPath, "--headless", "--no-sandbox", "--disable-gpu",
		"--mute-audio", "--autoplay-policy=no-user-gesture-required", "--no-first-run",
		"--user-data-dir="+t.TempDir(), srv.URL+"/")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
	}()
	var res map[string]playResult
	select {
	case res = <-results:
	case <-ctx.Done():
		t.Fatalf("no result from Chromium: %s", stderr.String())
	}
	for _, f := range files {
		r, ok := res[f.Name]
		if !ok {
			t.Fatalf("no result for %s", f.Name)
		}
		t.Logf("%s: %+v", f.Name, r)
		want := sent[f.Name]
		if r.Src.Error != "" {
			t.Errorf("%s as <video>: %s", f.Name, r.Src.Error)
		} else {
			within(t, f.Name+" <video> duration", secs(r.Src.Duration), want, 0.05)
			if r.Src.Width != clipWidth || r.Src.Height != clipHeight || r.Src.Frames == 0 {
				t.Errorf("%s as <video>: %+v", f.Name, r.Src)
			}
			within(t, f.Name+" <video> played to", secs(r.Src.EndedAt), want, 0.05)
		}
		if r.MSE.Error != "" {
			t.Errorf("%s through MSE: %s", f.Name, r.MSE.Error)
		} else {
			within(t, f.Name+" MSE buffered to", secs(r.MSE.End), want, 0.05)
			if r.MSE.Ranges != 1 || r.MSE.Start > 0.05 {
				t.Errorf("%s through MSE: buffered %+v, want one range from 0", f.Name, r.MSE)
			}
		}
	}
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
