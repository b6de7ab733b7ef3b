package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RootDepartment is the id of the root department every server has.
const RootDepartment = "1"

// requestTimeout bounds one REST call.
const requestTimeout = 30 * time.Second

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Client makes REST calls to one server. It is safe for concurrent use.
type Client struct {
	base string // scheme://host[:port], no trailing slash
	http *http.Client
}

// NewClient returns a client for the server at baseURL (http or https).
func NewClient(baseURL string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("server url %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("server url %q: want http://host:port or https://host:port", baseURL)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64 // provisioning runs that many calls at once
	return &Client{
		base: u.Scheme + "://" + u.Host,
		http: &http.Client{Transport: tr, Timeout: requestTimeout},
	}, nil
}

// APIError is an error answer of the REST API.
type APIError struct {
	Status  int
	Code    string
	Message string
}

// Error formats the status, code and message.
func (e *APIError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// call sends one JSON request and decodes a JSON answer into out (when out
// is not nil). token, if not empty, is sent as a bearer token.
func (c *Client) call(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.do(req, out)
}

func (c *Client) do(req *http.Request, out any) error {
	what := req.Method + " " + req.URL.Path
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
			e.Error.Message = strings.TrimSpace(string(raw))
		}
		return fmt.Errorf("%s: %w", what, &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message})
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s: decode answer: %w", what, err)
	}
	return nil
}

// Login signs in with a username and password and returns the access
// token.
func (c *Client) Login(ctx context.Context, username, password string) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	in := map[string]string{"username": username, "password": password}
	if err := c.call(ctx, "POST", "/api/v1/auth/login", "", in, &out); err != nil {
		return "", fmt.Errorf("sign in as %s: %w", username, err)
	}
	return out.AccessToken, nil
}

// APIKey is a created API key with its secret.
type APIKey struct {
	ID     string
	Secret string
}

// CreateAPIKey creates an API key named name; token must be a super
// admin's.
func (c *Client) CreateAPIKey(ctx context.Context, token, name string) (APIKey, error) {
	var out struct {
		APIKey struct {
			ID string `json:"id"`
		} `json:"api_key"`
		Secret string `json:"secret"`
	}
	if err := c.call(ctx, "POST", "/api/v1/apikeys", token, map[string]string{"name": name}, &out); err != nil {
		return APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return APIKey{ID: out.APIKey.ID, Secret: out.Secret}, nil
}

// DeleteAPIKey deletes an API key; token must be a super admin's.
func (c *Client) DeleteAPIKey(ctx context.Context, token, id string) error {
	if err := c.call(ctx, "DELETE", "/api/v1/apikeys/"+url.PathEscape(id), token, nil, nil); err != nil {
		return fmt.Errorf("delete api key %s: %w", id, err)
	}
	return nil
}

// NewMember is the body of POST /api/v1/members. Without a password the
// member can sign in only with a token minted by an API key.
type NewMember struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Departments []string `json:"departments"`
}

// CreateMember creates an active member; token must be an admin's.
func (c *Client) CreateMember(ctx context.Context, token string, m NewMember) error {
	if err := c.call(ctx, "POST", "/api/v1/members", token, m, nil); err != nil {
		return fmt.Errorf("create member %s: %w", m.ID, err)
	}
	return nil
}

// DisableMember disables a member, which ends their sessions and takes
// them out of every group; token must be an admin's.
func (c *Client) DisableMember(ctx context.Context, token, id string) error {
	if err := c.call(ctx, "POST", "/api/v1/members/"+url.PathEscape(id)+"/disable", token, nil, nil); err != nil {
		return fmt.Errorf("disable member %s: %w", id, err)
	}
	return nil
}

// MintToken mints an access token for memberID with an API key, valid for
// ttl (the server caps it at 24 hours).
func (c *Client) MintToken(ctx context.Context, key APIKey, memberID string, ttl time.Duration) (string, error) {
	in := map[string]any{"member_id": memberID, "ttl_seconds": int(ttl / time.Second)}
	raw, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/api/v1/auth/token", bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(key.ID, key.Secret)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.do(req, &out); err != nil {
		return "", fmt.Errorf("mint token for %s: %w", memberID, err)
	}
	return out.AccessToken, nil
}

// summary is the part of a conversation summary the generator reads.
type summary struct {
	Conversation struct {
		ID string `json:"id"`
	} `json:"conversation"`
}

// OpenDirect opens the direct conversation between the token's member and
// peer, and returns its id.
func (c *Client) OpenDirect(ctx context.Context, token, peer string) (string, error) {
	var out summary
	if err := c.call(ctx, "POST", "/api/v1/conversations/direct", token, map[string]string{"peer_id": peer}, &out); err != nil {
		return "", fmt.Errorf("open direct conversation with %s: %w", peer, err)
	}
	return out.Conversation.ID, nil
}

// CreateGroup creates a group owned by the token's member with the other
// members listed, and returns its id.
func (c *Client) CreateGroup(ctx context.Context, token, name string, members []string) (string, error) {
	var out summary
	in := map[string]any{"name": name, "members": members}
	if err := c.call(ctx, "POST", "/api/v1/conversations", token, in, &out); err != nil {
		return "", fmt.Errorf("create group %q: %w", name, err)
	}
	return out.Conversation.ID, nil
}
