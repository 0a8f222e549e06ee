// Package registry is the actor that knows every service: names and
// aliases, the dependency graph, a summary of each (so that `herd status`
// is one map read), the daemon's transition log; it loads, reloads,
// unloads and scales, spawns each service's controller, logger, group or
// proxy as its children, and routes client requests to them.
package registry
