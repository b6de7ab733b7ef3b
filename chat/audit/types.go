package audit

import (
	"encoding/json"
	"time"
)

// Entry is one administrative action.
type Entry struct {
	ID         string          `json:"id"` // assigned by Append; sorts by time
	Time       time.Time       `json:"time"`
	Actor      string          `json:"actor"`
	ActorIP    string          `json:"actor_ip,omitempty"`
	Action     string          `json:"action"` // "<target_type>.<verb>", e.g. "department.move"
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
}

// Query selects entries, newest first. Empty fields match everything.
type Query struct {
	Actor      string
	Action     string
	TargetType string
	TargetID   string
	Since      time.Time // inclusive
	Until      time.Time // exclusive
	Cursor     string    // the ID of the last entry of the previous page
	Limit      int       // 0 means 100, capped at 1000
}
