package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/httpapi/dashboard"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// route is one resource of the API: the mux serves it and the OpenAPI
// document describes it, from this one table.
type route struct {
	Method, Path string // Path in http.ServeMux syntax: /v1/services/{name}
	Summary      string
	Query        []param
	Header       []param
	Body         any // the request body's type, nil for none
	Result       any // the answer's type (of each event of a stream)
	Stream       bool
	// Errors are the statuses it may answer besides 200, 401 and 429.
	Errors []int
	handle func(s *Server, w http.ResponseWriter, r *http.Request, c *caller)
}

type param struct {
	Name, Type, Doc string
}

// ActionBody is the optional body of a custom action.
type ActionBody struct {
	Args []string `json:"args,omitempty"`
}

// InstancesBody is the body of PUT .../instances.
type InstancesBody struct {
	Instances int `json:"instances"`
}

// LogEvent is one event of a followed log.
type LogEvent = wire.LogEntry

var (
	lifecycle = []string{"start", "stop", "restart", "enable", "disable"}
	all       = []int{400, 403, 404, 409, 503}
)

// routes is the API. docs/openapi.json is made from it (openapi.go).
func routes() []route {
	rs := []route{
		{Method: "GET", Path: "/v1/services", Summary: "Every service the capability may see, with its state (status).",
			Result: wire.StatusAll{}, Errors: []int{403, 503}, handle: (*Server).services},
		{Method: "GET", Path: "/v1/services/{name}", Summary: "One service's status (herd status NAME).",
			Result: wire.Status{}, Errors: []int{403, 404, 503}, handle: (*Server).status},
	}
	for _, verb := range lifecycle {
		rs = append(rs, route{Method: "POST", Path: "/v1/services/{name}/" + verb, Summary: "herd " + verb + " NAME.",
			Result: wire.ActionResult{}, Errors: all, handle: lifecycleAction(verb)})
	}
	return append(rs,
		route{Method: "POST", Path: "/v1/services/{name}/actions/{action}", Summary: "A custom action of the service (herd ACTION NAME ARGS...).",
			Body: ActionBody{}, Result: wire.ActionResult{}, Errors: all, handle: (*Server).custom},
		route{Method: "PUT", Path: "/v1/services/{name}/instances", Summary: "Scale a service with instances (herd scale NAME N).",
			Body: InstancesBody{}, Result: wire.ActionResult{}, Errors: all, handle: (*Server).scale},
		route{Method: "GET", Path: "/v1/services/{name}/log", Summary: "The service's last output lines (herd log NAME -n N); with follow=1, then every new line as Server-Sent Events.",
			Query:  []param{{"n", "integer", "how many recent lines (default 10)"}, {"follow", "boolean", "1: go on with new lines, as text/event-stream"}},
			Result: wire.LogResult{}, Errors: []int{400, 403, 404, 503}, handle: (*Server).log},
		route{Method: "GET", Path: "/v1/history", Summary: "Events of the history (herd events / herd history NAME), oldest first.",
			Query:  []param{{"service", "string", "one service's events"}, {"since", "string", "a duration back (90m, 2h, 3d) or a time"}, {"limit", "integer", "the last N (with after: the first N after it)"}, {"after", "integer", "events after this sequence number"}},
			Result: wire.Events{}, Errors: []int{400, 403, 404, 503}, handle: (*Server).history},
		route{Method: "GET", Path: "/v1/events", Summary: "Live events as Server-Sent Events (id: the event's sequence number); resumed after Last-Event-ID with none lost or repeated.",
			Query:  []param{{"service", "string", "one service's events"}, {"since", "string", "start with the events since (a duration back or a time)"}, {"after", "integer", "start after this sequence number (as Last-Event-ID)"}},
			Header: []param{{"Last-Event-ID", "integer", "the last event received: go on after it"}},
			Result: wire.Event{}, Stream: true, Errors: []int{400, 403, 404, 503}, handle: (*Server).events},
		route{Method: "GET", Path: "/v1/graph", Summary: "Every service and its requirements (herd graph): edges go from dependent to requirement (admin only).",
			Result: wire.Graph{}, Errors: []int{403, 503}, handle: (*Server).graph},
		route{Method: "GET", Path: "/v1/fleet/runs", Summary: "Past fleet runs, without their output (herd fleet history).",
			Result: wire.FleetRuns{}, Errors: []int{403, 503}, handle: (*Server).fleetRuns},
		route{Method: "GET", Path: "/v1/fleet/runs/{id}", Summary: "One fleet run with every host's output (herd fleet show ID).",
			Result: wire.FleetRun{}, Errors: []int{400, 403, 404, 503}, handle: (*Server).fleetRun},
	)
}

// mux routes the table's requests, each once its caller is known.
func (s *Server) mux() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes() {
		rt := rt
		mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
			if err := checkQuery(r, rt); err != nil {
				writeError(w, http.StatusBadRequest, err)
				return
			}
			// A client that stops reading holds its handler for writeWait
			// at most (streams move the deadline at each write).
			http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeWait))
			rt.handle(s, w, r, callerOf(r))
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			writeError(w, http.StatusServiceUnavailable, wire.Errorf(wire.Timeout, "the daemon is stopping"))
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		if dashboard.Serves(r) {
			// The page and its assets hold no data: no token (docs/http.md).
			dashboard.Handler().ServeHTTP(w, r)
			return
		}
		metrics := r.URL.Path == "/metrics" && s.cfg.Options.Metrics != nil
		if metrics && s.cfg.Options.MetricsPublic {
			s.cfg.Options.Metrics.ServeHTTP(w, r)
			return
		}
		// The caller first: without a capability nothing is said, not
		// even which routes exist.
		c := s.authenticate(w, r)
		if c == nil {
			return
		}
		if metrics {
			if !c.admin {
				s.refused(c.addr)
				writeError(w, http.StatusForbidden, wire.Errorf(wire.PermissionDenied, "permission denied: /metrics shows every service: present the admin capability (herd cap grant daemon --to-http)"))
				return
			}
			s.cfg.Options.Metrics.ServeHTTP(w, r)
			return
		}
		h, pattern := mux.Handler(r)
		if r.Method == http.MethodHead {
			// The mux would take HEAD for GET, and a stream would then
			// run with nowhere to go.
			pattern, h = "", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", "GET")
				w.WriteHeader(http.StatusMethodNotAllowed)
			})
		}
		if pattern == "" {
			// The mux's own 404 or 405, as a JSON error.
			rec := &statusOnly{}
			h.ServeHTTP(rec, r)
			if allow := rec.h.Get("Allow"); allow != "" {
				w.Header().Set("Allow", allow)
			}
			writeError(w, rec.status, wire.Errorf(wire.BadRequest, "%s %s: no such resource or method (docs/http.md)", r.Method, r.URL.Path))
			return
		}
		r = r.WithContext(contextWith(r, c))
		mux.ServeHTTP(w, r)
	})
}

// statusOnly records the status and headers of the mux's refusal.
type statusOnly struct {
	h      http.Header
	status int
}

func (s *statusOnly) Header() http.Header {
	if s.h == nil {
		s.h = http.Header{}
	}
	return s.h
}
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }

// checkQuery refuses query parameters the route does not take.
func checkQuery(r *http.Request, rt route) *wire.Error {
	for k := range r.URL.Query() {
		if !slices.ContainsFunc(rt.Query, func(p param) bool { return p.Name == k }) {
			return wire.Errorf(wire.BadRequest, "%s %s: unknown parameter %q", rt.Method, rt.Path, k)
		}
	}
	return nil
}

// maxBody bounds request bodies.
const maxBody = 64 << 10

// readBody decodes r's JSON body into v; an empty body leaves v as is
// when optional.
func readBody(w http.ResponseWriter, r *http.Request, v any, optional bool) *wire.Error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return wire.Errorf(wire.BadRequest, "the body is over %d bytes", maxBody)
		}
		return wire.Errorf(wire.BadRequest, "reading the body: %v", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 && optional {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return wire.Errorf(wire.BadRequest, "the body is not the JSON expected (docs/openapi.json): %v", err)
	}
	return nil
}

// serviceName is the {name} of r, checked as the config checks names.
func serviceName(r *http.Request) (string, *wire.Error) {
	name := r.PathValue("name")
	if name == "" || len(name) > 256 || strings.ContainsAny(name, " \t\n/") || strings.HasPrefix(name, "-") {
		return "", wire.Errorf(wire.BadRequest, "%q is not a service name", name)
	}
	return name, nil
}

// notTheDaemon refuses to act on the daemon itself over HTTP: stopping,
// halting or rebooting it is for herd on its socket.
func notTheDaemon(name string) *wire.Error {
	if name == wire.RootService || name == wire.RootAlias {
		return wire.Errorf(wire.PermissionDenied, "permission denied: the daemon itself is not controlled over HTTP (herd on its socket does it)")
	}
	return nil
}

func (s *Server) services(w http.ResponseWriter, r *http.Request, c *caller) {
	rep, ok := s.call(w, r, c, wire.Request{Action: "status"})
	if !ok {
		return
	}
	// A capability on one service answers with its status: the list is
	// that one service.
	var probe struct {
		Services *[]wire.Summary `json:"services"`
	}
	if json.Unmarshal(rep.Result, &probe) == nil && probe.Services != nil {
		writeRaw(w, http.StatusOK, rep.Result)
		return
	}
	var st wire.Status
	if err := json.Unmarshal(rep.Result, &st); err != nil {
		writeError(w, http.StatusInternalServerError, wire.Errorf(wire.BadRequest, "unreadable status: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, wire.StatusAll{Services: []wire.Summary{{Name: st.Name, State: st.State, OneShot: st.OneShot, Enabled: st.Enabled}}})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, c *caller) {
	name, werr := serviceName(r)
	if werr != nil {
		writeError(w, http.StatusBadRequest, werr)
		return
	}
	if rep, ok := s.call(w, r, c, wire.Request{Service: name, Action: "status"}); ok {
		writeRaw(w, http.StatusOK, rep.Result)
	}
}

func lifecycleAction(verb string) func(*Server, http.ResponseWriter, *http.Request, *caller) {
	return func(s *Server, w http.ResponseWriter, r *http.Request, c *caller) {
		s.act(w, r, c, verb, nil)
	}
}

// act runs action on {name} and answers its result.
func (s *Server) act(w http.ResponseWriter, r *http.Request, c *caller, action string, args []string) {
	name, werr := serviceName(r)
	if werr == nil {
		werr = notTheDaemon(name)
	}
	if werr != nil {
		writeError(w, statusOf(werr.Kind), werr)
		return
	}
	if rep, ok := s.call(w, r, c, wire.Request{Service: name, Action: action, Args: args}); ok {
		writeRaw(w, http.StatusOK, rep.Result)
	}
}

// notCustom are the protocol's actions that are no service's custom
// action: over .../actions/ACTION they are refused, so that the route
// reaches custom actions and nothing else (exec, load, upgrade, ...).
// The file actions of herd fleet push and pull (internal/filexfer) are
// served over the socket and libp2p only.
var notCustom = append(slices.Clone(services.BuiltinActions), "exec", "file-stat", "file-write", "file-read", "scale", "upgrade", "id", "peers", "halt", "power-off", "reboot")

func (s *Server) custom(w http.ResponseWriter, r *http.Request, c *caller) {
	action := r.PathValue("action")
	switch {
	case action == "" || len(action) > 128 || strings.ContainsAny(action, " \t\n/"):
		writeError(w, http.StatusBadRequest, wire.Errorf(wire.BadRequest, "%q is not an action name", action))
		return
	case slices.Contains(notCustom, action) || strings.HasPrefix(action, "cap-") || strings.HasPrefix(action, "fleet-") ||
		r.PathValue("name") == "read" && (action == "tail" || action == "snapshot"):
		// The read target's tail and snapshot (herd fleet tail and
		// snapshot) are served over the socket and libp2p only.
		writeError(w, http.StatusBadRequest, wire.Errorf(wire.BadRequest,
			"%q is not a custom action: .../actions/ACTION runs a service's own actions (start, stop, restart, enable and disable have routes of their own)", action))
		return
	}
	var body ActionBody
	if werr := readBody(w, r, &body, true); werr != nil {
		writeError(w, http.StatusBadRequest, werr)
		return
	}
	if len(body.Args) > 64 {
		writeError(w, http.StatusBadRequest, wire.Errorf(wire.BadRequest, "at most 64 arguments"))
		return
	}
	s.act(w, r, c, action, body.Args)
}

func (s *Server) scale(w http.ResponseWriter, r *http.Request, c *caller) {
	var body InstancesBody
	if werr := readBody(w, r, &body, false); werr != nil {
		writeError(w, http.StatusBadRequest, werr)
		return
	}
	if body.Instances < 1 {
		writeError(w, http.StatusBadRequest, wire.Errorf(wire.BadRequest, `expected {"instances": N} with N at least 1`))
		return
	}
	s.act(w, r, c, "scale", []string{strconv.Itoa(body.Instances)})
}

func (s *Server) log(w http.ResponseWriter, r *http.Request, c *caller) {
	name, werr := serviceName(r)
	if werr != nil {
		writeError(w, http.StatusBadRequest, werr)
		return
	}
	q := r.URL.Query()
	n := "10"
	if v := q.Get("n"); v != "" {
		n = v
	}
	args := []string{"-n", n}
	follow, werr := boolParam(q.Get("follow"), "follow")
	if werr != nil {
		writeError(w, http.StatusBadRequest, werr)
		return
	}
	if !follow {
		if rep, ok := s.call(w, r, c, wire.Request{Service: name, Action: "log", Args: args}); ok {
			writeRaw(w, http.StatusOK, rep.Result)
		}
		return
	}
	s.stream(w, r, c, wire.Request{Service: name, Action: "log", Args: append(args, "-f")}, func(e *sseWriter, rep wire.Reply) bool {
		var lr wire.LogResult
		if json.Unmarshal(rep.Result, &lr) != nil {
			return false
		}
		for _, entry := range lr.Entries {
			b, _ := json.Marshal(entry)
			if !e.event("", "log", b) {
				return false
			}
		}
		return true
	})
}

func boolParam(v, name string) (bool, *wire.Error) {
	switch v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, wire.Errorf(wire.BadRequest, "%s: expected 1 or 0, got %q", name, v)
}

// historyArgs turns the query into the protocol's history arguments.
func historyArgs(r *http.Request, names ...string) []string {
	q := r.URL.Query()
	var args []string
	for _, k := range names {
		if v := q.Get(k); v != "" {
			args = append(args, "--"+k, v)
		}
	}
	return args
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, c *caller) {
	// The service goes in the request, where the capability check looks.
	req := wire.Request{Action: "events", Service: r.URL.Query().Get("service"), Args: historyArgs(r, "since", "limit", "after")}
	var (
		started bool
		n       int
	)
	s.serve(r.Context(), c, req, responderFunc(func(rep wire.Reply) bool {
		if !started {
			if !rep.OK {
				writeError(w, statusOf(errKind(rep)), rep.Error)
				return false
			}
			started = true
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"events":[`)
		}
		if !rep.OK {
			// Too late for a status: the error ends the document.
			b, _ := json.Marshal(rep.Error)
			fmt.Fprintf(w, `],"error":%s}`+"\n", b)
			return false
		}
		var page struct {
			Events []json.RawMessage `json:"events"`
		}
		json.Unmarshal(rep.Result, &page)
		// A long history goes out page by page: each page gets its own
		// writeWait, as a stream's events do.
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeWait))
		for _, e := range page.Events {
			if n > 0 {
				io.WriteString(w, ",")
			}
			n++
			if _, err := w.Write(e); err != nil {
				return false
			}
		}
		if !rep.More {
			io.WriteString(w, "]}\n")
		}
		return true
	}))
}

func (s *Server) events(w http.ResponseWriter, r *http.Request, c *caller) {
	args := historyArgs(r, "since", "after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			writeError(w, http.StatusBadRequest, wire.Errorf(wire.BadRequest, "Last-Event-ID: expected an event's sequence number, got %q", id))
			return
		}
		args = withoutFlag(args, "--after")
		args = withoutFlag(args, "--since")
		args = append(args, "--after", id)
	} else if r.URL.Query().Get("since") == "" && r.URL.Query().Get("after") == "" {
		// From now on.
		args = append(args, "--since", "0s")
	}
	s.stream(w, r, c, wire.Request{Action: "events", Service: r.URL.Query().Get("service"), Args: append(args, "-f")}, func(e *sseWriter, rep wire.Reply) bool {
		var page struct {
			Events []json.RawMessage `json:"events"`
		}
		if json.Unmarshal(rep.Result, &page) != nil {
			return false
		}
		for _, raw := range page.Events {
			var seq struct {
				Seq uint64 `json:"seq"`
			}
			json.Unmarshal(raw, &seq)
			if !e.event(strconv.FormatUint(seq.Seq, 10), "", raw) {
				return false
			}
		}
		return true
	})
}

// withoutFlag drops a flag and its value from args.
func withoutFlag(args []string, flag string) []string {
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == flag {
			return append(args[:i:i], args[i+2:]...)
		}
	}
	return args
}

func (s *Server) graph(w http.ResponseWriter, r *http.Request, c *caller) {
	if !c.admin {
		// The graph names every service.
		writeError(w, http.StatusForbidden, wire.Errorf(wire.PermissionDenied, "permission denied: the graph shows every service: present the admin capability (herd cap grant daemon --to-http)"))
		return
	}
	if rep, ok := s.call(w, r, c, wire.Request{Action: "graph"}); ok {
		writeRaw(w, http.StatusOK, rep.Result)
	}
}

func (s *Server) fleetRuns(w http.ResponseWriter, r *http.Request, c *caller) {
	if rep, ok := s.call(w, r, c, wire.Request{Action: "fleet-runs"}); ok {
		writeRaw(w, http.StatusOK, rep.Result)
	}
}

func (s *Server) fleetRun(w http.ResponseWriter, r *http.Request, c *caller) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, wire.Errorf(wire.BadRequest, "%q is not a fleet run's number", r.PathValue("id")))
		return
	}
	rep, ok := s.capture(r, c, wire.Request{Action: "fleet-run", Args: []string{strconv.Itoa(id)}})
	switch {
	case !ok:
		return
	case !rep.OK && rep.Error.Kind == wire.BadRequest && strings.HasPrefix(rep.Error.Message, "no fleet run"):
		writeError(w, http.StatusNotFound, rep.Error)
	case !rep.OK:
		writeError(w, statusOf(errKind(rep)), rep.Error)
	default:
		writeRaw(w, http.StatusOK, rep.Result)
	}
}

func errKind(rep wire.Reply) wire.ErrorKind {
	if rep.Error == nil {
		return ""
	}
	return rep.Error.Kind
}

// capture serves req and returns its first reply; ok is false when the
// daemon sent none (the client went away, the daemon is stopping).
func (s *Server) capture(r *http.Request, c *caller, req wire.Request) (rep wire.Reply, ok bool) {
	s.serve(r.Context(), c, req, responderFunc(func(rp wire.Reply) bool {
		if !ok {
			rep, ok = rp, true
		}
		return false
	}))
	if ok && !rep.OK && rep.Error == nil {
		rep.Error = wire.Errorf(wire.BadRequest, "the daemon refused without a reason")
	}
	return rep, ok
}

// call serves req; a refusal is written as the error it is, and ok is
// then false.
func (s *Server) call(w http.ResponseWriter, r *http.Request, c *caller, req wire.Request) (wire.Reply, bool) {
	rep, ok := s.capture(r, c, req)
	switch {
	case !ok:
		writeError(w, http.StatusServiceUnavailable, wire.Errorf(wire.Timeout, "no answer: the daemon is stopping or the request was cancelled"))
		return rep, false
	case !rep.OK:
		writeError(w, statusOf(rep.Error.Kind), rep.Error)
		return rep, false
	}
	return rep, true
}
