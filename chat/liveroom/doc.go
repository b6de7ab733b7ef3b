// Package liveroom keeps the interactive side of a live stream (直播):
// comments, likes, questions and answers, polls, lottery draws, host
// announcements and moderation, and delivers them to the viewers watching
// on this node.
//
// # The live's conversation
//
// Every interaction that must be kept is an entry in the chat log
// (msglog) under the conversation ConversationID(liveID), "live:<id>":
// gapless seqs, idempotent appends by client message id, reads capped at
// the durable watermark. A viewer who arrives late pages the history like
// any chat. Markers that later requests query (a comment deleted, a
// question answered, a viewer muted, a poll and its votes, a lottery
// draw) are Pebble keys of this package, written in the commit of the
// entry that records them, so the log and the markers never disagree.
//
// # Delivery
//
// The chat service publishes every durable entry on the conversation's
// NATS subject from the log's ordered durable hook (messaging.New
// installs it), in seq order per conversation. This package therefore
// never publishes entries itself: a node with viewers of a live
// subscribes to that subject, turns each "chat.message" frame into a
// frame named after the entry's type (such as "live.comment") once, and
// hands the same bytes to every local viewer's bounded queue. Frames that
// are not entries (like and poll tallies, the viewer count, status
// changes) travel on the same subject, so one subscription per live and
// node carries everything. The host and guests join with JoinPresenter:
// they get every frame but are not counted as viewers.
//
// # Aggregation
//
// Likes never cost a message or a write each: they are summed in memory
// per live and flushed, with the viewers who liked, to Pebble and the bus
// once per Config.TallyInterval (500 ms by default). Votes are written at
// once, one key per (poll, viewer) so that a second vote is refused, but
// their tallies are published the same way. A comment costs one log
// append and one publish; nothing scales with the number of viewers but
// the delivery itself.
//
// # Lottery
//
// A draw takes the viewers who met a condition (commented, asked, liked,
// watched, or voted in a poll), sorted by id, and picks winners with a
// partial Fisher-Yates shuffle driven by ChaCha8 seeded with 32 random
// bytes. The seed, the pool's size and digest, and the winners are stored,
// so anyone can replay a draw with DrawWinners and check it.
//
// Who may do what (hosts moderate, viewers comment) is decided by the
// caller, signaling/livews; this package enforces the interaction rules
// (one vote per viewer, muted viewers cannot comment, sizes and counts).
package liveroom
