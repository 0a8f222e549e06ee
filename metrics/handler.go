package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
	"github.com/shepherd-go/shepherd/actors/caretaker"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/internal/httpguard"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Scope is what a scrape may read: everything (All), or the series of
// one service.
type Scope struct {
	All     bool
	Service string
}

// Authorizer decides what the holder of token (a sturdyref, from
// Authorization: Bearer) may read; who names the caller for the audit
// trail. An error refuses the scrape; its text is shown to the caller.
type Authorizer func(ctx context.Context, token, who string) (Scope, error)

// ErrNoCapability is the refusal of a scrape that presents no capability.
var ErrNoCapability = errors.New("a capability is needed: Authorization: Bearer <sturdyref> (herd cap grant shepherd --actions status, or a service's capability for its own series)")

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	// Public serves everything to anyone: no capability is asked for.
	Public bool
	// Authorize checks a scrape's capability. Default: the caretaker's
	// check (CaretakerAuthorizer), as for herd --cap on the socket.
	Authorize Authorizer
	// Now is the clock of the bad-token throttle. Default time.Now.
	Now func() time.Time
}

// NewHandler returns the handler of /metrics over m's gathering.
func NewHandler(m *Metrics, o HandlerOptions) http.Handler {
	if o.Authorize == nil {
		o.Authorize = CaretakerAuthorizer(m.env)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &handler{m: m, opts: o, throttle: httpguard.NewThrottle(o.Now)}
}

type handler struct {
	m        *Metrics
	opts     HandlerOptions
	throttle *httpguard.Throttle
}

// newRuntime is the registry of the Go runtime's and the process's
// metrics.
func newRuntime() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	scope := Scope{All: true}
	if !h.opts.Public {
		addr := httpguard.ClientAddr(r)
		token, _ := httpguard.Bearer(r)
		if until := h.throttle.Banned(addr, token); !until.IsZero() {
			w.Header().Set("Retry-After", fmt.Sprint(int(time.Until(until).Seconds())+1))
			http.Error(w, "too many bad capabilities from "+addr+"; try again later", http.StatusTooManyRequests)
			return
		}
		var err error
		if token == "" {
			err = ErrNoCapability
		} else if scope, err = h.opts.Authorize(r.Context(), token, "metrics scrape from "+r.RemoteAddr); err == nil {
			h.throttle.Accepted(token)
		} else if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			// A guess, as on the API's listener; a daemon too busy to
			// check is not the scraper's fault.
			h.throttle.Strike(addr)
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shepherd"`)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
	}
	only := ""
	if !scope.All {
		only = scope.Service
	}
	v := h.m.gather(r.Context(), only)
	tw := textWriter{b: make([]byte, 0, 16<<10+len(v.services)*2048)}
	tw.write(v, scope.All)
	body := tw.b
	if scope.All {
		var err error
		if body, err = runtimeText(h.m.runtime, body); err != nil {
			h.m.env.Logf("metrics: the Go runtime's: %v", err)
		}
	}
	w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// CaretakerAuthorizer checks a scrape's capability with the caretaker,
// as herd --cap is checked on the socket: it must be this daemon's, and
// allow "status" on its target, the daemon itself (the root service,
// capability.AdminTarget: everything; its HTTP admin capability too) or
// a service (its series only). A scraper is a client of HTTP: the holder
// capability.HTTPHolder, as for the HTTP API; a capability bound to a
// user or a libp2p peer does not serve. Scrapes are not audited one by
// one (every 15 s would drown the history); refusals are.
func CaretakerAuthorizer(env Env) Authorizer {
	scraper := capability.Holder{Peer: capability.HTTPHolder}
	refused := errors.New("capability refused: not a valid capability on this daemon (herd cap list shows them)")
	return func(ctx context.Context, token, who string) (Scope, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ref, err := capability.ParseSturdyref(token)
		if err != nil || ref.Peer != env.PeerID {
			return Scope{}, refused
		}
		target, err := service.Ask(ctx, env.Root.Send, env.Caretaker, func(ch chan<- string) any { return &caretaker.TargetOf{Swiss: ref.Swiss, Reply: ch} })
		if err != nil {
			return Scope{}, fmt.Errorf("capability not checked: %w", err)
		}
		if target == "" || target == capability.ExecTarget {
			return Scope{}, refused
		}
		daemon := target == wire.RootService || target == wire.RootAlias
		check := func(action string) (error, error) {
			return service.Ask(ctx, env.Root.Send, env.Caretaker, func(ch chan<- error) any {
				return &caretaker.Authorize{Recheck: true, Holder: scraper, Who: who, Cap: &ref.Swiss, Target: target, Action: action, Reply: ch}
			})
		}
		cerr, err := check("status")
		if err == nil && cerr != nil && daemon {
			// The HTTP API's admin capability reads everything too.
			cerr, err = check(capability.AdminAction)
		}
		if err != nil {
			return Scope{}, fmt.Errorf("capability not checked: %w", err)
		}
		if cerr != nil {
			if k := caretaker.ErrorKind(cerr); k == wire.CapabilityRevoked || k == wire.CapabilityExpired {
				return Scope{}, fmt.Errorf("capability refused: %s", k)
			}
			return Scope{}, refused
		}
		if daemon {
			return Scope{All: true}, nil
		}
		return Scope{Service: target}, nil
	}
}

// ListenAddr is where --metrics ADDR listens: a bare port or ":PORT" on
// loopback; an address with a host, on it.
func ListenAddr(addr string) string {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// maxScrapers bounds the listener's open connections: a Prometheus or
// two scrape it; a client holding hundreds open is hoarding.
const maxScrapers = 64

// serve listens on the options' address and serves /metrics there.
func (m *Metrics) serve() error {
	ln := m.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", ListenAddr(m.opts.Addr)); err != nil {
			return fmt.Errorf("--metrics %s: %w", m.opts.Addr, err)
		}
	}
	m.addr = ln.Addr()
	mux := http.NewServeMux()
	mux.Handle("/metrics", NewHandler(m, HandlerOptions{Public: m.opts.Public}))
	m.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	m.serveOn(ln)
	if tcp, ok := m.addr.(*net.TCPAddr); ok && m.opts.Public && !tcp.IP.IsLoopback() {
		m.env.Logf("metrics: --metrics-public on %s, not loopback: anyone who reaches it reads the names and states of every service", m.addr)
	}
	m.env.Logf("metrics on http://%s/metrics%s", m.addr, map[bool]string{true: " (public)", false: " (capability needed)"}[m.opts.Public])
	return nil
}

// serveOn serves /metrics on ln (a TCP listener), bounded.
func (m *Metrics) serveOn(ln net.Listener) {
	lim := httpguard.LimitListener(ln, maxScrapers)
	m.lim = lim
	m.detached.Store(false)
	srv := m.server
	m.env.Go(func() {
		if err := srv.Serve(lim); err != nil && !errors.Is(err, http.ErrServerClosed) && !m.detached.Load() {
			m.env.Logf("metrics: %v", err)
		}
	})
}
