// Package jsonenc appends the JSON of the chat send path's small records
// (strings, times, and the records built from them) to byte slices
// without reflection, byte for byte as encoding/json writes them with
// HTML escaping off.
//
// A durable send used to encode its entry, its frame and its ack with
// encoding/json, each a reflective pass with its own buffers; appending
// the few fields by hand costs a fraction of that. Anything that is not
// on that path keeps using encoding/json.
package jsonenc
