package capability

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ExecTarget is the built-in target of exec capabilities.
const ExecTarget = "exec"

// AdminTarget and AdminAction make the admin capability of the daemon's
// HTTP API (`herd cap grant daemon --to-http`): the daemon's owner's
// rights over HTTP, for the holder of HTTPHolder only. "shepherd" is the
// daemon's own name, which no service may take.
const (
	AdminTarget = "shepherd"
	AdminAction = "admin"
)

// HTTPHolder is the holder (as a peer) of every client of the daemon's
// HTTP API: a grant made --to-http is bound to it, so that it serves no
// local user on the socket and no daemon over libp2p. It is no libp2p
// peer ID, so no peer can ever be it.
const HTTPHolder = "http"

// Holder says who may use a grant: a local uid or a libp2p peer. The zero
// Holder is anyone who holds the sturdyref.
type Holder struct {
	UID  *uint32 `json:"uid,omitempty"`
	Peer string  `json:"peer,omitempty"`
}

func (h Holder) String() string {
	switch {
	case h.UID != nil:
		return fmt.Sprintf("uid %d", *h.UID)
	case h.Peer == HTTPHolder:
		return "http"
	case h.Peer != "":
		return "peer " + h.Peer
	}
	return "anyone"
}

// Grant is one capability record.
type Grant struct {
	Swiss   Swiss     `json:"swiss"`
	Target  string    `json:"target"`
	Actions []string  `json:"actions"`
	Expires time.Time `json:"expires,omitzero"`
	Holder  Holder    `json:"holder"`
	// Allow lists, for exec grants, the command lines allowed: an exact
	// command line, or a prefix ending in " *".
	Allow []string `json:"allow,omitempty"`
	// Args restricts the arguments of custom actions: for an action it
	// names, one pattern per argument position (a regular expression the
	// whole argument must match), and no more arguments than patterns.
	// An action it does not name takes what its definition declares.
	Args map[string][]string `json:"args,omitempty"`
	// Paths are, for file grants, the path patterns of the files the
	// grant reads or writes (CheckPathPattern), and MaxSize their size
	// limit in bytes (0: DefaultMaxSize).
	Paths   []string  `json:"paths,omitempty"`
	MaxSize int64     `json:"max_size,omitempty"`
	Parent  *Swiss    `json:"parent,omitempty"`
	Revoked bool      `json:"revoked,omitempty"`
	Created time.Time `json:"created"`
}

// Errors of a check, matching the protocol's error kinds.
var (
	ErrRevoked = errors.New("capability-revoked")
	ErrExpired = errors.New("capability-expired")
	ErrDenied  = errors.New("permission-denied")
)

// Lookup finds a grant by swiss number (the daemon's store).
type Lookup func(Swiss) (Grant, bool)

// Request is what a holder asks of a grant.
type Request struct {
	Target string
	Action string
	// Command is the command line of an exec request.
	Command []string
	// Args are the arguments of a custom action.
	Args []string
	// File is a file request's right (write or read: its Action is the
	// protocol's, file-write...), file (absolute, clean) and size.
	File   FileSubject
	Holder Holder
}

// Check decides whether g allows req at now. It walks up the chain of
// parents: a revoked or expired ancestor, or one that would not allow the
// request, refuses it too. Errors wrap ErrRevoked, ErrExpired or
// ErrDenied, and never name anything the holder may not see.
func Check(g Grant, lookup Lookup, req Request, now time.Time) error {
	for depth := 0; ; depth++ {
		if depth > 64 {
			return fmt.Errorf("%w: capability chain too long", ErrDenied)
		}
		if g.Revoked {
			return fmt.Errorf("%w: the capability was revoked", ErrRevoked)
		}
		if !g.Expires.IsZero() && !now.Before(g.Expires) {
			return fmt.Errorf("%w: the capability expired at %s", ErrExpired, g.Expires.Format(time.RFC3339))
		}
		// The holder binding is the presented grant's: an ancestor's names
		// whoever delegated, who may bind the child to someone else.
		if !g.allows(req) || (depth == 0 && !g.heldBy(req.Holder)) {
			return fmt.Errorf("%w: no capability for '%s' on '%s'", ErrDenied, req.Action, req.Target)
		}
		if g.Parent == nil {
			return nil
		}
		p, ok := lookup(*g.Parent)
		if !ok {
			return fmt.Errorf("%w: the capability was revoked", ErrRevoked)
		}
		g = p
	}
}

func (g Grant) heldBy(h Holder) bool {
	if g.Holder.UID != nil && (h.UID == nil || *h.UID != *g.Holder.UID) {
		return false
	}
	return g.Holder.Peer == "" || h.Peer == g.Holder.Peer
}

func (g Grant) allows(req Request) bool {
	if g.Target == FilesTarget && req.Target == FilesTarget {
		return slices.Contains(g.Actions, req.File.Right) && g.fileAllowed(req.File)
	}
	if g.Target == ReadTarget || req.Target == ReadTarget {
		return g.Target == req.Target && g.readAllowed(req)
	}
	if g.Target != req.Target || !HoldsAction(g.Actions, req.Action) {
		return false
	}
	if g.Target == ExecTarget {
		return AllowedCommand(g.Allow, req.Command)
	}
	if g.Target == FilesTarget {
		return false // a file grant answers file requests only
	}
	return g.argsAllowed(req)
}

// LogAction is the right to read a service's own output (herd log NAME
// -n/-f, herd fleet tail --service NAME); status holds it too, as it did
// before log was a right of its own.
const LogAction = "log"

// HoldsAction says whether a grant of actions allows action: one it
// lists, or log where it lists status.
func HoldsAction(actions []string, action string) bool {
	return slices.Contains(actions, action) || action == LogAction && slices.Contains(actions, "status")
}

// argsAllowed reports whether a custom action's arguments fit the
// patterns the grant sets for it, if it sets any.
func (g Grant) argsAllowed(req Request) bool {
	patterns, restricted := g.Args[req.Action]
	if !restricted {
		return true
	}
	if len(req.Args) > len(patterns) {
		return false
	}
	for i, a := range req.Args {
		re, err := CompileArgPattern(patterns[i])
		if err != nil || !re.MatchString(a) {
			return false
		}
	}
	return true
}

// CompileArgPattern compiles an argument pattern so that it must match
// the whole argument: "web\.conf" does not allow "/tmp/web.conf".
func CompileArgPattern(p string) (*regexp.Regexp, error) {
	return regexp.Compile(`\A(?:` + p + `)\z`)
}

// AllowedCommand reports whether argv matches an allow-list entry: the
// exact command line, or a prefix entry "systemctl status *" that matches
// "systemctl status" followed by any arguments. Arguments are compared as
// words, so "uname -n" never matches "uname -n; rm -rf /".
func AllowedCommand(allow []string, argv []string) bool {
	if len(argv) == 0 {
		return false
	}
	for _, a := range allow {
		words := strings.Fields(a)
		if prefix, ok := strings.CutSuffix(a, " *"); ok {
			pw := strings.Fields(prefix)
			if len(argv) >= len(pw) && slices.Equal(argv[:len(pw)], pw) {
				return true
			}
			continue
		}
		if slices.Equal(words, argv) {
			return true
		}
	}
	return false
}

// Attenuation narrows a grant into a child.
type Attenuation struct {
	Actions []string  // nil keeps the parent's
	Expires time.Time // zero keeps the parent's
	Allow   []string  // nil keeps the parent's
	Holder  *Holder   // nil keeps the parent's
	// Args adds argument patterns for the actions it names. A check walks
	// the chain, so the parent's patterns still hold: the child can only
	// narrow.
	Args map[string][]string
	// Paths (nil keeps the parent's) and MaxSize (0 keeps the parent's)
	// narrow a file grant.
	Paths   []string
	MaxSize int64
}

// ErrWidens is returned by Attenuate when the child would exceed its parent.
var ErrWidens = errors.New("an attenuated capability may only narrow its parent")

// Attenuate makes a child of parent with at most the parent's rights.
func Attenuate(parent Grant, a Attenuation, swiss Swiss, now time.Time) (Grant, error) {
	child := Grant{
		Swiss: swiss, Target: parent.Target, Actions: slices.Clone(parent.Actions), Expires: parent.Expires,
		Holder: parent.Holder, Allow: slices.Clone(parent.Allow), Parent: &parent.Swiss, Created: now,
		Paths: slices.Clone(parent.Paths), MaxSize: parent.MaxSize,
	}
	if a.Actions != nil {
		for _, act := range a.Actions {
			if !HoldsAction(parent.Actions, act) {
				return Grant{}, fmt.Errorf("%w: action %q is not in the parent's (%s)", ErrWidens, act, strings.Join(parent.Actions, ","))
			}
		}
		child.Actions = slices.Clone(a.Actions)
	}
	if !a.Expires.IsZero() {
		if !parent.Expires.IsZero() && a.Expires.After(parent.Expires) {
			return Grant{}, fmt.Errorf("%w: it would expire after its parent (%s)", ErrWidens, parent.Expires.Format(time.RFC3339))
		}
		child.Expires = a.Expires
	}
	if parent.Target == ReadTarget && a.Allow != nil {
		// A read grant's --allow is its path allow-list.
		if a.Paths != nil {
			return Grant{}, fmt.Errorf("capability: a read capability takes its paths as --allow, not --path")
		}
		a.Paths, a.Allow = a.Allow, nil
	}
	if a.Allow != nil {
		if parent.Target != ExecTarget {
			return Grant{}, fmt.Errorf("capability: --allow applies to exec capabilities only")
		}
		for _, cmd := range a.Allow {
			if !allowNarrows(parent.Allow, cmd) {
				return Grant{}, fmt.Errorf("%w: command %q is not allowed by the parent", ErrWidens, cmd)
			}
		}
		child.Allow = slices.Clone(a.Allow)
	}
	if a.Paths != nil || a.MaxSize != 0 {
		if parent.Target != FilesTarget && parent.Target != ReadTarget {
			return Grant{}, fmt.Errorf("capability: --path and --max-size apply to file and read capabilities only")
		}
	}
	for _, p := range a.Paths {
		if err := CheckPathPattern(p); err != nil {
			return Grant{}, err
		}
		if !patternNarrows(parent.Paths, p) {
			return Grant{}, fmt.Errorf("%w: path %q is not within the parent's (%s)", ErrWidens, p, strings.Join(parent.Paths, " "))
		}
	}
	if a.Paths != nil {
		child.Paths = slices.Clone(a.Paths)
	}
	if a.MaxSize != 0 {
		limit := parent.MaxSize
		if limit <= 0 {
			limit = DefaultMaxSize
		}
		if a.MaxSize < 0 || a.MaxSize > limit {
			return Grant{}, fmt.Errorf("%w: a size limit of %d bytes exceeds the parent's (%d)", ErrWidens, a.MaxSize, limit)
		}
		child.MaxSize = a.MaxSize
	}
	if a.Holder != nil {
		child.Holder = *a.Holder
	}
	if len(a.Args) > 0 {
		if parent.Target == ExecTarget {
			return Grant{}, fmt.Errorf("capability: --arg applies to custom actions, not exec (use --allow)")
		}
		if err := CheckArgPatterns(a.Args, child.Actions); err != nil {
			return Grant{}, err
		}
		child.Args = maps.Clone(a.Args)
	}
	return child, nil
}

// allowNarrows reports whether the allow entry cmd permits nothing that
// the parent's entries do not.
func allowNarrows(parent []string, cmd string) bool {
	if prefix, ok := strings.CutSuffix(cmd, " *"); ok {
		pw := strings.Fields(prefix)
		for _, p := range parent {
			if pp, ok := strings.CutSuffix(p, " *"); ok {
				ppw := strings.Fields(pp)
				if len(pw) >= len(ppw) && slices.Equal(pw[:len(ppw)], ppw) {
					return true
				}
			}
		}
		return false
	}
	return AllowedCommand(parent, strings.Fields(cmd))
}

// CheckArgPatterns validates a grant's argument patterns: each names one
// of the grant's actions and compiles.
func CheckArgPatterns(args map[string][]string, actions []string) error {
	for action, patterns := range args {
		if !slices.Contains(actions, action) {
			return fmt.Errorf("--arg %s=...: %q is not one of the capability's actions (%s)", action, action, strings.Join(actions, ","))
		}
		for _, p := range patterns {
			if _, err := CompileArgPattern(p); err != nil {
				return fmt.Errorf("--arg %s=%s: not a regular expression: %v", action, p, err)
			}
		}
	}
	return nil
}
