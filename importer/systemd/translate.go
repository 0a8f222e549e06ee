package systemd

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/importer"
)

// File is a file's path, as messages name it, and its bytes.
type File struct {
	Path string
	Data []byte
}

// Unit is one unit to import: its file, its drop-ins (NAME.d/*.conf, in
// the order systemd applies them) and its name, which gives a template
// its instance (redis-server@main.service read from
// redis-server@.service).
type Unit struct {
	Name    string
	File    File
	DropIns []File
}

// Import translates units into services. Every directive that is not
// carried over, or not exactly, is a warning at its file and line.
func Import(units []Unit) *importer.Result {
	r := &importer.Result{Source: "systemd"}
	for _, un := range units {
		r.Files = append(r.Files, un.File.Path)
		for _, d := range un.DropIns {
			r.Files = append(r.Files, d.Path)
		}
		if s := importUnit(un, r); s != nil {
			r.Services = append(r.Services, s)
		}
	}
	r.Finish()
	return r
}

// unit is one unit being translated.
type unit struct {
	r    *importer.Result
	name unitName
	sp   specifiers
	svc  *importer.Service
	// vals holds each Section.Key's assignments in effect: an empty
	// assignment resets a list, as in systemd; for single values the
	// last one counts.
	vals  map[string][]entry
	order []string
	used  map[string]bool
}

func (u *unit) warn(e entry, format string, args ...any) {
	u.r.Warn(e.Pos, u.svc.Name, e.Key, format, args...)
}

// all returns the assignments of Section.Key in effect.
func (u *unit) all(section, key string) []entry {
	k := section + "." + key
	u.used[k] = true
	return u.vals[k]
}

// last returns the assignment of a single-valued key in effect.
func (u *unit) last(section, key string) (entry, bool) {
	es := u.all(section, key)
	if len(es) == 0 {
		return entry{}, false
	}
	return es[len(es)-1], true
}

func importUnit(un Unit, r *importer.Result) *importer.Service {
	file := un.File.Path
	name, ok := parseUnitName(un.Name)
	if !ok {
		r.Warn(importer.Pos{File: file, Line: 1}, "", un.Name, "%s is not a unit name such as nginx.service: not imported", un.Name)
		return nil
	}
	entries := parseUnit(file, un.File.Data, r)
	for _, d := range un.DropIns {
		entries = append(entries, parseUnit(d.Path, d.Data, r)...)
	}
	u := &unit{r: r, name: name, sp: specifiers{name: name, path: file}, vals: map[string][]entry{}, used: map[string]bool{}}
	u.svc = &importer.Service{Name: name.Stem(), Pos: importer.Pos{File: file, Line: 1}}
	for _, e := range entries {
		k := e.Section + "." + e.Key
		if _, seen := u.vals[k]; !seen {
			u.order = append(u.order, k)
		}
		if e.Value == "" {
			u.vals[k] = []entry{} // reset
			continue
		}
		u.vals[k] = append(u.vals[k], e)
	}
	// A template without an instance takes its DefaultInstance.
	if name.Template && name.Instance == "" {
		if e, ok := u.last("Install", "DefaultInstance"); ok {
			u.name.Instance = e.Value
			u.sp.name = u.name
			u.svc.Name = u.name.Stem()
		}
	}
	switch name.Type {
	case "service":
		u.service()
	case "target":
		// A target is a milestone: no process, its requirements.
	default:
		r.Warn(importer.Pos{File: file, Line: 1}, "", un.Name, "%s units are not imported: shepherd has services only (a .target becomes a milestone)", name.Type)
		return nil
	}
	u.unitSection()
	u.install()
	u.leftovers()
	return u.svc
}

// unitSection translates [Unit].
func (u *unit) unitSection() {
	s := u.svc
	if e, ok := u.last("Unit", "Description"); ok {
		s.Documentation = u.sp.expand(e.Value, e.Pos, s.Name, e.Key, u.r)
	}
	var docs []string
	for _, e := range u.all("Unit", "Documentation") {
		docs = append(docs, strings.Fields(e.Value)...)
	}
	if len(docs) > 0 {
		if s.Documentation != "" {
			s.Documentation += " "
		}
		s.Documentation += "(" + strings.Join(docs, " ") + ")"
	}
	required := map[string]bool{}
	for _, key := range []string{"Requires", "Wants", "BindsTo"} {
		for _, e := range u.all("Unit", key) {
			for _, dep := range u.depNames(e) {
				required[dep] = true
				s.Requires = append(s.Requires, importer.Ref{Name: dep, Pos: e.Pos, Directive: key})
				switch key {
				case "Wants":
					u.warn(e, "%s: shepherd requires it: if it fails to start, so does %s (systemd would start %s all the same)", dep, s.Name, s.Name)
				case "BindsTo":
					u.warn(e, "%s: carried over as requires: %s is stopped when %s is stopped, not when it fails", dep, s.Name, dep)
				}
			}
		}
	}
	for _, e := range u.all("Unit", "After") {
		for _, dep := range u.depNames(e) {
			if !required[dep] {
				u.warn(e, "%s: an order without Requires= or Wants= is not carried over (shepherd orders only what a service requires)", dep)
			}
		}
	}
	for _, key := range []string{"StartLimitIntervalSec", "StartLimitInterval", "StartLimitBurst"} {
		u.startLimit("Unit", key)
	}
	if e, ok := u.last("Unit", "DefaultDependencies"); ok {
		if b, valid := parseBool(e.Value); valid && b {
			u.warn(e, "shepherd adds no implicit dependencies (on sysinit.target, basic.target, shutdown.target)")
		}
	}
}

// depNames reads a list of units: services and targets are our services
// (their names without .service or .target); other types are reported.
func (u *unit) depNames(e entry) []string {
	var out []string
	for _, w := range strings.Fields(e.Value) {
		w = u.sp.expand(w, e.Pos, u.svc.Name, e.Key, u.r)
		n, ok := parseUnitName(w)
		switch {
		case !ok:
			u.warn(e, "%s is not a unit name: not carried over", w)
		case n.Type == "service" || n.Type == "target":
			out = append(out, n.Stem())
		default:
			u.warn(e, "%s: shepherd has no .%s units: not carried over", w, n.Type)
		}
	}
	return out
}

// startLimit reads StartLimitIntervalSec= and StartLimitBurst= into
// respawn-limit (systemd counts every start in the interval, shepherd
// the respawns).
func (u *unit) startLimit(section, key string) {
	e, ok := u.last(section, key)
	if !ok {
		return
	}
	s := u.svc
	if s.RespawnLimit == nil {
		s.RespawnLimit = &importer.RespawnLimit{Count: 5, Window: 10 * time.Second} // systemd's defaults
	}
	if key == "StartLimitBurst" {
		n, err := strconv.Atoi(e.Value)
		if err != nil || n < 0 {
			u.warn(e, "%q is not a number: not carried over", e.Value)
			return
		}
		s.RespawnLimit.Count = n
		return
	}
	d, inf, err := parseTimespan(e.Value)
	switch {
	case err != nil:
		u.warn(e, "%v: not carried over", err)
	case inf || d == 0:
		s.RespawnLimit = &importer.RespawnLimit{Unlimited: true}
	default:
		s.RespawnLimit.Window = d
	}
}

// install translates [Install]: a unit that something wants is started
// with the daemon; one that nothing wants waits for herd start.
func (u *unit) install() {
	s := u.svc
	wanted := false
	for _, key := range []string{"WantedBy", "RequiredBy", "UpheldBy"} {
		if len(u.all("Install", key)) > 0 {
			wanted = true
		}
	}
	if !wanted {
		s.AutoStart = importer.Bool(false)
	}
	for _, e := range u.all("Install", "Alias") {
		for _, a := range strings.Fields(e.Value) {
			a = u.sp.expand(a, e.Pos, s.Name, e.Key, u.r)
			n, ok := parseUnitName(a)
			if !ok || n.Type != u.name.Type {
				u.warn(e, "%s is not a %s name: not carried over", a, u.name.Type)
				continue
			}
			s.Provides = append(s.Provides, importer.Ref{Name: n.Stem(), Pos: e.Pos, Directive: e.Key})
		}
	}
	u.all("Install", "DefaultInstance") // read above
}

// service translates [Service].
func (u *unit) service() {
	s := u.svc
	typ := "simple"
	typeEntry, hasType := u.last("Service", "Type")
	if hasType {
		typ = typeEntry.Value
	}
	env := u.environment()

	var starts []execCmd
	for _, e := range u.all("Service", "ExecStart") {
		if c, ok := u.parseExec(e); ok {
			starts = append(starts, c)
		}
	}
	var pres []execCmd
	for _, e := range u.all("Service", "ExecStartPre") {
		if c, ok := u.parseExec(e); ok {
			pres = append(pres, c)
		}
	}
	switch {
	case len(starts) == 0:
		if es := u.all("Service", "ExecStart"); len(es) == 0 {
			u.r.Warn(s.Pos, s.Name, "ExecStart", "the unit has no ExecStart=: imported as a milestone, without a process")
		}
	case len(starts) > 1 && typ != "oneshot":
		for _, c := range starts[1:] {
			u.r.Warn(c.Pos, s.Name, c.Key, "only Type=oneshot services may have more than one ExecStart=: not carried over")
		}
		starts = starts[:1]
	}
	if len(starts) > 0 {
		if len(pres) > 0 {
			u.r.Warn(pres[0].Pos, s.Name, "ExecStartPre", "run by the service's command, before it: %d command(s) in one sh -c script, which stops at the first that fails (but for those prefixed with -)", len(pres))
		}
		if starts[0].IgnoreFailure && typ != "oneshot" {
			u.r.Warn(starts[0].Pos, s.Name, "ExecStart", "- (a failing exit counts as a success) is not carried over for a service that keeps running")
			starts[0].IgnoreFailure = false
		}
		s.Command = u.command(append(pres, starts...), env)
	} else if len(pres) > 0 {
		for _, c := range pres {
			u.r.Warn(c.Pos, s.Name, c.Key, "a unit without ExecStart= has no command to run this before: not carried over")
		}
	}
	for _, key := range []string{"ExecStartPost", "ExecStopPost", "ExecCondition"} {
		for _, e := range u.all("Service", key) {
			u.warn(e, "shepherd has no %s: not carried over", map[string]string{
				"ExecStartPost": "command run after the start", "ExecStopPost": "command run after the stop (an on-exit hook runs after every exit)",
				"ExecCondition": "start condition"}[key])
		}
	}

	u.serviceType(typ, typeEntry, hasType)
	u.reload(env)
	u.stop()
	u.restart(typ)
	u.credentials()
	u.process()
	u.logs()
}

// environment translates Environment= and EnvironmentFile=, and returns
// the variables a command may be expanded with at import time: nil when
// they are known only when it runs (an environment file).
func (u *unit) environment() map[string]string {
	s := u.svc
	env := map[string]string{}
	for _, e := range u.all("Service", "Environment") {
		words, err := splitWords(u.sp.expand(e.Value, e.Pos, s.Name, e.Key, u.r))
		if err != nil {
			u.warn(e, "%v: not carried over", err)
			continue
		}
		for _, w := range words {
			name, val, ok := strings.Cut(w, "=")
			if !ok || !isVarName(name) {
				u.warn(e, "%q is not an assignment NAME=VALUE: not carried over", w)
				continue
			}
			if _, dup := env[name]; dup {
				i := slices.IndexFunc(s.Environment, func(v importer.EnvVar) bool { return v.Name == name })
				s.Environment = slices.Delete(s.Environment, i, i+1)
			}
			env[name] = val
			s.Environment = append(s.Environment, importer.EnvVar{Name: name, Value: val})
		}
	}
	files := u.all("Service", "EnvironmentFile")
	for _, e := range files {
		p := u.sp.expand(e.Value, e.Pos, s.Name, e.Key, u.r)
		if !strings.HasPrefix(strings.TrimPrefix(p, "-"), "/") {
			u.warn(e, "%s is not an absolute path: not carried over", p)
			continue
		}
		s.EnvironmentFiles = append(s.EnvironmentFiles, p)
	}
	for _, key := range []string{"PassEnvironment", "UnsetEnvironment"} {
		for _, e := range u.all("Service", key) {
			u.warn(e, "not supported: a service gets the default environment (docs/config.md), its environment and environment-file")
		}
	}
	if len(files) > 0 {
		return nil
	}
	return env
}

// command is the argv that runs cmds in order: the one command itself
// when it can be (its variables, if any, known now), else an sh -c
// script, which expands the variables when it runs, as systemd does.
func (u *unit) command(cmds []execCmd, env map[string]string) []string {
	if len(cmds) == 1 && !cmds[0].IgnoreFailure {
		c := cmds[0]
		known := true
		for _, v := range c.vars() {
			if _, ok := env[v]; !ok {
				known = false
			}
		}
		if known {
			return c.expand(env)
		}
	}
	return script(cmds)
}

func (u *unit) serviceType(typ string, e entry, hasType bool) {
	s := u.svc
	pidFile, hasPID := u.last("Service", "PIDFile")
	switch typ {
	case "simple", "exec":
	case "forking":
		if !hasPID {
			u.warn(e, "without PIDFile= shepherd cannot tell which process is the daemon: add pid-file, or run the program in the foreground")
		}
	case "notify", "notify-reload":
		s.Ready = "notify"
		if typ == "notify-reload" {
			u.warn(e, "reloading by a signal and waiting for RELOADING=1 is not carried over: the readiness is (ready: notify)")
		}
	case "oneshot":
		s.OneShot = true
		if re, ok := u.last("Service", "RemainAfterExit"); ok {
			if b, _ := parseBool(re.Value); b {
				u.warn(re, "a one-shot that succeeded is done (herd status: one-shot) and is not stopped later")
			}
		}
	case "idle":
		u.warn(e, "runs as Type=simple: shepherd does not wait for the other jobs")
	case "dbus":
		u.warn(e, "waiting for a D-Bus name is not supported: runs as Type=simple")
	default:
		u.warn(e, "unknown Type %q: runs as Type=simple", typ)
	}
	if !s.OneShot {
		if re, ok := u.last("Service", "RemainAfterExit"); ok {
			if b, _ := parseBool(re.Value); b {
				u.warn(re, "only for Type=oneshot in shepherd (a one-shot that succeeded is done): not carried over")
			}
		}
	}
	if hasPID {
		p := u.sp.expand(pidFile.Value, pidFile.Pos, s.Name, pidFile.Key, u.r)
		switch {
		case typ != "forking":
			u.warn(pidFile, "systemd reads the PID file of Type=forking services only, and so does shepherd (pid-file): not carried over")
		case !strings.HasPrefix(p, "/"):
			u.warn(pidFile, "%s is not an absolute path: not carried over", p)
		default:
			s.PIDFile = p
		}
	}
	for _, key := range []string{"TimeoutStartSec", "TimeoutSec"} {
		e, ok := u.last("Service", key)
		if !ok {
			continue
		}
		if key == "TimeoutSec" {
			u.stopTimeout(e) // TimeoutSec= is both
		}
		d, inf, err := parseTimespan(e.Value)
		switch {
		case err != nil:
			u.warn(e, "%v: not carried over", err)
		case s.PIDFile != "" && !inf && d > 0:
			s.PIDFileTimeout = d
		case s.PIDFile != "":
			u.warn(e, "no start timeout: shepherd waits pid-file-timeout for the PID file (default 5s)")
		default:
			u.warn(e, "shepherd bounds only the wait for a PID file (pid-file-timeout): not carried over")
		}
	}
}

// reload translates ExecReload= into a reload action (herd reload NAME).
func (u *unit) reload(env map[string]string) {
	var cmds []execCmd
	for _, e := range u.all("Service", "ExecReload") {
		if c, ok := u.parseExec(e); ok {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) == 0 {
		return
	}
	a := importer.Action{Name: "reload", Documentation: "Reload the service's configuration (ExecReload=)."}
	if argv, ok := cmds[0].asIs(); ok && len(cmds) == 1 && !cmds[0].IgnoreFailure {
		a.Command = argv
	} else if len(cmds) == 1 && env != nil && !cmds[0].IgnoreFailure && allKnown(cmds[0], env) {
		a.Command = cmds[0].expand(env)
	} else {
		a.Command = script(cmds)
	}
	u.svc.Actions = append(u.svc.Actions, a)
}

func allKnown(c execCmd, env map[string]string) bool {
	for _, v := range c.vars() {
		if _, ok := env[v]; !ok {
			return false
		}
	}
	return true
}

// stop translates ExecStop= where it only signals the main process,
// KillSignal=, KillMode= and TimeoutStopSec=.
func (u *unit) stop() {
	s := u.svc
	stops := u.all("Service", "ExecStop")
	for i, e := range stops {
		c, ok := u.parseExec(e)
		if !ok {
			continue
		}
		sig, timeout, isSignal := stopSignal(c)
		switch {
		case i > 0:
			u.warn(e, "only the first ExecStop= is considered: not carried over")
		case isSignal:
			s.StopSignal = sig
			if timeout > 0 {
				s.StopTimeout = timeout
			}
			msg := "carried over as stop-signal: " + sig
			if timeout > 0 {
				msg += ", stop-timeout: " + importer.FormatDuration(timeout)
			}
			u.warn(e, "%s; shepherd then sends SIGKILL to the process group (systemd would send KillSignal=, then SIGKILL after TimeoutStopSec=)", msg)
		default:
			u.warn(e, "a stop command is not supported: shepherd stops a service with stop-signal (SIGTERM), then SIGKILL after stop-timeout")
		}
	}
	if e, ok := u.last("Service", "KillSignal"); ok {
		sig, valid := importer.SignalName(e.Value)
		switch {
		case !valid:
			u.warn(e, "%q is not a signal: not carried over", e.Value)
		case s.StopSignal != "":
			u.warn(e, "%s after ExecStop= is not carried over: stop-signal is ExecStop='s %s", sig, s.StopSignal)
		default:
			s.StopSignal = sig
		}
	}
	if e, ok := u.last("Service", "KillMode"); ok {
		switch e.Value {
		case "control-group":
		case "process":
			u.warn(e, "shepherd signals the whole process group, and kills what the main process leaves in it: processes the service started are not left running")
		case "mixed":
			u.warn(e, "shepherd sends stop-signal to the whole process group, not to the main process alone")
		case "none":
			u.warn(e, "shepherd always stops the service's processes")
		default:
			u.warn(e, "unknown KillMode %q: not carried over", e.Value)
		}
	}
	if e, ok := u.last("Service", "TimeoutStopSec"); ok {
		u.stopTimeout(e)
	}
	for _, key := range []string{"SendSIGKILL", "SendSIGHUP", "FinalKillSignal", "RestartKillSignal", "TimeoutAbortSec"} {
		for _, e := range u.all("Service", key) {
			u.warn(e, "not supported: shepherd sends stop-signal, then SIGKILL after stop-timeout")
		}
	}
}

func (u *unit) stopTimeout(e entry) {
	d, inf, err := parseTimespan(e.Value)
	switch {
	case err != nil:
		u.warn(e, "%v: not carried over", err)
	case inf || d == 0:
		u.warn(e, "no stop timeout (wait forever) is not supported: shepherd sends SIGKILL after stop-timeout; left at its default (5s): raise it if the program takes long to stop")
	default:
		u.svc.StopTimeout = d
	}
}

// restart translates Restart= (systemd's default is no: the service is
// not respawned) and RestartSec=.
func (u *unit) restart(typ string) {
	s := u.svc
	e, has := u.last("Service", "Restart")
	policy := "no"
	if has {
		policy = e.Value
	}
	switch {
	case s.OneShot || len(s.Command) == 0:
		if has && policy != "no" {
			u.warn(e, "a one-shot service or a milestone is never respawned: not carried over")
		}
	case policy == "no":
		s.Respawn = importer.Bool(false)
	case policy == "always":
		s.Respawn = importer.Bool(true)
	case policy == "on-failure" || policy == "on-abnormal" || policy == "on-abort" || policy == "on-watchdog" || policy == "on-success":
		s.Respawn = importer.Bool(true)
		u.warn(e, "shepherd respawns after any exit it did not ask for, whatever the exit status or signal (as Restart=always)")
	default:
		s.Respawn = importer.Bool(false)
		u.warn(e, "unknown Restart %q: not respawned", policy)
	}
	if e, ok := u.last("Service", "RestartSec"); ok {
		d, _, err := parseTimespan(e.Value)
		switch {
		case err != nil:
			u.warn(e, "%v: not carried over", err)
		case s.Respawn == nil || !*s.Respawn:
			u.warn(e, "the service is not respawned: not carried over")
		case d > 0:
			s.RespawnDelay = d
		}
	}
	for _, key := range []string{"StartLimitIntervalSec", "StartLimitInterval", "StartLimitBurst"} {
		u.startLimit("Service", key)
	}
	for _, key := range []string{"RestartPreventExitStatus", "RestartForceExitStatus", "SuccessExitStatus", "RestartSteps", "RestartMaxDelaySec", "StartLimitAction"} {
		for _, e := range u.all("Service", key) {
			u.warn(e, "not supported: shepherd's respawn does not depend on the exit status")
		}
	}
}

// credentials translates User=, Group= and SupplementaryGroups=.
func (u *unit) credentials() {
	s := u.svc
	if e, ok := u.last("Service", "User"); ok {
		s.User = u.sp.expand(e.Value, e.Pos, s.Name, e.Key, u.r)
	}
	if e, ok := u.last("Service", "Group"); ok {
		s.Group = u.sp.expand(e.Value, e.Pos, s.Name, e.Key, u.r)
	}
	for _, e := range u.all("Service", "SupplementaryGroups") {
		s.SupplementaryGroups = append(s.SupplementaryGroups, strings.Fields(u.sp.expand(e.Value, e.Pos, s.Name, e.Key, u.r))...)
	}
	for _, e := range u.all("Service", "DynamicUser") {
		if b, _ := parseBool(e.Value); b {
			u.warn(e, "not supported: give the service a user of its own (useradd --system) and set user")
		}
	}
}

// rlimit is the resource of limits a systemd Limit*= sets.
func rlimit(key string) (string, bool) {
	switch key {
	case "LimitCPU", "LimitFSIZE", "LimitDATA", "LimitSTACK", "LimitCORE", "LimitRSS", "LimitNOFILE", "LimitAS",
		"LimitNPROC", "LimitMEMLOCK", "LimitLOCKS", "LimitSIGPENDING", "LimitMSGQUEUE", "LimitNICE", "LimitRTPRIO":
		return strings.ToLower(strings.TrimPrefix(key, "Limit")), true
	}
	return "", false
}

// process translates WorkingDirectory=, UMask=, Nice=, the I/O
// scheduling and the resource limits.
func (u *unit) process() {
	s := u.svc
	if e, ok := u.last("Service", "WorkingDirectory"); ok {
		dir := u.sp.expand(e.Value, e.Pos, s.Name, e.Key, u.r)
		if d, optional := strings.CutPrefix(dir, "-"); optional {
			u.warn(e, "- (carry on if the directory is missing) is not supported: the start fails without it")
			dir = d
		}
		if strings.HasPrefix(dir, "/") {
			s.Directory = dir
		} else {
			u.warn(e, "%s: only an absolute directory is supported (~ is the user's home in systemd): not carried over", dir)
		}
	}
	if e, ok := u.last("Service", "UMask"); ok {
		m, err := strconv.ParseUint(e.Value, 8, 32)
		if err != nil || m > 0o777 {
			u.warn(e, "%q is not an octal mode: not carried over", e.Value)
		} else {
			s.Umask = fmt.Sprintf("%04o", m)
		}
	}
	if e, ok := u.last("Service", "Nice"); ok {
		n, err := strconv.Atoi(e.Value)
		if err != nil || n < -20 || n > 19 {
			u.warn(e, "%q is not a nice level -20..19: not carried over", e.Value)
		} else {
			s.Nice = importer.Int(n)
		}
	}
	if e, ok := u.last("Service", "IOSchedulingClass"); ok {
		switch e.Value {
		case "realtime", "1":
			s.IOClass = "realtime"
		case "best-effort", "2":
			s.IOClass = "best-effort"
		case "idle", "3":
			s.IOClass = "idle"
		case "none", "0":
		default:
			u.warn(e, "unknown I/O scheduling class %q: not carried over", e.Value)
		}
	}
	if e, ok := u.last("Service", "IOSchedulingPriority"); ok {
		n, err := strconv.Atoi(e.Value)
		if err != nil || n < 0 || n > 7 {
			u.warn(e, "%q is not an I/O priority 0..7: not carried over", e.Value)
		} else {
			s.IOPriority = importer.Int(n)
		}
	}
	for _, k := range u.order {
		section, key, _ := strings.Cut(k, ".")
		if section != "Service" || !strings.HasPrefix(key, "Limit") {
			continue
		}
		res, known := rlimit(key)
		for _, e := range u.all(section, key) {
			if !known {
				u.warn(e, "not supported (the resources of limits are %s)", "nofile nproc core as cpu memlock stack fsize data rss msgqueue nice rtprio sigpending locks")
				continue
			}
			l, err := parseLimit(key, res, e.Value)
			if err != nil {
				u.warn(e, "%v: not carried over", err)
				continue
			}
			s.Limits = slices.DeleteFunc(s.Limits, func(o importer.Limit) bool { return o.Name == res })
			s.Limits = append(s.Limits, l)
		}
	}
}

// parseLimit reads a Limit*= value: N, infinity, or SOFT:HARD, with the
// units of systemd.exec(5): sizes with K, M, G, T (of 1024), CPU time as
// a time span, LimitNICE's +N/-N as a nice level.
func parseLimit(key, res, v string) (importer.Limit, error) {
	l := importer.Limit{Name: res}
	soft, hard, pair := strings.Cut(v, ":")
	one := func(s string) (uint64, error) {
		s = strings.TrimSpace(s)
		if s == "infinity" {
			return importer.Unlimited, nil
		}
		switch key {
		case "LimitCPU":
			d, inf, err := parseTimespan(s)
			if inf {
				return importer.Unlimited, nil
			}
			return uint64(d / time.Second), err
		case "LimitRTTIME":
			d, _, err := parseTimespan(s)
			return uint64(d / time.Microsecond), err
		case "LimitNICE":
			if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
				n, err := strconv.Atoi(s)
				if err != nil || n < -20 || n > 19 {
					return 0, fmt.Errorf("%q is not a nice level -20..19", s)
				}
				return uint64(20 - n), nil
			}
		case "LimitFSIZE", "LimitDATA", "LimitSTACK", "LimitCORE", "LimitRSS", "LimitAS", "LimitMEMLOCK", "LimitMSGQUEUE":
			for i, suffix := range []string{"K", "M", "G", "T", "P", "E"} {
				if n, ok := strings.CutSuffix(s, suffix); ok {
					x, err := strconv.ParseUint(n, 10, 64)
					if err != nil {
						return 0, fmt.Errorf("%q is not a size such as 64M", s)
					}
					return x << (10 * (i + 1)), nil
				}
			}
		}
		x, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number or infinity", s)
		}
		return x, nil
	}
	var err error
	if l.Soft, err = one(soft); err != nil {
		return l, err
	}
	l.Hard = l.Soft
	if pair {
		if l.Hard, err = one(hard); err != nil {
			return l, err
		}
		if l.Soft > l.Hard {
			return l, fmt.Errorf("%q: the soft limit is above the hard one", v)
		}
	}
	return l, nil
}

// logs translates StandardOutput= and StandardError=: a file is the log
// file; the journal, syslog and inherit are shepherd's own log.
func (u *unit) logs() {
	s := u.svc
	var out string
	for _, key := range []string{"StandardOutput", "StandardError"} {
		e, ok := u.last("Service", key)
		if !ok {
			continue
		}
		v := u.sp.expand(e.Value, e.Pos, s.Name, e.Key, u.r)
		kind, p, _ := strings.Cut(v, ":")
		switch kind {
		case "file", "append", "truncate":
			if !strings.HasPrefix(p, "/") {
				u.warn(e, "%s is not an absolute path: not carried over", p)
				continue
			}
			if kind == "truncate" {
				u.warn(e, "the log file is appended to, not truncated at each start")
			}
			if key == "StandardError" && out != "" && out != p {
				u.warn(e, "both streams go to one log file (%s): not carried over", out)
				continue
			}
			out = p
			s.LogFile = p
		case "journal", "syslog", "kmsg", "journal+console", "syslog+console", "kmsg+console", "inherit":
			// shepherd's log file stands for the journal.
		default:
			u.warn(e, "%s is not supported: the output goes to the service's log file", v)
		}
	}
	if e, ok := u.last("Service", "StandardInput"); ok && e.Value != "null" {
		u.warn(e, "standard input is always /dev/null in shepherd")
	}
}

// Groups of directives not carried over, each with what to say.
var (
	sandboxing = []string{"Protect", "Private", "Restrict", "NoNewPrivileges", "Capability", "AmbientCapabilities",
		"SystemCall", "ReadWrite", "ReadOnly", "Inaccessible", "ExecPaths", "NoExecPaths", "LockPersonality",
		"MemoryDenyWriteExecute", "RemoveIPC", "SecureBits", "RootDirectory", "RootImage", "BindPaths",
		"BindReadOnlyPaths", "TemporaryFileSystem", "MountAPIVFS", "KeyringMode", "ProcSubset", "IPAddress",
		"IPAccounting", "SocketBind", "NetworkNamespacePath", "IPCNamespacePath", "SELinuxContext", "AppArmorProfile",
		"SmackProcessLabel", "PAMName", "UtmpIdentifier", "UtmpMode", "Personality", "LoadCredential", "SetCredential",
		"ImportCredential", "DevicePolicy", "DeviceAllow", "NUMA", "CPUAffinity", "MountFlags", "LogNamespace"}
	directories = []string{"RuntimeDirectory", "StateDirectory", "CacheDirectory", "LogsDirectory", "ConfigurationDirectory"}
	resources   = []string{"CPU", "Memory", "Tasks", "IO", "BlockIO", "Startup", "Slice", "Delegate", "ManagedOOM",
		"OOMPolicy", "AllowedCPUs", "AllowedMemoryNodes", "DisableControllers"}
)

func hasAnyPrefix(s string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(s, p) })
}

// leftovers warns about every assignment in effect that nothing read.
func (u *unit) leftovers() {
	for _, k := range u.order {
		if u.used[k] {
			continue
		}
		section, key, _ := strings.Cut(k, ".")
		for _, e := range u.vals[k] {
			switch {
			case strings.HasPrefix(key, "X-") || strings.HasPrefix(section, "X-"):
				u.warn(e, "an extension for other programs: not carried over")
			case section != "Unit" && section != "Service" && section != "Install":
				u.warn(e, "[%s] is not a section of a .%s unit: not carried over", section, u.name.Type)
			case strings.HasPrefix(key, "Condition") || strings.HasPrefix(key, "Assert"):
				u.warn(e, "shepherd checks no start conditions: not carried over")
			case section == "Service" && hasAnyPrefix(key, directories):
				u.warn(e, "shepherd does not create the service's directories: create them beforehand (a one-shot service the service requires can)")
			case section == "Service" && hasAnyPrefix(key, sandboxing):
				u.warn(e, "sandboxing is not supported: not carried over")
			case section == "Service" && hasAnyPrefix(key, resources):
				u.warn(e, "resource control is not supported (limits, nice and io-class are): not carried over")
			case section == "Install" && key == "Also":
				u.warn(e, "import %s along with this unit", strings.Join(strings.Fields(e.Value), " "))
			case section == "Service" && (key == "NotifyAccess" || key == "WatchdogSec" || key == "FileDescriptorStoreMax" || key == "BusName" || key == "GuessMainPID" || key == "Sockets"):
				u.warn(e, "not supported: not carried over")
			default:
				u.warn(e, "%s= is not supported: not carried over", key)
			}
		}
	}
}
