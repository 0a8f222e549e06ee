// Package proxy is the actor of a `remote:` service (an imported
// capability): its actions are calls, with the capability, to the daemon
// that exported it, over one kept connection (callLine); its state
// mirrors the exporter's, pushed by an event stream and checked by
// pings, ordered by the exporter's history sequence numbers. Every answer
// of the exporter is another machine's and is checked before use.
package proxy
