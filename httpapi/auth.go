package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/shepherd-go/shepherd/actors/caretaker"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/internal/httpguard"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// caller is a client whose token names a capability of this daemon.
type caller struct {
	token string
	swiss capability.Swiss
	// admin: the token is the HTTP API's admin capability, which the
	// caretaker accepted for this request.
	admin  bool
	addr   string // the client's IP, for the throttle
	remote string // its address and port
	who    string // for the audit trail
}

type callerKey struct{}

func callerOf(r *http.Request) *caller { return r.Context().Value(callerKey{}).(*caller) }

// authenticate finds the capability r presents. Only whether it names a
// capability of this daemon is decided here (and, for the admin
// capability, whether the caretaker accepts it); what it allows is the
// daemon's request handler's to check, as for `herd --cap`. It writes
// the refusal itself and then returns nil.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) *caller {
	addr := httpguard.ClientAddr(r)
	token, present := httpguard.Bearer(r)
	if until := s.throttle.Banned(addr, token); !until.IsZero() {
		w.Header().Set("Retry-After", fmt.Sprint(int(time.Until(until).Seconds())+1))
		writeError(w, http.StatusTooManyRequests, wire.Errorf(wire.PermissionDenied,
			"permission denied: too many bad capabilities from %s; try again later", addr))
		return nil
	}
	if !present {
		// Nothing about the daemon, its services or its routes.
		w.Header().Set("WWW-Authenticate", `Bearer realm="shepherd"`)
		writeError(w, http.StatusUnauthorized, wire.Errorf(wire.PermissionDenied,
			"permission denied: present a capability: Authorization: Bearer STURDYREF (herd cap grant; docs/http.md)"))
		return nil
	}
	bad := func(format string, args ...any) *caller {
		s.refused(addr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="shepherd", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, wire.Errorf(wire.PermissionDenied, format, args...))
		return nil
	}
	if token == "" {
		return bad("permission denied: the Authorization header must be Bearer STURDYREF")
	}
	ref, err := capability.ParseSturdyref(token)
	if err != nil {
		return bad("permission denied: %v", err)
	}
	if ref.Peer != s.cfg.PeerID {
		return bad("permission denied: not a capability of this daemon (the HTTP API relays nothing; present it to the daemon that exported it)")
	}
	c := &caller{token: token, swiss: ref.Swiss, addr: addr, remote: r.RemoteAddr, who: "http via HTTP " + r.RemoteAddr}
	p, err := s.present(r.Context(), c)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, wire.Errorf(wire.Timeout, "%v", err))
		return nil
	}
	switch {
	case p.Target == "":
		return bad("permission denied: unknown capability")
	case p.Target == capability.AdminTarget && p.Err != nil:
		s.refused(addr)
		werr := adminError(p.Err)
		writeError(w, statusOf(werr.Kind), werr)
		return nil
	}
	c.admin = p.Target == capability.AdminTarget
	return c
}

// present asks the caretaker which target c's capability names and, for
// the admin capability, whether it holds (one message: it is on every
// request's path). It records only the admin capability's check: the
// daemon's request handler checks (and records) the others.
func (s *Server) present(ctx context.Context, c *caller) (caretaker.Presented, error) {
	ch := make(chan caretaker.Presented, 1)
	s.cfg.Root.Send(s.cfg.Caretaker, &caretaker.Present{Swiss: c.swiss, Holder: capability.Holder{Peer: capability.HTTPHolder}, Who: c.who, Reply: ch})
	select {
	case p := <-ch:
		return p, nil
	case <-ctx.Done():
		return caretaker.Presented{}, fmt.Errorf("the caretaker did not answer: %w", ctx.Err())
	}
}

// adminError is the protocol error of a refused admin capability.
func adminError(err error) *wire.Error {
	e := wire.Errorf(caretaker.ErrorKind(err), "%v", err)
	if errors.Is(err, capability.ErrDenied) {
		e.Message = "permission denied: this capability is not the HTTP API's admin capability"
	}
	return e
}

// refused counts a bad token against addr.
func (s *Server) refused(addr string) {
	if s.throttle.Strike(addr) {
		s.logf("http: %s shut out for %v: %d bad capabilities within %v", addr, httpguard.BanFor, httpguard.Strikes, httpguard.StrikeSpan)
	}
}

// authorizeAdmin has the caretaker check the admin capability, as it
// checks every capability: revoked, expired, held by an HTTP client.
func (s *Server) authorizeAdmin(ctx context.Context, c *caller, recheck bool) *wire.Error {
	ch := make(chan error, 1)
	s.cfg.Root.Send(s.cfg.Caretaker, &caretaker.Authorize{
		Recheck: recheck, Holder: capability.Holder{Peer: capability.HTTPHolder}, Who: c.who,
		Cap: &c.swiss, Target: capability.AdminTarget, Action: capability.AdminAction, Reply: ch,
	})
	select {
	case err := <-ch:
		if err == nil {
			return nil
		}
		return adminError(err)
	case <-ctx.Done():
		return wire.Errorf(wire.Timeout, "the caretaker did not answer: %v", ctx.Err())
	}
}

// serve hands req to the daemon's request handler for c: with the
// capability presented, exactly as `herd --cap`, by a caller that holds
// nothing else; or, for the admin capability, as the daemon's owner,
// checking the capability again before each frame of a stream. The
// first reply's refusal counts against the client's address.
func (s *Server) serve(ctx context.Context, c *caller, req wire.Request, out local.Responder) {
	req.ID = 1
	first := true
	judge := responderFunc(func(rep wire.Reply) bool {
		if first {
			first = false
			if rep.OK {
				s.throttle.Accepted(c.token)
			} else if rep.Error != nil && refusal(rep.Error.Kind) {
				s.refused(c.addr)
			}
		} else if c.admin {
			if werr := s.authorizeAdmin(ctx, c, true); werr != nil {
				out.Send(wire.ErrReply(req.ID, werr))
				return false
			}
		}
		return out.Send(rep)
	})
	via := "HTTP " + c.remote
	if c.admin {
		s.cfg.Handler.ServeRequest(ctx, local.Peer{UID: s.cfg.Owner, Via: via + " (admin capability)"}, req, judge)
		return
	}
	req.Cap = c.token
	s.cfg.Handler.ServeRequest(ctx, local.Peer{Remote: capability.HTTPHolder, Via: via}, req, judge)
}

func refusal(k wire.ErrorKind) bool {
	return k == wire.PermissionDenied || k == wire.CapabilityRevoked || k == wire.CapabilityExpired
}

type responderFunc func(wire.Reply) bool

func (f responderFunc) Send(r wire.Reply) bool { return f(r) }

func contextWith(r *http.Request, c *caller) context.Context {
	return context.WithValue(r.Context(), callerKey{}, c)
}
