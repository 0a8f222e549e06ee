package caretaker

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/services/config"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/p2p"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// The caretaker holds every grant and checks every request made by a
// client that does not hold the root capability. Because it alone holds
// the grants, a revocation takes effect on the very next message, open
// connections and follow streams included (they ask again for each batch).

// GrantRecordKind is the history store's record kind of grants.
const GrantRecordKind = "grant"

// Authorize asks whether uid (or the holder of Cap) may do Action on
// Target; Reply gets nil or an error wrapping capability.ErrDenied,
// ErrRevoked or ErrExpired.
type Authorize struct {
	// Recheck marks the repeated checks of a follow stream: only a
	// refusal is audited then.
	Recheck bool
	Holder  capability.Holder
	// Who names the caller in the audit trail (the holder may be anyone
	// for a relayed request).
	Who     string
	Command []string // of an exec request
	Args    []string // of a custom action
	// File is a file request's right, path and size.
	File   capability.FileSubject
	Cap    *capability.Swiss
	Target string
	Action string
	Reply  chan<- error
}

// TargetOf asks which service a capability names.
type TargetOf struct {
	Swiss capability.Swiss
	Reply chan<- string
}

// Present asks what a capability presented to the HTTP API is: its
// target ("" for none the caretaker knows) and, when that is the admin
// target, the check of it as Authorize does it (Err, audited). One
// message rather than TargetOf then Authorize: it is on the path of
// every HTTP request.
type Present struct {
	Swiss  capability.Swiss
	Holder capability.Holder
	Who    string
	Reply  chan<- Presented
}

// Presented answers Present.
type Presented struct {
	Target string
	Err    error
}

// VisibleTo asks which services uid may see (hold "status" on).
type VisibleTo struct {
	Holder capability.Holder
	Reply  chan<- map[string]bool
}

// Command carries a `cap` command; Reply gets the protocol reply.
type Command struct {
	Req        wire.Request
	UID        uint32
	Privileged bool
	Reply      chan<- wire.Reply
}

// Env is what the caretaker needs of the daemon.
type Env struct {
	// Audit records events of the audit trail (not waiting for them).
	Audit func(evs ...history.Event)
	// Store holds the grants, read at start.
	Store GrantStore
	// PutRecord sends a record to the history writer, the store's only
	// writer: every change of a grant is written through it, and
	// answered once durable (historian.PutRecord).
	PutRecord func(*historian.PutRecord)
	// Accounts looks up the users grants name (--to-user).
	Accounts config.Accounts
	// PeerID and Addrs name this daemon in the sturdyrefs it prints.
	PeerID string
	Addrs  func() []string
}

// GrantStore is where grants are kept: the daemon's history store.
type GrantStore interface {
	Records(kind string) ([][]byte, error)
	Path() string
}

type caretakerState struct {
	env    Env
	grants map[capability.Swiss]capability.Grant
	// refusals decides which refusals are recorded (refusals.go);
	// refusalGen numbers its windows, for their timers.
	refusals   refusalLimiter
	refusalGen uint64
	// uses decides which allowed uses are recorded (uses.go).
	uses useLimiter
}

// FlushRefusals ends a window of refusals (Gen, from its timer) or, with
// Done, whatever window is open (at shutdown): what was only counted is
// recorded.
type FlushRefusals struct {
	Gen  uint64
	Done chan struct{}
}

type caretaker struct{ st *caretakerState }

// NewProps makes the caretaker, with the grants env.Store holds.
func NewProps(env Env) (*actor.Props, error) {
	st := &caretakerState{env: env, grants: map[capability.Swiss]capability.Grant{}, refusals: refusalLimiter{window: RefusalWindow}, uses: useLimiter{window: UseWindow}}
	recs, err := env.Store.Records(GrantRecordKind)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		var g capability.Grant
		if err := json.Unmarshal(r, &g); err != nil {
			return nil, fmt.Errorf("history store %s: a capability grant cannot be read: %v", env.Store.Path(), err)
		}
		st.grants[g.Swiss] = g
	}
	return actor.PropsFromProducer(func() actor.Actor { return &caretaker{st: st} }), nil
}

func (c *caretaker) lookup(s capability.Swiss) (capability.Grant, bool) {
	g, ok := c.st.grants[s]
	return g, ok
}

func (c *caretaker) Receive(ctx actor.Context) {
	st := c.st
	switch msg := ctx.Message().(type) {
	case *Authorize:
		if msg.Who == "" {
			msg.Who = msg.Holder.String()
		}
		err := c.check(msg)
		switch {
		case err != nil:
			c.auditBy(ctx, msg.Who, "refuse", msg.Target, msg.Action, err.Error())
		case !msg.Recheck:
			if record, result := st.uses.use(msg.Who, msg.Target, msg.Action, time.Now()); record {
				c.auditBy(ctx, msg.Who, "use", msg.Target, msg.Action, result)
			}
		}
		msg.Reply <- err
	case *VisibleTo:
		out := map[string]bool{}
		now := time.Now()
		holder := msg.Holder
		for _, g := range st.grants {
			if boundTo(g.Holder, holder) &&
				capability.Check(g, c.lookup, capability.Request{Target: g.Target, Action: "status", Holder: holder}, now) == nil {
				out[g.Target] = true
			}
		}
		msg.Reply <- out
	case *Command:
		if rep, now := c.serve(ctx, msg); now {
			msg.Reply <- rep
		}
	case *stored:
		c.onStored(ctx, msg)
	case *FlushRefusals:
		if msg.Done != nil || msg.Gen == st.refusalGen {
			c.recordCounted(ctx)
		}
		if msg.Done != nil {
			close(msg.Done)
		}
	case *Present:
		var out Presented
		if g, ok := c.find(msg.Swiss); ok {
			out.Target = g.Target
		}
		if out.Target == capability.AdminTarget {
			a := &Authorize{Holder: msg.Holder, Who: msg.Who, Cap: &msg.Swiss, Target: capability.AdminTarget, Action: capability.AdminAction}
			if out.Err = c.check(a); out.Err != nil {
				c.auditBy(ctx, msg.Who, "refuse", a.Target, a.Action, out.Err.Error())
			} else {
				c.auditBy(ctx, msg.Who, "use", a.Target, a.Action, "allowed")
			}
		}
		msg.Reply <- out
	case *TargetOf:
		target := ""
		for s, g := range st.grants {
			if s.Equal(msg.Swiss) {
				target = g.Target
			}
		}
		msg.Reply <- target
	}
}

// find looks a presented swiss number up, in constant time per grant.
func (c *caretaker) find(swiss capability.Swiss) (capability.Grant, bool) {
	for s, g := range c.st.grants {
		if s.Equal(swiss) {
			return g, true
		}
	}
	return capability.Grant{}, false
}

// check finds a grant that allows the request: the one presented, or any
// grant bound to the caller's uid.
func (c *caretaker) check(msg *Authorize) error {
	now := time.Now()
	req := capability.Request{Target: msg.Target, Action: msg.Action, Holder: msg.Holder, Command: msg.Command, Args: msg.Args,
		File: msg.File}
	if msg.Cap != nil {
		for s, g := range c.st.grants {
			if s.Equal(*msg.Cap) {
				return capability.Check(g, c.lookup, req, now)
			}
		}
		return fmt.Errorf("%w: no capability for '%s' on '%s'", capability.ErrDenied, msg.Action, msg.Target)
	}
	// Of the caller's grants on the target, any that allows will do; when
	// none does, the newest one says why (revoked, expired).
	var firstErr error
	var newest time.Time
	for _, g := range c.st.grants {
		if !boundTo(g.Holder, msg.Holder) || g.Target != msg.Target {
			continue
		}
		err := capability.Check(g, c.lookup, req, now)
		if err == nil {
			return nil
		}
		if !errors.Is(err, capability.ErrDenied) && (firstErr == nil || g.Created.After(newest)) {
			firstErr, newest = err, g.Created
		}
	}
	if firstErr == nil {
		// Say nothing about grants that do not cover the request.
		return fmt.Errorf("%w: no capability for '%s' on '%s'", capability.ErrDenied, msg.Action, msg.Target)
	}
	return firstErr
}

func (c *caretaker) audit(ctx actor.Context, uid uint32, what, target, action, result string) {
	c.auditBy(ctx, fmt.Sprintf("uid %d", uid), what, target, action, result)
}

// auditBy records a capability event. Refusals go through the limiter:
// anyone can make them, as fast as they like (refusals.go).
func (c *caretaker) auditBy(ctx actor.Context, who, what, target, action, result string) {
	if what == "refuse" {
		st := c.st
		record, open := st.refusals.refuse(who, fmt.Sprintf("'%s' on '%s'", action, target), time.Now())
		if open {
			st.refusalGen++
			gen, self, send := st.refusalGen, ctx.Self(), ctx.ActorSystem().Root.Send
			time.AfterFunc(st.refusals.window, func() { send(self, &FlushRefusals{Gen: gen}) })
		}
		if !record {
			return
		}
	}
	c.st.env.Audit(history.Event{
		Kind: history.KindCapability, Service: target, Who: who, Action: strings.TrimSpace(what + " " + action), Result: result,
	})
}

// recordCounted records what the refusal limiter only counted.
func (c *caretaker) recordCounted(ctx actor.Context) {
	var evs []history.Event
	for _, s := range c.st.refusals.flush() {
		evs = append(evs, history.Event{Kind: history.KindCapability, Who: s.Who, Action: "refuse", Result: s.Message})
	}
	if len(evs) > 0 {
		c.st.env.Audit(evs...)
	}
}

// boundTo reports whether a grant's holder names the caller h (a uid or a
// peer); grants to anyone are found through the presented sturdyref.
func boundTo(g, h capability.Holder) bool {
	switch {
	case g.UID != nil:
		return h.UID != nil && *g.UID == *h.UID
	case g.Peer != "":
		return h.Peer == g.Peer
	}
	return false
}

// serve answers a `cap` command; a change of a grant is answered later,
// once it is stored (onStored), and then serve reports now false.
func (c *caretaker) serve(ctx actor.Context, msg *Command) (rep wire.Reply, now bool) {
	rep = c.serveNow(ctx, msg)
	return rep, rep.OK || rep.Error != nil
}

func (c *caretaker) serveNow(ctx actor.Context, msg *Command) wire.Reply {
	st := c.st
	id := msg.Req.ID
	var a wire.CapArgs
	if len(msg.Req.Args) != 1 || json.Unmarshal([]byte(msg.Req.Args[0]), &a) != nil {
		return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "%s: malformed arguments", msg.Req.Action))
	}
	denied := wire.ErrReply(id, wire.Errorf(wire.PermissionDenied, "permission denied: no capability for '%s'", msg.Req.Action))
	now := time.Now()
	switch msg.Req.Action {
	case "cap-grant":
		if !msg.Privileged {
			c.audit(ctx, msg.UID, "refuse", a.Service, "grant", "not privileged")
			return denied
		}
		if a.Admin() {
			// Every right of the daemon's owner, over HTTP only.
			a.Service, a.Actions = capability.AdminTarget, []string{capability.AdminAction}
		}
		if a.Service == capability.ExecTarget {
			if len(a.Allow) == 0 {
				return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "an exec capability needs at least one --allow (a command line, or a prefix ending in ' *')"))
			}
			if len(a.Actions) == 0 {
				a.Actions = []string{"exec"}
			}
		}
		if a.Service == capability.ReadTarget {
			// A read grant's --allow is its path allow-list.
			a.Paths, a.Allow = append(a.Paths, a.Allow...), nil
			if len(a.Actions) == 0 {
				a.Actions = []string{capability.ReadAction}
			}
			if err := capability.CheckReadGrant(a.Actions, a.Paths); err != nil {
				return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "%v", err))
			}
		} else if a.Service == capability.FilesTarget {
			if err := checkFileGrant(a); err != nil {
				return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "%v", err))
			}
		} else if len(a.Paths) > 0 || a.MaxSize != 0 {
			return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "--path and --max-size apply to file capabilities (herd cap grant files)"))
		}
		if a.Service == capability.ExecTarget && len(a.Args) > 0 {
			return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "--arg applies to custom actions; an exec capability says what it allows with --allow"))
		}
		if err := capability.CheckArgPatterns(a.Args, a.Actions); err != nil {
			return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "%v", err))
		}
		if err := capability.CheckJobGrant(a.Service, a.Actions); err != nil {
			return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "%v", err))
		}
		if err := capability.CheckFactsGrant(a.Service, a.Actions); err != nil {
			return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "%v", err))
		}
		g := capability.Grant{Target: a.Service, Actions: a.Actions, Allow: a.Allow, Args: a.Args, Paths: a.Paths, MaxSize: a.MaxSize, Created: now}
		if err := c.fill(&g, a, now); err != nil {
			return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "%v", err))
		}
		return c.store(ctx, msg, g, "grant")
	case "cap-attenuate":
		ref, err := capability.ParseSturdyref(a.Ref)
		if err != nil {
			return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "%v", err))
		}
		parent, ok := c.lookup(ref.Swiss)
		if !ok || (!msg.Privileged && (parent.Holder.UID == nil || *parent.Holder.UID != msg.UID)) {
			c.audit(ctx, msg.UID, "refuse", "", "attenuate", "not the holder")
			return denied
		}
		if err := capability.Check(parent, c.lookup, capability.Request{Target: parent.Target, Action: firstAction(parent), Holder: parent.Holder}, now); errors.Is(err, capability.ErrRevoked) || errors.Is(err, capability.ErrExpired) {
			return wire.ErrReply(id, wire.Errorf(ErrorKind(err), "%v", err))
		}
		var att capability.Attenuation
		att.Actions, att.Allow, att.Args, att.Paths, att.MaxSize = a.Actions, a.Allow, a.Args, a.Paths, a.MaxSize
		g := capability.Grant{}
		if err := c.fill(&g, a, now); err != nil {
			return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "%v", err))
		}
		att.Expires = g.Expires
		if a.User != "" || a.Peer != "" || a.HTTP {
			att.Holder = &g.Holder
		}
		swiss, err := capability.NewSwiss()
		if err != nil {
			return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "%v", err))
		}
		child, err := capability.Attenuate(parent, att, swiss, now)
		if err != nil {
			return wire.ErrReply(id, wire.Errorf(wire.PermissionDenied, "%v", err))
		}
		return c.store(ctx, msg, child, "attenuate")
	case "cap-revoke":
		ref, err := capability.ParseSturdyref(a.Ref)
		if err != nil {
			return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "%v", err))
		}
		g, ok := c.lookup(ref.Swiss)
		if !ok || !msg.Privileged {
			c.audit(ctx, msg.UID, "refuse", g.Target, "revoke", "not privileged or unknown")
			return denied
		}
		// In effect at once, for the very next message; answered once
		// it is stored.
		g.Revoked = true
		st.grants[g.Swiss] = g
		n := len(c.descendants(g.Swiss))
		c.audit(ctx, msg.UID, "revoke", g.Target, "", fmt.Sprintf("revoked with %d derived", n))
		return c.persist(ctx, &stored{cmd: msg, grant: g, what: "revoke"})
	case "cap-list":
		var out wire.CapList
		for _, g := range st.grants {
			if !msg.Privileged && (g.Holder.UID == nil || *g.Holder.UID != msg.UID) {
				continue
			}
			out.Caps = append(out.Caps, c.info(g, now))
		}
		slices.SortFunc(out.Caps, func(x, y wire.CapInfo) int { return x.Created.Compare(y.Created) })
		return wire.OKReply(id, out)
	}
	return wire.ErrReply(id, wire.Errorf(wire.BadRequest, "unknown capability command %q", msg.Req.Action))
}

func firstAction(g capability.Grant) string {
	if len(g.Actions) == 0 {
		return ""
	}
	return g.Actions[0]
}

// fill completes a grant's holder and expiry from the command's options.
func (c *caretaker) fill(g *capability.Grant, a wire.CapArgs, now time.Time) error {
	if a.User != "" {
		acct, err := c.st.env.Accounts.LookupUser(a.User)
		if err != nil {
			return err
		}
		g.Holder = capability.Holder{UID: &acct.UID}
	}
	if a.Peer != "" {
		if a.User != "" {
			return fmt.Errorf("--user and --to-peer: a grant has one holder")
		}
		if err := p2p.CheckPeerID(a.Peer); err != nil {
			return fmt.Errorf("--to-peer: %q is not a peer ID (herd id prints a daemon's)", a.Peer)
		}
		g.Holder = capability.Holder{Peer: a.Peer}
	}
	if a.HTTP {
		if a.User != "" || a.Peer != "" {
			return fmt.Errorf("--to-http and --to-user or --to-peer: a grant has one holder")
		}
		g.Holder = capability.Holder{Peer: capability.HTTPHolder}
	}
	if a.Expires != "" {
		d, err := time.ParseDuration(a.Expires)
		if err != nil || d <= 0 {
			return fmt.Errorf("--expires: %q is not a duration such as 24h", a.Expires)
		}
		g.Expires = now.Add(d)
	}
	return nil
}

// store keeps a new grant: once it is durable it is usable, and the
// command is answered (onStored).
func (c *caretaker) store(ctx actor.Context, msg *Command, g capability.Grant, what string) wire.Reply {
	if g.Swiss == (capability.Swiss{}) {
		s, err := capability.NewSwiss()
		if err != nil {
			return wire.ErrReply(msg.Req.ID, wire.Errorf(wire.BadRequest, "%v", err))
		}
		g.Swiss = s
	}
	return c.persist(ctx, &stored{cmd: msg, grant: g, what: what})
}

// stored is the history writer's answer to the write of a grant (or of
// its revocation), with the command to answer.
type stored struct {
	cmd   *Command
	grant capability.Grant
	what  string // grant, attenuate or revoke
	err   error
}

func (s *stored) SetRecordErr(err error) { s.err = err }

// persist sends the grant to the history writer; its answer comes back
// as ack. The zero Reply says the command is answered later.
func (c *caretaker) persist(ctx actor.Context, ack *stored) wire.Reply {
	b, err := json.Marshal(ack.grant)
	if err != nil {
		return wire.ErrReply(ack.cmd.Req.ID, wire.Errorf(wire.BadRequest, "%v", err))
	}
	c.st.env.PutRecord(&historian.PutRecord{
		Record: history.Record{Kind: GrantRecordKind, Key: ack.grant.Swiss.String(), Value: b},
		AckTo:  ctx.Self(), AckMsg: ack,
	})
	return wire.Reply{}
}

// onStored answers a change of a grant once the history writer has
// stored it, or could not.
func (c *caretaker) onStored(ctx actor.Context, m *stored) {
	id, g := m.cmd.Req.ID, m.grant
	switch {
	case m.err != nil && m.what == "revoke":
		m.cmd.Reply <- wire.ErrReply(id, wire.Errorf(wire.BadRequest,
			"the capability is revoked until the daemon stops, but the revocation could not be stored: %v", m.err))
	case m.err != nil:
		m.cmd.Reply <- wire.ErrReply(id, wire.Errorf(wire.BadRequest, "the capability could not be stored: %v", m.err))
	case m.what == "revoke":
		m.cmd.Reply <- wire.OKReply(id, wire.CapInfo{Ref: c.ref(g), Target: g.Target, Revoked: true, Derived: len(c.descendants(g.Swiss))})
	default:
		c.st.grants[g.Swiss] = g
		c.audit(ctx, m.cmd.UID, m.what, g.Target, "", fmt.Sprintf("%v to %s", g.Actions, g.Holder))
		m.cmd.Reply <- wire.OKReply(id, c.info(g, time.Now()))
	}
}

// descendants lists the grants derived, directly or not, from s.
func (c *caretaker) descendants(s capability.Swiss) []capability.Swiss {
	var out []capability.Swiss
	for k, g := range c.st.grants {
		for p := g.Parent; p != nil; {
			if *p == s {
				out = append(out, k)
				break
			}
			parent, ok := c.st.grants[*p]
			if !ok {
				break
			}
			p = parent.Parent
		}
	}
	return out
}

// ref is the grant's sturdyref, with this daemon's socket as the address
// hint for local holders.
func (c *caretaker) ref(g capability.Grant) string {
	return capability.Sturdyref{Peer: c.st.env.PeerID, Swiss: g.Swiss, Addrs: c.st.env.Addrs()}.String()
}

func (c *caretaker) info(g capability.Grant, now time.Time) wire.CapInfo {
	err := capability.Check(g, c.lookup, capability.Request{Target: g.Target, Action: firstAction(g), Holder: g.Holder}, now)
	return wire.CapInfo{
		Ref: c.ref(g), Target: g.Target, Actions: g.Actions, Holder: g.Holder.String(), Expires: g.Expires,
		Allow: g.Allow, Args: g.Args, Paths: g.Paths, MaxSize: g.MaxSize, Revoked: errors.Is(err, capability.ErrRevoked), Expired: errors.Is(err, capability.ErrExpired),
		Created: g.Created, Derived: len(c.descendants(g.Swiss)),
	}
}

// ErrorKind maps a check's error to the protocol's error kind.
func ErrorKind(err error) wire.ErrorKind {
	switch {
	case errors.Is(err, capability.ErrRevoked):
		return wire.CapabilityRevoked
	case errors.Is(err, capability.ErrExpired):
		return wire.CapabilityExpired
	}
	return wire.PermissionDenied
}

// checkFileGrant validates a file grant's options: write and/or read, at
// least one path pattern, a size limit that is not negative.
func checkFileGrant(a wire.CapArgs) error {
	if len(a.Paths) == 0 {
		return fmt.Errorf("a file capability needs at least one --path (such as /srv/app/**)")
	}
	for _, act := range a.Actions {
		if act != "write" && act != "read" {
			return fmt.Errorf("--actions: a file capability has the actions write and read, not %q", act)
		}
	}
	for _, p := range a.Paths {
		if err := capability.CheckPathPattern(p); err != nil {
			return err
		}
	}
	if a.MaxSize < 0 {
		return fmt.Errorf("--max-size: %d is negative", a.MaxSize)
	}
	return nil
}
