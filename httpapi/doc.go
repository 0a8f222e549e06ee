// Package httpapi is the daemon's HTTP API (`shepherd --http ADDR`,
// docs/http.md): JSON resources over the same requests as the control
// socket, and the history's events as Server-Sent Events.
//
// It holds no authority of its own. Every request presents a capability
// (`Authorization: Bearer STURDYREF`) and is served by the daemon's
// request handler exactly as `herd --cap STURDYREF` is on the socket, for
// a caller that holds nothing else (the peer capability.HTTPHolder): what
// the socket refuses to a capability, HTTP refuses too. The one addition
// is the admin capability (`herd cap grant daemon --to-http`), which the
// caretaker checks on every request (and every frame of a stream) before
// the request is served with the daemon's owner's rights.
//
// The server listens on loopback only, unless it has a TLS certificate;
// repeated bad tokens from one address are shut out for a while, as
// netlayer/p2p does for peers; bodies and headers are bounded. An
// optional http.Handler serves /metrics (Config.Metrics). The routes are
// one table (routes.go), from which both the mux and the OpenAPI document
// (docs/openapi.json, checked by a test) are made. The dashboard's page
// and files (package dashboard) are the only answers given without a
// token: they hold no data, and fetch everything with the operator's.
package httpapi
