package auth

import "parley/signaling/ratelimit"

// MaxLimiterEntries bounds each login rate-limit table (one per account, one
// per client address), so a flood of random usernames or addresses cannot
// grow memory without bound. An entry costs at most about 400 bytes (a key
// of up to MaxMemberIDLength bytes, a limiter, map overhead), so a full
// table stays under about 40 MB.
const MaxLimiterEntries = 100_000

// Limit is a token bucket: one token every Every, holding up to Burst.
type Limit = ratelimit.Limit

// RateLimitError is returned, as a *RateLimitError, by Login when an
// attempt is throttled. Match it with errors.As; RetryAfter is the wait
// before the next attempt in the same scope can succeed.
type RateLimitError = ratelimit.Error
