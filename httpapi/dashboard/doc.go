// Package dashboard is the web page of the HTTP API (`shepherd --http`,
// docs/http.md, "The dashboard"): the services with their live states,
// a page per service (status, its log followed live, a timeline of its
// history, its requirements and dependents as a graph), the fleet's
// proxies and their hosts, and fleet runs with their output grouped.
//
// The page and its script and style are plain files embedded in the
// binary (assets/): no CDN, no build step. They hold no data and are
// served without a token; the script asks the operator for a capability
// once, keeps it in the tab's sessionStorage and sends it as
// `Authorization: Bearer` with every request of the API, which checks
// it as it checks anyone's. The Content-Security-Policy lets the page
// load and run only what comes from the page's own origin, and connect
// only there.
package dashboard
