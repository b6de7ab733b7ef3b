package bus

import "github.com/nats-io/nats-server/v2/server"

// EmbeddedServer exposes the embedded server to tests, so they can check
// its listeners; nil when the bus connects to an external URL.
func (b *Bus) EmbeddedServer() *server.Server { return b.server }
