// Package files keeps the files members upload to send in chat: the bytes
// on disk under the data directory, the metadata in Pebble.
//
// A file is uploaded for one conversation, by one member, and never
// changes afterwards. An upload streams to a temporary file beside its
// final place, hashing as it writes, under a hard size limit; only once the
// bytes and the directory are synced is the file renamed into place and its
// metadata committed. An upload that fails or is cut off leaves nothing
// behind, and temporary files a crash left are swept when the store opens.
//
// The content type is sniffed from the first bytes, never taken from the
// client, so a file cannot pose as something else when it is served. Who
// may read a file is not this package's business: callers check that the
// reader belongs to the file's conversation.
package files
