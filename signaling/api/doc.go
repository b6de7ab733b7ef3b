// Package api is Parley's REST API under /api/v1.
//
// Every route is one row of the table built in routes.go: method, path,
// authorization policy, handler. The router wraps each handler in the same
// chain — authenticate, authorize, decode, answer — so authorization is
// decided in exactly one place (authz.go) and a route cannot be registered
// without a policy. Tests enumerate that table to check every route against
// every role and against the OpenAPI document served at
// /api/v1/openapi.yaml.
//
// Handlers return errors instead of writing them; errors.go maps each
// domain error to one HTTP status and the single error shape
// {"error":{"code","message"}}.
package api
