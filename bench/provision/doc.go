// Package provision creates what a media scenario of the load generator
// needs on a running server, through the public REST API only, and takes
// it away afterwards: an API key, the run's own members (ids
// "bench-<run id>-…", in the root department, without passwords) and an
// access token minted for each with the key, so no sign-in rate limit or
// password hash stands in the way. At the end it disables the members
// and deletes the key.
//
// It also runs those calls concurrently (ForEach): each member creation
// is a synced write on the server, which groups concurrent ones into one
// fsync.
package provision
