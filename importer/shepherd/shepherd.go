package shepherd

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shepherd-go/shepherd/importer"
	"github.com/shepherd-go/shepherd/importer/sexp"
)

// Import translates a GNU Shepherd (or Guix) configuration into services.
// The error is a syntax error of the file, at FILE:LINE:COL; everything
// the importer cannot carry over is a warning.
func Import(file string, data []byte) (*importer.Result, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%s: the file is not valid UTF-8", file)
	}
	forms, err := sexp.Parse(data, sexp.DefaultLimits)
	if err != nil {
		var se *sexp.Error
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s:%d:%d: %s", file, se.Line, se.Col, se.Msg)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	im := &imp{
		r:       &importer.Result{Source: "shepherd", Files: []string{file}},
		file:    file,
		env:     &env{defs: map[string]*sexp.Node{}, budget: new(int)},
		byVar:   map[string]*svc{},
		started: map[string]bool{},
	}
	// Definitions first, as Scheme has them all before a service is
	// started: a service may use a constant defined below it.
	for _, f := range forms {
		if f.Head() == "define" && len(f.Items) == 3 && f.Items[1].Kind == sexp.Symbol && !isServiceForm(f.Items[2]) {
			im.env.defs[f.Items[1].Text] = f.Items[2]
		}
	}
	for _, f := range forms {
		im.topLevel(f)
	}
	for _, s := range im.services {
		if !s.guix {
			started := im.started[s.svc.Name] || im.startedVar(s)
			for _, a := range s.svc.Provides {
				started = started || im.started[a.Name]
			}
			s.svc.AutoStart = importer.Bool(started)
		}
		im.r.Services = append(im.r.Services, s.svc)
	}
	im.r.Finish()
	return im.r, nil
}

type imp struct {
	r        *importer.Result
	file     string
	env      *env
	services []*svc
	byVar    map[string]*svc // (define VAR (service ...))
	started  map[string]bool // names started by the file
	startVar map[string]bool // variables started: (start-service VAR)
}

// svc is a service form being imported.
type svc struct {
	svc  *importer.Service
	guix bool   // a Guix shepherd-service record: auto-start? defaults to #t
	vars string // the variable it is defined as, if any
}

func (im *imp) pos(n *sexp.Node) importer.Pos {
	return importer.Pos{File: im.file, Line: n.Line, Col: n.Col}
}

func (im *imp) warn(n *sexp.Node, service, directive, format string, args ...any) {
	im.r.Warn(im.pos(n), service, directive, format, args...)
}

func (im *imp) startedVar(s *svc) bool { return s.vars != "" && im.startVar[s.vars] }

func isServiceForm(n *sexp.Node) bool {
	switch n.Head() {
	case "service", "shepherd-service":
		return true
	case "make":
		return len(n.Items) > 1 && n.Items[1].Is("<service>")
	}
	return false
}

// topLevel handles one form of the file.
func (im *imp) topLevel(f *sexp.Node) {
	switch {
	case isServiceForm(f):
		im.service(f, "")
		return
	case f.Kind != sexp.List:
		if f.Kind == sexp.Symbol {
			if _, ok := im.byVar[f.Text]; ok {
				return // a service defined above, as the file's value
			}
		}
		im.warn(f, "", f.String(), "a value alone at the top level does nothing: skipped")
		return
	}
	head := f.Head()
	switch head {
	case "use-modules", "use-service-modules", "use-package-modules", "use-system-modules":
		// Modules make names visible; they define no service.
	case "define":
		im.define(f)
	case "register-services", "list", "begin":
		for _, a := range f.Items[1:] {
			im.registered(a, head)
		}
	case "start-in-the-background", "start-service", "start", "for-each":
		im.start(f)
	case "action", "perform-service-action":
		im.warn(f, "", head, "%s acts on the running daemon (%s): not carried over", head, f)
	case "default-respawn-limit", "default-respawn-delay", "default-pid-file-timeout", "default-process-termination-grace-period", "default-environment-variables":
		im.warn(f, "", head, "a default for every service: not carried over (set the key on each service)")
	default:
		im.warn(f, "", head, "Scheme code other than service definitions is not evaluated: not carried over")
	}
}

// define handles (define NAME EXPR) and (define (PROC ARGS) BODY).
func (im *imp) define(f *sexp.Node) {
	if len(f.Items) < 3 {
		im.warn(f, "", "define", "a definition without a value: skipped")
		return
	}
	target := f.Items[1]
	if target.Kind == sexp.List {
		name := target.Head()
		im.warn(f, "", "define", "procedure %s is Scheme code: not evaluated (a service that calls it is reported there)", name)
		return
	}
	if len(f.Items) == 3 && isServiceForm(f.Items[2]) {
		im.service(f.Items[2], target.Text)
	}
	// Other definitions were collected as constants by Import.
}

// registered is an argument of register-services (or an item of a top
// level list): a service form, a variable holding one, or a list.
func (im *imp) registered(a *sexp.Node, where string) {
	switch {
	case isServiceForm(a):
		im.service(a, "")
	case a.Kind == sexp.Symbol:
		if _, ok := im.byVar[a.Text]; !ok {
			im.warn(a, "", a.Text, "%s is not a service defined in this file: not carried over", a.Text)
		}
	case a.Head() == "list":
		for _, it := range a.Items[1:] {
			im.registered(it, where)
		}
	default:
		im.warn(a, "", where, "%s is Scheme code the importer does not evaluate: not carried over", brief(a))
	}
}

// start records the services the file starts: those are auto-start in
// our configuration, the others wait for herd start, as they do in GNU
// Shepherd.
func (im *imp) start(f *sexp.Node) {
	head := f.Head()
	var targets []*sexp.Node
	switch head {
	case "for-each":
		if len(f.Items) != 3 || !(f.Items[1].Is("start") || f.Items[1].Is("start-service") || f.Items[1].Is("start-in-the-background")) {
			im.warn(f, "", "for-each", "Scheme code other than service definitions is not evaluated: not carried over")
			return
		}
		targets = f.Items[2:]
	default:
		targets = f.Items[1:]
	}
	if im.startVar == nil {
		im.startVar = map[string]bool{}
	}
	for _, t := range targets {
		switch {
		case t.Kind == sexp.Symbol:
			if _, ok := im.byVar[t.Text]; ok {
				im.startVar[t.Text] = true
				continue
			}
			v, fl := im.env.eval(t)
			if fl == nil && im.markStarted(v) {
				continue
			}
		case t.Head() == "lookup-service" && len(t.Items) == 2:
			if v, fl := im.env.eval(t.Items[1]); fl == nil && im.markStarted(v) {
				continue
			}
		case t.Head() == "list":
			ok := true
			for _, it := range t.Items[1:] {
				if it.Kind != sexp.Symbol || im.byVar[it.Text] == nil {
					ok = false
					break
				}
				im.startVar[it.Text] = true
			}
			if ok {
				continue
			}
		default:
			if v, fl := im.env.eval(t); fl == nil && im.markStarted(v) {
				continue
			}
		}
		im.warn(t, "", head, "%s does not name services of this file: not carried over", t)
	}
}

func (im *imp) markStarted(v value) bool {
	switch v.kind {
	case vSymbol, vString:
		im.started[v.s] = true
		return true
	case vList:
		for _, it := range v.items {
			if !im.markStarted(it) {
				return false
			}
		}
		return true
	}
	return false
}

// service imports a service form: (service PROVISION #:KEY VALUE ...),
// (make <service> #:provides ... ) or (shepherd-service (FIELD VALUE) ...).
func (im *imp) service(f *sexp.Node, variable string) {
	s := &svc{svc: &importer.Service{Pos: im.pos(f)}, vars: variable}
	fields := map[string]*sexp.Node{}
	var order []string
	var provision *sexp.Node
	switch f.Head() {
	case "shepherd-service":
		s.guix = true
		for _, fld := range f.Items[1:] {
			if fld.Kind != sexp.List || len(fld.Items) != 2 || fld.Items[0].Kind != sexp.Symbol {
				im.warn(fld, "", "shepherd-service", "%s is not a (FIELD VALUE) of shepherd-service: skipped", fld)
				continue
			}
			name := fld.Items[0].Text
			fields[name] = fld.Items[1]
			order = append(order, name)
		}
		provision = fields["provision"]
	default:
		args := f.Items[1:]
		if f.Head() == "make" {
			args = f.Items[2:]
		} else if len(args) > 0 && args[0].Kind != sexp.Keyword {
			provision, args = args[0], args[1:]
		}
		for i := 0; i < len(args); i++ {
			k := args[i]
			if k.Kind != sexp.Keyword || i+1 == len(args) {
				im.warn(k, "", k.String(), "expected #:keyword value: skipped")
				continue
			}
			name := k.Text
			switch name { // the GOOPS interface's names
			case "provides":
				name = "provision"
			case "requires":
				name = "requirement"
			case "docstring":
				name = "documentation"
			}
			if name == "provision" {
				provision = args[i+1]
			} else {
				fields[name] = args[i+1]
				order = append(order, name)
			}
			i++
		}
	}
	if provision == nil {
		im.warn(f, "", f.Head(), "a service without a provision (its names): not imported")
		return
	}
	names, ok := im.names(provision)
	if !ok || len(names) == 0 {
		im.warn(provision, "", "provision", "%s is not a list of names: the service is not imported", provision)
		return
	}
	s.svc.Name = names[0].Name
	s.svc.Provides = names[1:]
	if variable != "" {
		im.byVar[variable] = s
	}
	if s.guix {
		s.svc.Respawn = importer.Bool(true) // Guix's default
	} else {
		s.svc.Respawn = importer.Bool(false) // GNU Shepherd's default
	}
	for _, name := range order {
		if name == "provision" {
			continue
		}
		im.field(s, name, fields[name])
	}
	if s.svc.OneShot || len(s.svc.Command) == 0 {
		s.svc.Respawn = nil
	}
	if len(s.svc.Command) > 0 && fields["stop"] == nil && !s.svc.OneShot {
		im.warn(f, s.svc.Name, "#:stop", "the service has no #:stop: GNU Shepherd would leave its process running; shepherd stops it with stop-signal (SIGTERM)")
	}
	im.services = append(im.services, s)
}

// names reads a provision or requirement: '(a b), (list 'a 'b).
func (im *imp) names(n *sexp.Node) ([]importer.Ref, bool) {
	v, f := im.env.eval(n)
	if f != nil || v.kind != vList {
		return nil, false
	}
	var out []importer.Ref
	for _, it := range v.items {
		if it.kind != vSymbol && it.kind != vString {
			return nil, false
		}
		out = append(out, importer.Ref{Name: it.s, Pos: im.pos(it.node)})
	}
	return out, true
}

// field imports one keyword argument (or Guix field) of a service.
func (im *imp) field(s *svc, name string, v *sexp.Node) {
	svc := s.svc
	dir := "#:" + name
	if s.guix {
		dir = name
	}
	bad := func(format string, args ...any) {
		im.warn(v, svc.Name, dir, format, args...)
	}
	boolean := func() (bool, bool) {
		val, f := im.env.eval(v)
		if f != nil {
			bad("%s: not carried over", f.reason)
			return false, false
		}
		b, ok := val.truth()
		if !ok {
			bad("%s is not #t or #f: not carried over", v)
		}
		return b, ok
	}
	switch name {
	case "requirement":
		refs, ok := im.names(v)
		if !ok {
			bad("%s is not a list of names: not carried over", v)
			return
		}
		for i := range refs {
			refs[i].Directive = dir
		}
		svc.Requires = append(svc.Requires, refs...)
	case "documentation":
		val, f := im.env.eval(v)
		if f != nil || val.kind != vString {
			bad("%s is not a string: not carried over", v)
			return
		}
		svc.Documentation = strings.Join(strings.Fields(val.s), " ")
	case "respawn?":
		if b, ok := boolean(); ok {
			svc.Respawn = importer.Bool(b)
		}
	case "one-shot?":
		if b, ok := boolean(); ok {
			svc.OneShot = b
		}
	case "auto-start?":
		if b, ok := boolean(); ok && s.guix {
			svc.AutoStart = importer.Bool(b)
		}
	case "transient?":
		if b, ok := boolean(); ok && b {
			bad("transient services (unloaded once stopped) are not supported: imported as a lasting service")
		}
	case "respawn-delay":
		if d, ok := im.seconds(v); ok {
			svc.RespawnDelay = d
		} else {
			bad("%s is not a number of seconds: not carried over", v)
		}
	case "respawn-limit":
		im.respawnLimit(svc, v, dir)
	case "start":
		im.startField(svc, v, dir)
	case "stop":
		im.stopField(svc, v, dir)
	case "actions":
		im.actions(svc, v, dir)
	case "modules":
		// Guile modules the gexps use: nothing to carry.
	default:
		bad("%s is not supported: not carried over", dir)
	}
}

// seconds reads a number of seconds.
func (im *imp) seconds(n *sexp.Node) (time.Duration, bool) {
	v, f := im.env.eval(n)
	if f != nil {
		return 0, false
	}
	x, ok := v.number()
	if !ok || x < 0 || x > 1e9 {
		return 0, false
	}
	return time.Duration(x * float64(time.Second)), true
}

// respawnLimit reads '(N . SECONDS), or #f for no limit.
func (im *imp) respawnLimit(svc *importer.Service, n *sexp.Node, dir string) {
	v, f := im.env.eval(n)
	if f == nil {
		if b, isBool := v.truth(); isBool && !b {
			svc.RespawnLimit = &importer.RespawnLimit{Unlimited: true}
			return
		}
		if v.kind == vList && len(v.items) == 1 && v.tail != nil {
			count, ok1 := v.items[0].number()
			secs, ok2 := v.tail.number()
			if ok1 && ok2 && count >= 0 && count == math.Trunc(count) && secs > 0 && secs < 1e9 {
				svc.RespawnLimit = &importer.RespawnLimit{Count: int(count), Window: time.Duration(secs * float64(time.Second))}
				return
			}
		}
	}
	im.warn(n, svc.Name, dir, "%s is not '(COUNT . SECONDS) or #f: not carried over", n)
}

// unwrap removes the gexp around code: Guix writes #~(make-...).
func unwrap(n *sexp.Node) *sexp.Node {
	for n.Head() == "gexp" && len(n.Items) == 2 {
		n = n.Items[1]
	}
	return n
}

// startField imports #:start: the constructors with a command.
func (im *imp) startField(svc *importer.Service, n *sexp.Node, dir string) {
	code := unwrap(n)
	head := code.Head()
	switch head {
	case "make-forkexec-constructor":
		im.forkexec(svc, code, dir)
	case "make-system-constructor":
		var b strings.Builder
		for _, a := range code.Items[1:] {
			v, f := im.env.eval(a)
			if f != nil || v.kind != vString {
				im.warn(a, svc.Name, dir, "%s is not a string: the service is imported without a process", a)
				return
			}
			b.WriteString(v.s)
		}
		svc.Command = []string{"/bin/sh", "-c", b.String()}
		svc.OneShot = true
		im.warn(code, svc.Name, dir, "make-system-constructor runs a command that must succeed: imported as a one-shot service (its #:stop command is not carried over)")
	case "make-inetd-constructor", "make-systemd-constructor":
		im.warn(code, svc.Name, dir, "%s (shepherd listening on the service's sockets) is not supported: the service is imported without a process", head)
	case "const":
		// (const #t): a service without a process, as the default.
	default:
		im.warn(code, svc.Name, dir, "%s is Scheme code the importer does not evaluate: the service is imported without a process", brief(code))
	}
}

// forkexec imports (make-forkexec-constructor COMMAND #:KEY VALUE ...),
// and the deprecated (make-forkexec-constructor "prog" "arg" ...).
func (im *imp) forkexec(svc *importer.Service, code *sexp.Node, dir string) {
	args := code.Items[1:]
	var cmd []string
	i := 0
	for ; i < len(args) && args[i].Kind != sexp.Keyword; i++ {
		v, f := im.env.eval(args[i])
		if f != nil {
			im.warn(f.node, svc.Name, dir, "%s: the service is imported without a process", f.reason)
			return
		}
		if l, ok := v.strings(); ok && i == 0 {
			cmd = l
			continue
		}
		s, ok := v.str()
		if !ok || v.kind == vMainPID {
			im.warn(args[i], svc.Name, dir, "%s is not a command (a list of strings): the service is imported without a process", args[i])
			return
		}
		cmd = append(cmd, s)
	}
	if len(cmd) == 0 {
		im.warn(code, svc.Name, dir, "no command: the service is imported without a process")
		return
	}
	svc.Command = cmd
	for ; i < len(args); i++ {
		k := args[i]
		if k.Kind != sexp.Keyword || i+1 == len(args) {
			im.warn(k, svc.Name, dir, "expected #:keyword value after the command: %s skipped", k)
			continue
		}
		i++
		im.forkexecKey(svc, k.Text, args[i])
	}
}

func (im *imp) forkexecKey(svc *importer.Service, key string, n *sexp.Node) {
	dir := "#:" + key
	v, f := im.env.eval(n)
	if f != nil {
		im.warn(f.node, svc.Name, dir, "%s: not carried over", f.reason)
		return
	}
	str := func() (string, bool) {
		s, ok := v.str()
		if !ok || v.kind == vMainPID {
			im.warn(n, svc.Name, dir, "%s is not a string: not carried over", n)
		}
		return s, ok
	}
	abs := func() (string, bool) {
		s, ok := str()
		if ok && !strings.HasPrefix(s, "/") {
			im.warn(n, svc.Name, dir, "%s is not an absolute path: not carried over", s)
			return "", false
		}
		return s, ok
	}
	switch key {
	case "user":
		if b, isBool := v.truth(); isBool && !b {
			return
		}
		if s, ok := str(); ok {
			svc.User = s
		}
	case "group":
		if b, isBool := v.truth(); isBool && !b {
			return
		}
		if s, ok := str(); ok {
			svc.Group = s
		}
	case "supplementary-groups":
		l, ok := v.strings()
		if !ok {
			im.warn(n, svc.Name, dir, "%s is not a list of groups: not carried over", n)
			return
		}
		svc.SupplementaryGroups = l
	case "directory":
		if s, ok := abs(); ok {
			svc.Directory = s
		}
	case "log-file":
		if b, isBool := v.truth(); isBool && !b {
			return
		}
		if s, ok := abs(); ok {
			svc.LogFile = s
		}
	case "pid-file":
		if b, isBool := v.truth(); isBool && !b {
			return
		}
		if s, ok := abs(); ok {
			svc.PIDFile = s
		}
	case "pid-file-timeout":
		x, ok := v.number()
		if !ok || x <= 0 || x > 1e9 {
			im.warn(n, svc.Name, dir, "%s is not a number of seconds: not carried over", n)
			return
		}
		svc.PIDFileTimeout = time.Duration(x * float64(time.Second))
	case "environment-variables":
		im.environment(svc, v, n)
	case "file-creation-mask":
		x, ok := v.number()
		if !ok || x < 0 || x > 0o777 || x != math.Trunc(x) {
			im.warn(n, svc.Name, dir, "%s is not a mode such as #o027: not carried over", n)
			return
		}
		svc.Umask = fmt.Sprintf("%04o", int(x))
	case "resource-limits":
		im.limits(svc, v, n)
	case "create-session?":
		if b, _ := v.truth(); !b {
			im.warn(n, svc.Name, dir, "every service runs in a session of its own in shepherd: not carried over")
		}
	default:
		im.warn(n, svc.Name, dir, "%s of make-forkexec-constructor is not supported: not carried over", dir)
	}
}

// environment reads #:environment-variables, a list of "NAME=VALUE"
// strings. In GNU Shepherd the list is the whole environment; in ours
// the variables are added to the default environment: the same when
// the list extends (default-environment-variables), as it usually does.
func (im *imp) environment(svc *importer.Service, v value, n *sexp.Node) {
	if v.kind == vDefaultEnv {
		return
	}
	if v.kind != vList {
		im.warn(n, svc.Name, "#:environment-variables", "%s is not a list of \"NAME=VALUE\" strings: not carried over", n)
		return
	}
	extends := false
	for _, it := range v.items {
		if it.kind == vDefaultEnv {
			extends = true
			continue
		}
		s, ok := it.str()
		name, val, hasEq := strings.Cut(s, "=")
		if !ok || it.kind != vString || !hasEq || name == "" {
			im.warn(it.node, svc.Name, "#:environment-variables", "%s is not a \"NAME=VALUE\" string: not carried over", it.node)
			continue
		}
		svc.Environment = append(svc.Environment, importer.EnvVar{Name: name, Value: val})
	}
	if !extends {
		im.warn(n, svc.Name, "#:environment-variables", "in GNU Shepherd this list is the whole environment; shepherd adds it to the default environment (PATH, HOME, USER, ...: docs/config.md)")
	}
}

// limits reads #:resource-limits: '((nofile 4096 4096) ...).
func (im *imp) limits(svc *importer.Service, v value, n *sexp.Node) {
	if v.kind != vList {
		im.warn(n, svc.Name, "#:resource-limits", "%s is not a list of (RESOURCE SOFT HARD): not carried over", n)
		return
	}
	known := map[string]bool{"nofile": true, "nproc": true, "core": true, "as": true, "cpu": true, "memlock": true, "stack": true,
		"fsize": true, "data": true, "rss": true, "msgqueue": true, "nice": true, "rtprio": true, "sigpending": true, "locks": true}
	for _, it := range v.items {
		if it.kind != vList || len(it.items) != 3 || it.items[0].kind != vSymbol || !known[it.items[0].s] {
			im.warn(it.node, svc.Name, "#:resource-limits", "%s is not (RESOURCE SOFT HARD) of a known resource: not carried over", it.node)
			continue
		}
		lim := importer.Limit{Name: it.items[0].s}
		ok := true
		for i, p := range []*uint64{&lim.Soft, &lim.Hard} {
			x := it.items[i+1]
			if b, isBool := x.truth(); isBool && !b {
				*p = importer.Unlimited // #f: no limit
				continue
			}
			f, isNum := x.number()
			if !isNum || f < 0 || f != math.Trunc(f) || f > 1<<62 {
				ok = false
				break
			}
			*p = uint64(f)
		}
		if !ok || lim.Soft > lim.Hard {
			im.warn(it.node, svc.Name, "#:resource-limits", "%s: the limits are not numbers, soft at most hard: not carried over", it.node)
			continue
		}
		svc.Limits = append(svc.Limits, lim)
	}
}

// stopField imports #:stop: make-kill-destructor's signal and grace
// period.
func (im *imp) stopField(svc *importer.Service, n *sexp.Node, dir string) {
	code := unwrap(n)
	switch code.Head() {
	case "make-kill-destructor":
		args := code.Items[1:]
		for i := 0; i < len(args); i++ {
			a := args[i]
			if a.Kind == sexp.Keyword {
				if i+1 == len(args) {
					im.warn(a, svc.Name, dir, "#:%s without a value: skipped", a.Text)
					continue
				}
				i++
				if a.Text == "grace-period" {
					if d, ok := im.seconds(args[i]); ok && d > 0 {
						svc.StopTimeout = d
						continue
					}
				}
				im.warn(args[i], svc.Name, dir, "#:%s %s is not supported: not carried over", a.Text, args[i])
				continue
			}
			v, f := im.env.eval(a)
			sig := ""
			if f == nil {
				if s, ok := v.str(); ok {
					sig, ok = importer.SignalName(s)
					if !ok {
						sig = ""
					}
				}
			}
			if sig == "" {
				im.warn(a, svc.Name, dir, "%s is not a signal: not carried over", a)
				continue
			}
			svc.StopSignal = sig
		}
	case "make-inetd-destructor", "make-systemd-destructor":
	case "const":
	case "make-system-destructor":
		im.warn(code, svc.Name, dir, "a stop command is not supported: not carried over")
	default:
		im.warn(code, svc.Name, dir, "%s is Scheme code the importer does not evaluate: shepherd stops the service with stop-signal (SIGTERM)", brief(code))
	}
}

// actions imports #:actions: (actions (NAME [DOC] PROC) ...), the older
// (make-actions ...), and Guix's (list (shepherd-action ...)). An action
// is carried over when its procedure runs one command.
func (im *imp) actions(svc *importer.Service, n *sexp.Node, dir string) {
	code := unwrap(n)
	switch code.Head() {
	case "actions", "make-actions":
		for _, a := range code.Items[1:] {
			if a.Kind != sexp.List || len(a.Items) < 2 || a.Items[0].Kind != sexp.Symbol {
				im.warn(a, svc.Name, dir, "%s is not (NAME [DOCUMENTATION] PROCEDURE): not carried over", a)
				continue
			}
			doc := ""
			proc := a.Items[len(a.Items)-1]
			if len(a.Items) == 3 {
				if v, f := im.env.eval(a.Items[1]); f == nil && v.kind == vString {
					doc = v.s
				}
			}
			im.action(svc, a.Items[0].Text, doc, proc, a)
		}
	case "list":
		for _, a := range code.Items[1:] {
			if a.Head() != "shepherd-action" {
				im.warn(a, svc.Name, dir, "%s is not a shepherd-action: not carried over", a)
				continue
			}
			var name, doc string
			var proc *sexp.Node
			for _, fld := range a.Items[1:] {
				if fld.Kind != sexp.List || len(fld.Items) != 2 {
					continue
				}
				v, f := im.env.eval(fld.Items[1])
				switch fld.Head() {
				case "name":
					if f == nil && v.kind == vSymbol {
						name = v.s
					}
				case "documentation":
					if f == nil && v.kind == vString {
						doc = v.s
					}
				case "procedure":
					proc = fld.Items[1]
				}
			}
			if name == "" || proc == nil {
				im.warn(a, svc.Name, dir, "a shepherd-action without a name and a procedure: not carried over")
				continue
			}
			im.action(svc, name, doc, proc, a)
		}
	default:
		im.warn(code, svc.Name, dir, "%s is Scheme code the importer does not evaluate: not carried over", brief(code))
	}
}

// action imports one action whose procedure is (lambda (RUNNING) BODY)
// with one command in BODY: (system* PROG ARG ...), (invoke ...),
// (system "SHELL COMMAND"), (command '(PROG ARG ...)), or (kill RUNNING
// SIGNAL). The running value is $MAINPID.
func (im *imp) action(svc *importer.Service, name, doc string, proc *sexp.Node, at *sexp.Node) {
	dir := "action " + name
	if name == "start" || name == "stop" || name == "status" || name == "enable" || name == "disable" || name == "restart" || name == "doc" {
		im.warn(at, svc.Name, dir, "%s is a built-in action in shepherd: not carried over", name)
		return
	}
	proc = unwrap(proc)
	if proc.Head() != "lambda" || len(proc.Items) < 3 || proc.Items[1].Kind != sexp.List {
		im.warn(proc, svc.Name, dir, "%s is not a (lambda (running) ...): not carried over", brief(proc))
		return
	}
	params := proc.Items[1]
	if len(params.Items) != 1 || params.Tail != nil || params.Items[0].Kind != sexp.Symbol {
		im.warn(params, svc.Name, dir, "an action that takes arguments is not supported (actions declare theirs with args: docs/config.md): not carried over")
		return
	}
	local := &env{defs: im.env.defs, locals: map[string]value{params.Items[0].Text: {kind: vMainPID}}, budget: im.env.budget}
	var body []*sexp.Node
	for _, b := range proc.Items[2:] {
		if b.Kind != sexp.Bool && b.Kind != sexp.String { // #t at the end; a docstring
			body = append(body, b)
		}
	}
	if len(body) != 1 {
		im.warn(proc, svc.Name, dir, "only an action that runs one command is carried over (this one has %d forms)", len(body))
		return
	}
	call := body[0]
	if (call.Head() == "zero?" || call.Head() == "status:exit-val") && len(call.Items) == 2 {
		call = call.Items[1]
	}
	var cmd []string
	switch call.Head() {
	case "system*", "invoke":
		for _, a := range call.Items[1:] {
			v, f := local.eval(a)
			if f != nil {
				im.warn(f.node, svc.Name, dir, "%s: not carried over", f.reason)
				return
			}
			if l, ok := v.strings(); ok && v.kind == vList {
				cmd = append(cmd, l...) // (apply-less) lists spliced, as `(system* ,@args)
				continue
			}
			s, ok := v.str()
			if !ok {
				im.warn(a, svc.Name, dir, "%s is not a string: not carried over", a)
				return
			}
			cmd = append(cmd, s)
		}
	case "system":
		if len(call.Items) == 2 {
			if v, f := local.eval(call.Items[1]); f == nil && v.kind == vString {
				cmd = []string{"/bin/sh", "-c", v.s}
			}
		}
	case "command":
		if len(call.Items) >= 2 {
			if v, f := local.eval(call.Items[1]); f == nil {
				cmd, _ = v.strings()
			}
		}
	case "kill":
		if len(call.Items) == 3 {
			target, f1 := local.eval(call.Items[1])
			sig, f2 := local.eval(call.Items[2])
			if f1 == nil && f2 == nil && target.kind == vMainPID && sig.kind == vSymbol && isSignal(sig.s) {
				cmd = []string{"/bin/kill", "-s", strings.TrimPrefix(sig.s, "SIG"), "$MAINPID"}
			}
		}
	}
	if len(cmd) == 0 {
		im.warn(call, svc.Name, dir, "%s is not a command the importer can carry over (system*, invoke, system, command or kill)", brief(call))
		return
	}
	if cmd[0] == "" {
		im.warn(call, svc.Name, dir, "an empty program name: not carried over")
		return
	}
	svc.Actions = append(svc.Actions, importer.Action{Name: name, Documentation: strings.Join(strings.Fields(doc), " "), Command: cmd})
}

// brief is n for a message: whole when short, else its head, as
// (lambda ...).
func brief(n *sexp.Node) string {
	s := n.String()
	if len(s) <= 60 || n.Kind != sexp.List || len(n.Items) == 0 {
		return s
	}
	if h := n.Head(); h != "" {
		return "(" + h + " ...)"
	}
	cut := 57
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
