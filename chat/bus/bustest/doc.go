// Package bustest starts real embedded NATS clusters for the tests of
// packages that deliver across nodes, the way httptest starts real HTTP
// servers. Nothing here is a stand-in: the nodes are bus.Start servers
// joined by loopback routes.
package bustest
