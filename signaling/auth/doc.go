// Package auth decides who a request comes from: it stores and checks
// member passwords, throttles login attempts, issues and verifies the
// tokens that clients present, and manages the API keys that server-side
// integrations use. It knows members only through the small Members
// interface; the HTTP handlers that call it live in another package.
//
// # Tokens
//
// A login yields two tokens. The access token is a short-lived (15 minute)
// JWT signed with HS256. It is checked on every request, so it must be
// cheap: VerifyAccess checks the signature and expiry in memory and does one
// Pebble read (the member's not-before, below), with no session lookup and
// no call to the directory. JWTs are also self-describing, so another node
// sharing the secret, or a debugging human, can read them.
//
// The refresh token is the opposite: 32 random bytes, long-lived (30 days),
// used rarely, and stored, as a SHA-256 hash, so it can be revoked one by
// one (Logout) and rotated: every Refresh deletes the token it was given and
// issues a new one, so a stolen refresh token is good for at most one use
// and its theft shows up as the real client's next refresh failing. Refresh
// also asks the directory whether the member is still active, which bounds
// how long a disabled member keeps access to one access-token lifetime even
// if nobody revokes anything.
//
// # Revocation
//
// Stateless access tokens cannot be deleted. Rather than a deny-list of
// token ids, which would need an entry per live token and a sweep,
// RevokeMember records one timestamp per member, its "not before", and
// VerifyAccess refuses tokens issued earlier. One key per member, written
// only on revocation, read with one Get per verification. The issue time is
// carried to the millisecond in a claim of our own (iat_ms), since the
// standard iat has whole seconds and a client that logs in again right
// after a revoke must get a working token. A token issued in the same
// millisecond as the revoke, before it, stays valid: a one-millisecond
// window we accept rather than refuse every token of that millisecond.
//
// # Passwords
//
// Passwords are hashed with argon2id, the winner of the Password Hashing
// Competition and the first choice of RFC 9106 and OWASP: memory-hard, so
// guessing on GPUs and ASICs costs memory bandwidth, not just arithmetic.
// The parameters (m=19 MiB, t=2, p=1) are OWASP's; RFC 9106's 64 MiB would
// make a burst of concurrent logins a memory problem on a small server. Each
// hash is a PHC string that carries its own parameters and salt, so the
// parameters can be raised later without invalidating stored passwords.
//
// Login gives the same error, after the same work (one hash, against a
// dummy when the member has none), for an unknown member and for a wrong
// password, so neither the answer nor its timing tells which member ids
// exist. Attempts are throttled per account and per client address with
// in-memory token buckets in bounded tables; a throttled attempt is refused
// before any hashing, which also caps the CPU an attacker can make us spend.
//
// # API keys
//
// An API key is a public id and a 256-bit secret, shown once and stored as
// a SHA-256 hash (the secret is random, so a slow hash adds nothing). A
// valid key lets an integration mint access tokens with IssueAccess, whose
// lifetime is capped at MaxIssuedTTL.
//
// Every write goes through a synced storage commit. Read-then-write
// sequences on refresh tokens, not-before times and API keys run under one
// mutex, so a refresh token is rotated at most once and a revoke cannot be
// undone by a write racing it; password hashing never runs under it.
package auth
