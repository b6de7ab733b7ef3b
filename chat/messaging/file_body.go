package messaging

import (
	"encoding/json"
	"errors"
	"fmt"

	"parley/chat/files"
)

// File message types. The file itself is uploaded first (chat/files); the
// message only refers to it.
const (
	TypeFile  = "file"
	TypeImage = "image"
)

// FileLookup finds an uploaded file's metadata, or files.ErrNotFound, and
// tells the size limit of one file (for ClientLimits). *files.Store
// satisfies it.
type FileLookup interface {
	Get(id string) (files.Meta, error)
	MaxBytes() int64
}

// FileRequest is the body a member sends for a "file" or "image" message.
type FileRequest struct {
	FileID  string `json:"file_id"`
	Caption string `json:"caption,omitempty"`
}

// FileBody is the stored body of a "file" or "image" message: the upload's
// metadata as the server knows it, so clients can show the file without
// another request. Width and Height appear on images only.
type FileBody struct {
	FileID      string `json:"file_id"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	Caption     string `json:"caption,omitempty"`
}

// CheckCanSend returns nil if memberID may post in convID now, with the
// errors of Send otherwise (conversation.ErrNotMember, ErrForbidden,
// ErrDissolved). Uploads use it, so only those who could send the file
// may store one.
func (s *Service) CheckCanSend(convID, memberID string) error {
	return s.convs.CanSend(convID, memberID)
}

// CheckMember returns nil if memberID belongs to convID, and
// conversation.ErrNotMember or ErrNotFound otherwise: the gate of reading
// anything of a conversation, files included.
func (s *Service) CheckMember(convID, memberID string) error {
	_, err := s.member(convID, memberID)
	return err
}

// checkFileBody validates a file or image message: the file must have
// been uploaded to this conversation by the sender, and an image message
// must refer to an image. A file of another conversation answers like an
// unknown one, so ids cannot be probed through sends.
//
// Forwarding a file to another conversation is not supported yet: the
// file stays readable only by members of the conversation it was uploaded
// to.
func (s *Service) checkFileBody(req SendRequest, sender string) (json.RawMessage, error) {
	if s.files == nil {
		return nil, fmt.Errorf("%w: this server does not accept files", ErrInvalid)
	}
	var b FileRequest
	if err := strictJSON(req.Body, &b); err != nil {
		return nil, err
	}
	if b.FileID == "" {
		return nil, fmt.Errorf("%w: file_id is required", ErrInvalid)
	}
	m, err := s.files.Get(b.FileID)
	if errors.Is(err, files.ErrNotFound) || (err == nil && m.ConversationID != req.ConversationID) {
		return nil, fmt.Errorf("%w: file_id %s names no file uploaded to this conversation", ErrInvalid, b.FileID)
	}
	if err != nil {
		return nil, err
	}
	if m.OwnerID != sender {
		return nil, fmt.Errorf("%w: file %s was uploaded by another member; send your own upload", ErrInvalid, b.FileID)
	}
	if req.Type == TypeImage && !m.IsImage() {
		return nil, fmt.Errorf("%w: file %s is %s, not an image; send it as a %q message", ErrInvalid, b.FileID, m.ContentType, TypeFile)
	}
	if len(b.Caption) > s.limits.MaxTextBytes {
		return nil, fmt.Errorf("%w: caption is %d bytes; the limit is %d", ErrTooLarge, len(b.Caption), s.limits.MaxTextBytes)
	}
	if err := checkText(b.Caption); err != nil {
		return nil, fmt.Errorf("caption: %w", err)
	}
	body := FileBody{FileID: m.ID, Name: m.Name, Size: m.Size, ContentType: m.ContentType, Caption: b.Caption}
	if req.Type == TypeImage {
		body.Width, body.Height = m.Width, m.Height
	}
	return marshal(body)
}
