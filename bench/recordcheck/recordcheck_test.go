package recordcheck

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"parley/sfu/mediatest"
)

func TestCheckProbesEveryFile(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.webm")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x96:rate=10",
		"-t", "1", "-c:v", "libvpx", "-deadline", "realtime", good).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"/good": raw, "/junk": []byte("not a media file")}
	fetch := func(_ context.Context, path string, w io.Writer) (int64, error) {
		b, ok := files[path]
		if !ok {
			return 0, errors.New("404")
		}
		n, err := io.Copy(w, bytes.NewReader(b))
		return n, err
	}
	entries := []Entry{{Path: "/good", Name: "a.webm"}, {Path: "/junk", Name: "b.webm"}, {Path: "/missing", Name: "c.webm"}}
	res, err := Check(context.Background(), entries, fetch, "video")
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid == nil || *res.Valid != 1 || len(res.Files) != 3 {
		t.Fatalf("valid %v of %d files: %+v", res.Valid, len(res.Files), res.Files)
	}
	if f := res.Files[0]; !f.Valid || f.Seconds < 0.8 || f.Seconds > 1.2 || f.Bytes != int64(len(raw)) {
		t.Fatalf("the good file: %+v", f)
	}
	if res.Files[1].Valid || res.Files[1].Error == "" || res.Files[2].Valid || res.Files[2].Error == "" {
		t.Fatalf("bad files pass: %+v", res.Files[1:])
	}
	if res.Seconds != res.Files[0].Seconds {
		t.Fatalf("seconds %v", res.Seconds)
	}
	// A file without the kind of stream the run sent is not valid.
	res, err = Check(context.Background(), entries[:1], fetch, "audio")
	if err != nil || *res.Valid != 0 || res.Files[0].Error == "" {
		t.Fatalf("video file checked for audio: %v %+v", err, res.Files)
	}
}
