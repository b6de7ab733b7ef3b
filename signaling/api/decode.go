package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// readBody reads the whole request body, refusing more than limit bytes
// with 413. Authorization scopes may need to look into the body, so the
// router reads it once and hands the bytes around.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "reading request body: "+err.Error())
	}
	if int64(len(data)) > limit {
		return nil, errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("request body is larger than %d bytes", limit))
	}
	return data, nil
}

// decodeJSON decodes body into v strictly: the content type must be JSON,
// unknown fields and trailing data are errors, so a client's typo never
// silently does nothing.
func decodeJSON(r *http.Request, body []byte, v any) error {
	return decode(r, body, v, true)
}

// decode is decodeJSON with unknown fields allowed when strict is false,
// for authorization scopes that read a few fields of a body the handler
// decodes strictly afterwards. Both report malformed bodies the same way.
func decode(r *http.Request, body []byte, v any, strict bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type must be application/json")
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errorf(http.StatusBadRequest, CodeBadRequest, "request body is empty; a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return errorf(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("malformed JSON at byte %d", syn.Offset))
		case errors.As(err, &typ):
			return errorf(http.StatusBadRequest, CodeInvalidArgument, fmt.Sprintf("field %q must be %s", typ.Field, typ.Type))
		default:
			return errorf(http.StatusBadRequest, CodeBadRequest, "invalid JSON body: "+err.Error())
		}
	}
	// Anything after the object, even a stray '}' (which dec.More does not
	// report), is an error.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorf(http.StatusBadRequest, CodeBadRequest, "unexpected data after the JSON object")
	}
	return nil
}
