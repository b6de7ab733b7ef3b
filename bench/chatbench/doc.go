// Package chatbench is the chat scenario of the load generator: it
// provisions members and conversations on a running server, drives chat
// traffic over real WebSockets, measures it, and checks every delivery.
//
// # Provisioning
//
// A run signs in as the super admin, creates an API key, creates its own
// members (ids "bench-<run id>-…", in the root department, without
// passwords) and mints each an access token with the key: no argon2 hash
// per member and no sign-in rate limit. Members open direct conversations
// in pairs, or groups are created by their first member. Everything
// carries the run id. At the end the generator closes its sockets,
// disables its members (unless Config.Keep) and deletes the key.
//
// # Load
//
// Each connection is one member's device and sends text messages into its
// one conversation. In closed loop each connection keeps Config.Inflight
// sends outstanding and sends the next as soon as an ack or error frees a
// slot. In open loop the connections together send Config.Rate messages a
// second on a fixed schedule, whether or not the server keeps up, and
// every latency is measured from the moment the schedule said the message
// should go (its intended time). Measuring from the actual send instead
// would hide the time a message waited behind a slow server, the error
// called coordinated omission.
//
// # Measurement
//
// The ack latency runs from send (or intended send) to chat.ack. The
// end-to-end latency runs from the same moment to each chat.message
// arrival at every connection of the conversation, the sender's own
// included; the moment travels inside the message text as a fixed-width
// prefix of nanoseconds since the run began. A frame arrives when the
// read from the network that brought it returns, so the time the
// generator takes over the frames before it in that read does not count.
// Both go into HDR histograms.
// The server's CPU time and resident memory come from its /metrics, the
// generator's own CPU time from getrusage.
//
// # Correctness
//
// Every connection records the seqs it receives per conversation, and
// every conversation records the seqs its acks named. A seq that arrives
// twice at one connection is a duplicate; one lower than a seq already
// received is out of order. After sending stops the run waits for the
// outstanding acks and then for deliveries to settle; every acked seq a
// connection of that conversation never received is lost. Any violation
// or error fails the run, so the benchmark doubles as a soak test.
package chatbench
