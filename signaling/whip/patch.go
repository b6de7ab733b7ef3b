package whip

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"parley/sfu/live"
)

// maxFragLines bounds the lines of one SDP fragment.
const maxFragLines = 256

// iceResource is a WHIP or WHEP session as PATCH sees it. *live.Ingest
// and *live.Playback satisfy it.
type iceResource interface {
	ETag() string
	Trickle(p live.ICEParams) error
	RestartICE(ctx context.Context, p live.ICEParams) (live.ICEParams, string, error)
}

// patch applies a trickle-ice-sdpfrag under RFC 9725's rules: no
// If-Match is 428; If-Match "*" restarts ICE (200 with the server's new
// credentials and candidates, and a new ETag); an If-Match that is not
// the session's ETag is 412; otherwise the candidates are added (204).
func (h *Handler) patch(w http.ResponseWriter, r *http.Request, res iceResource) {
	if !hasType(r, ContentTypeSDPFrag) {
		w.Header().Set("Accept-Patch", ContentTypeSDPFrag)
		h.fail(w, r, &httpError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMedia,
			msg: "PATCH takes " + ContentTypeSDPFrag})
		return
	}
	ifMatch := strings.TrimSpace(r.Header.Get("If-Match"))
	if ifMatch == "" {
		h.fail(w, r, &httpError{status: http.StatusPreconditionRequired, code: CodePreconditionNeeded,
			msg: `send If-Match with the session's ETag to trickle, or "*" to restart ICE`})
		return
	}
	body, err := readBody(r, MaxSDPFragBytes)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	frag, err := parseSDPFrag(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if ifMatch == "*" || ifMatch == `"*"` {
		ctx, cancel := context.WithTimeout(r.Context(), live.NegotiateTimeout)
		defer cancel()
		local, etag, err := res.RestartICE(ctx, frag)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", ContentTypeSDPFrag)
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, formatSDPFrag(local))
		return
	}
	if !etagListHas(ifMatch, res.ETag()) {
		h.fail(w, r, &httpError{status: http.StatusPreconditionFailed, code: CodePreconditionFailed,
			msg: "If-Match is not the session's current ETag; ICE has restarted since"})
		return
	}
	if err := res.Trickle(frag); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// etagListHas reports whether an If-Match list names etag. Weak tags
// never match: If-Match compares strongly (RFC 9110 13.1.1).
func etagListHas(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.TrimSpace(t) == etag {
			return true
		}
	}
	return false
}

// parseSDPFrag reads a trickle-ice-sdpfrag (RFC 8840): ICE credentials,
// candidates, and the m= and mid lines they belong under. Other lines
// are skipped; what is not an SDP line at all is refused.
func parseSDPFrag(body string) (live.ICEParams, error) {
	var p live.ICEParams
	lines := strings.Split(body, "\n")
	if len(lines) > maxFragLines {
		return p, fmt.Errorf("%w: the fragment has over %d lines", ErrBadRequest, maxFragLines)
	}
	for _, line := range lines {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return p, fmt.Errorf("%w: %q is not an SDP line", ErrBadRequest, line)
		}
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			p.Ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			p.Pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=candidate:"):
			p.Candidates = append(p.Candidates, line[2:])
		case strings.HasPrefix(line, "a=mid:"):
			if p.MID == "" {
				p.MID = strings.TrimPrefix(line, "a=mid:")
			}
		case strings.HasPrefix(line, "m="):
			if f := strings.Fields(line[2:]); len(f) > 0 && p.Media == "" {
				p.Media = f[0]
			}
		}
	}
	return p, nil
}

// formatSDPFrag writes the server's side of an ICE restart as a
// fragment: its credentials, then its candidates under the first media
// section, which bundles the rest.
func formatSDPFrag(p live.ICEParams) string {
	var b strings.Builder
	b.WriteString("a=ice-ufrag:" + p.Ufrag + "\r\n")
	b.WriteString("a=ice-pwd:" + p.Pwd + "\r\n")
	media := p.Media
	if media == "" {
		media = "audio"
	}
	b.WriteString("m=" + media + " 9 UDP/TLS/RTP/SAVPF 0\r\n")
	if p.MID != "" {
		b.WriteString("a=mid:" + p.MID + "\r\n")
	}
	for _, c := range p.Candidates {
		b.WriteString("a=" + c + "\r\n")
	}
	b.WriteString("a=end-of-candidates\r\n")
	return b.String()
}
