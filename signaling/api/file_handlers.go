package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"parley/chat/conversation"
	"parley/chat/files"
)

// Files. A file belongs to the conversation it was uploaded for: only a
// member who may send there may upload one, and only its members may
// download it. The upload route streams (Route.Stream), so the body goes
// from the socket to disk without being held in memory.

// errNoFiles answers file routes of an API built without a file store.
var errNoFiles = errorf(http.StatusInternalServerError, CodeInternal, "this server has no file storage")

// maxFileBytes is the upload route's body limit: the store's own limit,
// which it enforces again while writing.
func (a *API) maxFileBytes() int64 {
	if a.files == nil {
		return 0 // the default body limit; the handlers answer errNoFiles
	}
	return a.files.MaxBytes()
}

func fileTooLarge(limit int64) error {
	return errorf(http.StatusRequestEntityTooLarge, CodeMessageTooLarge, fmt.Sprintf("the file is larger than %d bytes", limit))
}

// uploadFile stores the raw request body as a file of conversation {id}.
// The name comes from ?name= or else the Content-Disposition filename; the
// client's Content-Type is ignored, the server sniffs its own.
func (a *API) uploadFile(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	if a.files == nil {
		return errNoFiles
	}
	convID := r.PathValue("id")
	if err := a.chat.CheckCanSend(convID, p.Member.ID); err != nil {
		return err
	}
	name := uploadName(r)
	if name == "" {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, "name the file with ?name= or Content-Disposition: attachment; filename=...")
	}
	limit := a.files.MaxBytes()
	if r.ContentLength > limit {
		return fileTooLarge(limit) // refused before a byte is stored
	}
	body := &recordingReader{r: r.Body}
	m, err := a.files.Put(convID, p.Member.ID, name, body)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.Is(err, files.ErrTooLarge), errors.As(body.err, &tooBig):
			return fileTooLarge(limit)
		case body.err != nil:
			// The client went away or sent a broken body: its fault,
			// not the server's, and nothing was kept.
			return errorf(http.StatusBadRequest, CodeBadRequest, "reading request body: "+body.err.Error())
		case errors.Is(err, files.ErrInvalid):
			return errorf(http.StatusBadRequest, CodeInvalidArgument, err.Error())
		}
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// uploadName is the file name the client gave, or "".
func uploadName(r *http.Request) string {
	if n := r.URL.Query().Get("name"); n != "" {
		return n
	}
	if cd := r.Header.Get("Content-Disposition"); cd != "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil {
			return params["filename"] // filename* is decoded into it
		}
	}
	return ""
}

// recordingReader keeps the first read error of the request body, so the
// handler can tell a client's fault from the server's.
type recordingReader struct {
	r   io.Reader
	err error
}

func (b *recordingReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && b.err == nil {
		b.err = err
	}
	return n, err
}

// downloadFile serves a file to a member of its conversation, with
// ranges and conditional requests. Anyone else gets the same 404 as for
// an unknown id, so file ids cannot be probed.
//
// A file forwarded to another conversation is not readable by that
// conversation's members; forwarding is not supported yet.
func (a *API) downloadFile(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	if a.files == nil {
		return errNoFiles
	}
	notFound := errorf(http.StatusNotFound, CodeNotFound, "no such file in any of your conversations")
	m, err := a.files.Get(r.PathValue("id"))
	if errors.Is(err, files.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	err = a.chat.CheckMember(m.ConversationID, p.Member.ID)
	if errors.Is(err, conversation.ErrNotMember) || errors.Is(err, conversation.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	m, f, err := a.files.Open(m.ID)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", m.ContentType)
	h.Set("Content-Disposition", contentDisposition(m))
	// The bytes are a member's, not ours: the browser must neither guess
	// another type nor run anything they contain.
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private")
	h.Set("ETag", `"`+m.SHA256+`"`)
	http.ServeContent(w, r, "", m.CreatedAt, f)
	return nil
}

// contentDisposition shows images inline and saves everything else, under
// the uploader's name (RFC 2231-encoded when it is not ASCII).
func contentDisposition(m files.Meta) string {
	kind := "attachment"
	if m.IsImage() {
		kind = "inline"
	}
	if v := mime.FormatMediaType(kind, map[string]string{"filename": m.Name}); v != "" {
		return v
	}
	return kind
}
