package meeting

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/storage"
)

func attendancePrefix(meetingID string) []byte {
	return storage.KeyPrefix(storage.PrefixMeetingAttendance, meetingID)
}

func attendanceKey(meetingID string, seq uint64) []byte {
	return storage.AppendUint64(attendancePrefix(meetingID), seq)
}

// recordID names a record "<meeting id>.<seq>", so RecordLeave finds it
// from the id alone. Meeting ids never contain '.'.
func recordID(meetingID string, seq uint64) string {
	return meetingID + "." + strconv.FormatUint(seq, 10)
}

func parseRecordID(id string) (meetingID string, seq uint64, ok bool) {
	i := strings.LastIndexByte(id, '.')
	if i <= 0 || checkID("record id", id[:i]) != nil {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil || seq == 0 {
		return "", 0, false
	}
	return id[:i], seq, true
}

func (s *Store) recordStripe(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % recordStripes)
}

// RecordJoin records that a joined the active meeting at at, and returns
// the record's id for RecordLeave. A meeting that is not active is
// ErrState, a banned attendee ErrBanned, a meeting past
// MaxAttendanceRecords joins ErrLimit.
func (s *Store) RecordJoin(meetingID string, a Attendee, at time.Time) (string, error) {
	if err := checkID("attendee id", a.ID); err != nil {
		return "", fmt.Errorf("record join to meeting %s: %w", meetingID, err)
	}
	name, err := checkText("attendee name", a.Name, MaxNameRunes)
	if err != nil {
		return "", fmt.Errorf("record join to meeting %s: %w", meetingID, err)
	}
	a.Name = name
	seq, err := s.nextSeq(meetingID, a.ID)
	if err != nil {
		return "", fmt.Errorf("record join to meeting %s: %w", meetingID, err)
	}
	rec := Record{ID: recordID(meetingID, seq), MeetingID: meetingID, Attendee: a, JoinedAt: at.UTC()}
	b := s.db.NewBatch()
	if err := b.SetJSON(attendanceKey(meetingID, seq), rec); err != nil {
		return "", fmt.Errorf("record join to meeting %s: %w", meetingID, err)
	}
	if err := s.db.Commit(b); err != nil {
		return "", fmt.Errorf("record join to meeting %s: %w", meetingID, err)
	}
	return rec.ID, nil
}

// nextSeq checks that the meeting takes joins and hands out the next
// record number. The check and the allocation share seqMu with
// MarkEnded's cleanup, so no number is handed out twice.
func (s *Store) nextSeq(meetingID, attendee string) (uint64, error) {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	m, err := s.Get(meetingID)
	if err != nil {
		return 0, err
	}
	if m.Status != StatusActive {
		return 0, fmt.Errorf("%w: the meeting is %s, not active", ErrState, m.Status)
	}
	if slices.Contains(m.Banned, attendee) {
		return 0, fmt.Errorf("%s: %w", attendee, ErrBanned)
	}
	seq, ok := s.seqs[meetingID]
	if !ok {
		prefix := attendancePrefix(meetingID)
		err := s.db.Scan(prefix, storage.PrefixEnd(prefix), true, 1, func(key, _ []byte) bool {
			seq = storage.Uint64At(key, len(prefix))
			return false
		})
		if err != nil {
			return 0, fmt.Errorf("load last attendance record: %w", err)
		}
	}
	if seq >= MaxAttendanceRecords {
		return 0, fmt.Errorf("%w: a meeting records at most %d joins", ErrLimit, MaxAttendanceRecords)
	}
	seq++
	s.seqs[meetingID] = seq
	return seq, nil
}

// RecordLeave closes a record at at with reason (ReasonLeft when empty).
// A leave after the meeting ended is recorded at the end. Closing a closed
// record is not an error: the leave paths race (a peer's own leave and
// MarkEnded), and the first one wins. An unknown record is ErrNotFound; a
// leave before the join, ErrInvalid.
func (s *Store) RecordLeave(id string, at time.Time, reason string) error {
	meetingID, seq, ok := parseRecordID(id)
	if !ok {
		return fmt.Errorf("record leave %q: %w", id, ErrNotFound)
	}
	reason, err := checkReason(reason)
	if err != nil {
		return fmt.Errorf("record leave %s: %w", id, err)
	}
	mu := &s.recordLocks[s.recordStripe(id)]
	mu.Lock()
	defer mu.Unlock()
	var rec Record
	err = s.db.GetJSON(attendanceKey(meetingID, seq), &rec)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("record leave %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("record leave %s: %w", id, err)
	}
	if !rec.Open() {
		return nil
	}
	at = at.UTC()
	m, err := s.Get(meetingID)
	if err != nil {
		return fmt.Errorf("record leave %s: %w", id, err)
	}
	if m.Status == StatusEnded && at.After(m.EndedAt) {
		at = later(m.EndedAt, rec.JoinedAt)
	}
	if at.Before(rec.JoinedAt) {
		return fmt.Errorf("record leave %s: %w", id, invalidf("left_at", "is before the join"))
	}
	rec.LeftAt, rec.LeaveReason = at, reason
	b := s.db.NewBatch()
	if err := b.SetJSON(attendanceKey(meetingID, seq), rec); err != nil {
		return fmt.Errorf("record leave %s: %w", id, err)
	}
	if err := s.db.Commit(b); err != nil {
		return fmt.Errorf("record leave %s: %w", id, err)
	}
	return nil
}

// Attendance returns every attendance record of the meeting in join
// order.
func (s *Store) Attendance(meetingID string) ([]Record, error) {
	if _, err := s.Get(meetingID); err != nil {
		return nil, err
	}
	return s.records(meetingID)
}

func (s *Store) records(meetingID string) ([]Record, error) {
	out := []Record{}
	var decodeErr error
	err := s.db.ScanPrefix(attendancePrefix(meetingID), func(key, value []byte) bool {
		var r Record
		if err := json.Unmarshal(value, &r); err != nil {
			decodeErr = fmt.Errorf("decode %q: %w", key, err)
			return false
		}
		out = append(out, r)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return nil, fmt.Errorf("attendance of meeting %s: %w", meetingID, err)
	}
	return out, nil
}

// closeOpenRecords adds to b the closing, at the meeting's end, of every
// record still open. The caller holds every record stripe.
func (s *Store) closeOpenRecords(b *storage.Batch, m Meeting) error {
	recs, err := s.records(m.ID)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if !r.Open() {
			continue
		}
		_, seq, _ := parseRecordID(r.ID)
		r.LeftAt, r.LeaveReason = later(m.EndedAt, r.JoinedAt), ReasonMeetingEnded
		if err := b.SetJSON(attendanceKey(m.ID, seq), r); err != nil {
			return err
		}
	}
	return nil
}
