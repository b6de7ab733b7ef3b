// Package mediatest makes real encoded media for tests: clips encoded by
// Debian's ffmpeg at test time, split into frames, and a pacer that plays
// them into a Pion track in real time.
//
// Tests of the media engine, recording and live ingest send these clips
// instead of random bytes, so a receiver can check that whole frames
// arrive and a recording can be checked with ffprobe. Encoded clips are
// cached in the system temp directory, keyed by their parameters, so a
// test run encodes each clip once.
package mediatest
