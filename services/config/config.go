package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/jobs"
	"github.com/shepherd-go/shepherd/services/monitorconfig"
	"github.com/shepherd-go/shepherd/services/notifyconfig"
	"github.com/shepherd-go/shepherd/services/yamlnode"

	"go.yaml.in/yaml/v3"
	"golang.org/x/sys/unix"
)

// Config is a loaded, validated set of services.
type Config struct {
	Services []*services.Spec
	Files    []string
	// HistoryRetention (top-level key history-retention) is how long the
	// daemon keeps history events. Zero means the default (30 days).
	HistoryRetention time.Duration
	// Notify (top-level key notify) is where alerts go; nil: nowhere.
	Notify *Notify
	// Jobs (top-level key jobs) are the expectations of tracked jobs.
	Jobs []jobs.Expect
	// Monitors (top-level key monitors) sample facts (docs/monitors.md).
	Monitors []monitorconfig.Monitor
	// Collect (top-level key collect) are the hosts pulled (facts/collect).
	Collect []monitorconfig.CollectHost
}

// LoadPath reads a services file, or every *.yaml and *.yml file of a
// directory in lexical order, and validates the whole set. A configuration
// with problems returns an services.ErrorList holding every one of them.
//
// acc resolves the names of user, group and supplementary-groups:
// SystemAccounts{} for the system's database, a fake in tests. With nil,
// every name is an error.
func LoadPath(path string, acc Accounts) (*Config, error) {
	cfg, errs, err := ParsePath(path, acc)
	if err != nil {
		return nil, err
	}
	errs = append(errs, services.Validate(cfg.Services)...)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// ParsePath is LoadPath without services.Validate, for services that will be
// validated together with others (herd load). It returns the services
// that could be read, every problem found in them, and an error only when
// a file cannot be read at all. acc is as for LoadPath.
func ParsePath(path string, acc Accounts) (*Config, services.ErrorList, error) {
	files, err := configFiles(path)
	if err != nil {
		return nil, nil, err
	}
	cfg := &Config{Files: files}
	var errs services.ErrorList
	seenJobs := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("read configuration: %w", err)
		}
		specs, e := Parse(f, data, acc)
		errs = append(errs, e...)
		cfg.Services = append(cfg.Services, specs...)
		n, e := notifyconfig.Parse(f, data)
		errs = append(errs, e...)
		cfg.Notify = mergeNotify(cfg.Notify, n, &errs)
		mons, e := monitorconfig.Parse(f, data)
		errs = append(errs, e...)
		cfg.Monitors = append(cfg.Monitors, mons...)
		coll, e := monitorconfig.ParseCollect(f, data)
		errs = append(errs, e...)
		cfg.Collect = append(cfg.Collect, coll...)
		if r, e := parseSettings(f, data); len(e) > 0 {
			errs = append(errs, e...)
		} else if r != 0 {
			cfg.HistoryRetention = r
		}
		j, e := parseJobs(f, data, seenJobs)
		errs = append(errs, e...)
		cfg.Jobs = append(cfg.Jobs, j...)
	}
	return cfg, errs, nil
}

// configFiles is path, or the *.yaml and *.yml files of directory path
// in lexical order.
func configFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	files := []string{path}
	if st.IsDir() {
		files = nil
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(path, pat))
			files = append(files, m...)
		}
		slices.Sort(files)
	}
	return files, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse reads one file's services. It checks each service on its own;
// services.Validate checks them together. acc is as for LoadPath.
func Parse(file string, data []byte, acc Accounts) ([]*services.Spec, services.ErrorList) {
	var errs services.ErrorList
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg, line := err.Error(), 1
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		errs.Add(services.Pos{File: file, Line: line, Col: 1}, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
		return nil, errs
	}
	if len(doc.Content) == 0 {
		return nil, nil // an empty file defines nothing
	}
	if acc == nil {
		acc = noAccounts{}
	}
	p := parser{Parser: yamlnode.Parser{File: file, Errs: &errs}, accounts: acc}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		errs.Add(p.Pos(root), "expected a mapping with a 'services' list, got %s", yamlnode.KindName(root))
		return nil, errs
	}
	var specs []*services.Spec
	p.EachKey(root, func(key string, k, v *yaml.Node) {
		if key == "history-retention" || key == "jobs" || key == "notify" || key == "monitors" || key == "collect" {
			return // see parseSettings, parseJobs, notifyconfig.Parse, monitorconfig.Parse and ParseCollect
		}
		if key != "services" {
			errs.Add(p.Pos(k), "unknown key %q (expected 'services', 'jobs', 'notify', 'monitors', 'collect' or 'history-retention')", key)
			return
		}
		if v.Kind != yaml.SequenceNode {
			errs.Add(p.Pos(v), "services: expected a list, got %s", yamlnode.KindName(v))
			return
		}
		for _, item := range v.Content {
			if s := p.service(item); s != nil {
				specs = append(specs, s)
			}
		}
	})
	return specs, errs
}

// parseSettings reads the daemon-wide keys of a file (history-retention).
func parseSettings(file string, data []byte) (time.Duration, services.ErrorList) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return 0, nil // Parse reports these
	}
	var errs services.ErrorList
	p := parser{Parser: yamlnode.Parser{File: file, Errs: &errs}}
	var retention time.Duration
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "history-retention" {
			v := root.Content[i+1]
			if retention = p.Duration("history-retention", v); retention == 0 && len(errs) == 0 {
				p.Errorf(v, "history-retention: must be more than 0")
			}
		}
	}
	return retention, errs
}

type parser struct {
	yamlnode.Parser
	accounts Accounts
}

func (p parser) service(n *yaml.Node) *services.Spec {
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "a service must be a mapping, got %s", yamlnode.KindName(n))
		return nil
	}
	s := &services.Spec{Pos: p.Pos(n), AutoStart: true}
	var respawnSet, exitCodesNode, stderrNode, logNode *yaml.Node
	var userNode, groupNode, groupsNode *yaml.Node
	var timerNode, autoStartNode *yaml.Node
	var act activationNodes
	var ready readyKeys
	p.EachKey(n, func(key string, k, v *yaml.Node) {
		if act.set(key, v) {
			return // see listen.go
		}
		switch key {
		case "name":
			s.Name = p.Str(key, v)
		case "provides":
			s.Provides = p.Strs(key, v)
		case "requires":
			s.Requires = p.Strs(key, v)
		case "after":
			s.After = p.Strs(key, v)
		case "wants":
			s.Wants = p.Strs(key, v)
		case "conflicts":
			s.Conflicts = p.Strs(key, v)
		case "documentation":
			s.Documentation = p.Str(key, v)
		case "command":
			s.Command = p.Command(key, v)
		case "environment":
			s.Environment = p.env(v)
		case "environment-file":
			s.EnvironmentFiles = p.envFiles(v)
		case "directory":
			s.Directory = p.AbsPath(key, v)
		case "log-file":
			s.LogFile = p.AbsPath(key, v)
		case "log":
			logNode = v
			s.Log = p.logTarget(v)
		case "stderr-log-file":
			stderrNode = v
			s.StderrLogFile = p.AbsPath(key, v)
		case "respawn":
			s.Respawn, s.RespawnOnFailure = p.respawn(v)
			respawnSet = k
		case "exit-codes":
			exitCodesNode = v
			s.ExitCodes = p.exitCodes(v)
		case "respawn-limit":
			s.RespawnLimit = p.respawnLimit(v)
		case "respawn-delay":
			s.RespawnDelay = p.Duration(key, v)
		case "respawn-max-delay":
			s.RespawnMaxDelay = p.Duration(key, v)
		case "respawn-cooldown":
			s.RespawnCooldown = p.Duration(key, v)
		case "respawn-backoff":
			switch b := p.Str(key, v); b {
			case "exponential":
				s.RespawnBackoff = true
			case "none", "":
			default:
				p.Errorf(v, "respawn-backoff: expected 'exponential' or 'none', got %q", b)
			}
		case "stop-signal":
			s.StopSignal = p.signal(v)
		case "stop-timeout":
			s.StopTimeout = p.Duration(key, v)
		case "one-shot":
			s.OneShot = p.Boolean(key, v)
		case "auto-start":
			s.AutoStart, autoStartNode = p.Boolean(key, v), v
		case "timer":
			s.Timer, timerNode = p.timer(v), v
		case "leftovers":
			s.StopLeftovers = p.leftovers(key, v)
		case "actions":
			s.Actions = p.actions(v)
		case "user":
			userNode = v
		case "group":
			groupNode = v
		case "supplementary-groups":
			groupsNode = v
		case "remote":
			s.Remote = p.Str(key, v)
			if s.Remote != "" && !strings.HasPrefix(s.Remote, "ocapn://") {
				p.Errorf(v, "remote: %q is not a sturdyref (ocapn://...)", s.Remote)
			}
		case "pid-file":
			s.PIDFile = p.AbsPath(key, v)
		case "pid-file-timeout":
			s.PIDFileTimeout = p.Duration(key, v)
		case "log-rotate":
			s.LogRotate = p.logRotate(v)
		case "umask":
			s.Umask = p.umask(v)
		case "limits":
			s.Limits = p.limits(v)
		case "nice":
			n := p.Integer(key, v)
			if n < -20 || n > 19 {
				p.Errorf(v, "nice: %d is outside -20..19", n)
			}
			s.Nice = &n
		case "io-class":
			switch c := p.Str(key, v); c {
			case "realtime":
				s.IOClass = 1
			case "best-effort":
				s.IOClass = 2
			case "idle":
				s.IOClass = 3
			default:
				p.Errorf(v, "io-class: expected realtime, best-effort or idle, got %q", c)
			}
		case "io-priority":
			if s.IOPriority = p.Integer(key, v); s.IOPriority < 0 || s.IOPriority > 7 {
				p.Errorf(v, "io-priority: %d is outside 0..7", s.IOPriority)
			}
		case "on-exit", "on-failure", "on-respawn-limit":
			if h, ok := p.hook(key, v); ok {
				if s.Hooks == nil {
					s.Hooks = map[string]services.Hook{}
				}
				s.Hooks[key] = h
			}
		case "memory-max", "memory-high", "cpu-weight", "cpu-max", "pids-max", "io-weight":
			p.cgroupLimit(s, key, k, v)
		case "instances":
			if s.Instances = p.Integer(key, v); s.Instances < 1 && v.Kind == yaml.ScalarNode && v.Tag == "!!int" {
				p.Errorf(v, "instances: must be at least 1, got %d", s.Instances)
			}
		case "ready", "min-uptime", "start-timeout", "watchdog":
			ready.parse(p, s, key, v)
		default:
			p.Errorf(k, "unknown key %q", key)
		}
	})
	s.Credentials = p.credentials(userNode, groupNode, groupsNode)
	if s.IOPriority != 0 && s.IOClass == 0 {
		s.IOClass = 2 // a priority alone is best-effort's, as ionice does
	}
	if s.Name == "" {
		p.Errorf(n, "service has no name")
		return nil
	}
	if strings.ContainsAny(s.Name, " \t\n/") || strings.HasPrefix(s.Name, "-") {
		p.Errorf(n, "service name %q: must not contain spaces or '/', nor start with '-'", s.Name)
	}
	if s.Name == "shepherd" || s.Name == "root" {
		p.Errorf(n, "service name %q is reserved for the daemon itself", s.Name)
	}
	if s.Instances > 0 && (len(s.Command) == 0 || s.OneShot || s.PIDFile != "" || s.Remote != "") {
		p.Errorf(n, "service %s: instances need a command, and no one-shot, pid-file or remote", s.Name)
	}
	if s.Remote != "" && len(s.Command) > 0 {
		p.Errorf(n, "service %s: a remote service has no command of its own", s.Name)
	}
	p.checkTimer(s, timerNode, autoStartNode)
	fillDefaults(s, respawnSet != nil)
	p.checkExitCodes(s, exitCodesNode)
	p.checkStderrLogFile(s, stderrNode)
	p.checkLogTarget(s, logNode)
	p.checkInstanceRefs(s, n)
	p.activation(n, s, act)
	ready.check(p, s, n)
	if s.OneShot {
		if len(s.Command) == 0 {
			p.Errorf(n, "service %s: a one-shot service needs a command", s.Name)
		}
		if respawnSet != nil && s.Respawn {
			p.Errorf(respawnSet, "service %s: a one-shot service cannot be respawned", s.Name)
		}
	}
	return s
}

func fillDefaults(s *services.Spec, respawnSet bool) {
	if !respawnSet {
		s.Respawn = len(s.Command) > 0 && !s.OneShot
	}
	if len(s.Command) == 0 {
		s.Respawn, s.RespawnOnFailure = false, false
	}
	if s.RespawnLimit == (services.RespawnLimit{}) {
		s.RespawnLimit = services.DefaultRespawnLimit
	}
	if s.RespawnDelay == 0 {
		s.RespawnDelay = 100 * time.Millisecond
	}
	if s.RespawnMaxDelay == 0 {
		s.RespawnMaxDelay = 30 * time.Second
	}
	if s.StopSignal == 0 {
		s.StopSignal = syscall.SIGTERM
	}
	if s.StopTimeout == 0 {
		s.StopTimeout = 5 * time.Second
	}
	if s.PIDFileTimeout == 0 {
		s.PIDFileTimeout = 5 * time.Second
	}
}

func (p parser) signal(v *yaml.Node) syscall.Signal {
	if !p.Scalar("stop-signal", v, "a signal") {
		return 0
	}
	if n, err := strconv.Atoi(v.Value); err == nil {
		if n < 1 || n > 64 {
			p.Errorf(v, "bad signal %q", v.Value)
			return 0
		}
		return syscall.Signal(n)
	}
	name := strings.ToUpper(v.Value)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		p.Errorf(v, "bad signal %q", v.Value)
	}
	return sig
}

func (p parser) env(v *yaml.Node) map[string]string {
	if v.Kind != yaml.MappingNode {
		p.Errorf(v, "environment: expected a mapping of NAME: value, got %s", yamlnode.KindName(v))
		return nil
	}
	env := map[string]string{}
	p.EachKey(v, func(key string, k, val *yaml.Node) {
		if key == "" || strings.Contains(key, "=") {
			p.Errorf(k, "environment: bad variable name %q", key)
			return
		}
		if val.Kind != yaml.ScalarNode {
			p.Errorf(val, "environment: %s: expected a value, got %s", key, yamlnode.KindName(val))
			return
		}
		env[key] = val.Value
	})
	return env
}

func (p parser) respawnLimit(v *yaml.Node) services.RespawnLimit {
	if v.Kind == yaml.ScalarNode && v.Value == "unlimited" {
		return services.RespawnLimit{Unlimited: true}
	}
	if v.Kind != yaml.MappingNode {
		p.Errorf(v, "respawn-limit: expected 'unlimited' or {count: N, seconds: S}, got %s", yamlnode.KindName(v))
		return services.RespawnLimit{}
	}
	var lim services.RespawnLimit
	var hasCount, hasSeconds, bad bool
	p.EachKey(v, func(key string, k, val *yaml.Node) {
		switch key {
		case "count":
			hasCount = true
			lim.Count = p.Integer("respawn-limit count", val)
			if lim.Count < 0 {
				p.Errorf(val, "respawn-limit count: must be 0 or more, got %d (for no limit: respawn-limit: unlimited)", lim.Count)
				bad = true
			}
		case "seconds":
			hasSeconds = true
			lim.Window = p.Duration("respawn-limit seconds", val)
			if lim.Window <= 0 {
				p.Errorf(val, "respawn-limit seconds: must be more than 0")
				bad = true
			}
		default:
			p.Errorf(k, "respawn-limit: unknown key %q (expected count and seconds)", key)
		}
	})
	switch {
	case !hasCount && !hasSeconds:
		p.Errorf(v, "respawn-limit: needs both count and seconds")
	case !hasCount:
		p.Errorf(v, "respawn-limit: count is missing (needs both count and seconds)")
	case !hasSeconds:
		p.Errorf(v, "respawn-limit: seconds is missing (needs both count and seconds)")
	}
	if bad || !hasCount || !hasSeconds {
		return services.RespawnLimit{}
	}
	return lim
}

// credentials resolves user, group and supplementary-groups; unknown names
// are errors at their position.
func (p parser) credentials(userNode, groupNode, groupsNode *yaml.Node) *services.Credentials {
	if userNode == nil && groupNode == nil && groupsNode == nil {
		return nil
	}
	c := &services.Credentials{}
	if userNode != nil {
		name := p.Str("user", userNode)
		a, err := p.accounts.LookupUser(name)
		if err != nil {
			p.Errorf(userNode, "user: %v", err)
		}
		c.User, c.GID = a, a.GID
	} else {
		// A group without a user keeps the daemon's user.
		a, err := p.accounts.LookupUser(strconv.Itoa(os.Getuid()))
		if err != nil {
			a = services.Account{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
		}
		c.User, c.GID = a, a.GID
	}
	group := func(key string, v *yaml.Node) (uint32, bool) {
		name := p.Str(key, v)
		gid, err := p.accounts.LookupGroup(name)
		if err != nil {
			p.Errorf(v, "%s: %v", key, err)
			return 0, false
		}
		return gid, true
	}
	if groupNode != nil {
		if gid, ok := group("group", groupNode); ok {
			c.GID = gid
		}
	}
	if groupsNode != nil {
		if groupsNode.Kind != yaml.SequenceNode {
			p.Errorf(groupsNode, "supplementary-groups: expected a list of groups, got %s", yamlnode.KindName(groupsNode))
		} else {
			for _, g := range groupsNode.Content {
				if gid, ok := group("supplementary-groups", g); ok {
					c.Groups = append(c.Groups, gid)
				}
			}
		}
	}
	return c
}

// logRotate reads {size: 10MB, keep: 5}.
func (p parser) logRotate(v *yaml.Node) services.LogRotate {
	if v.Kind != yaml.MappingNode {
		p.Errorf(v, "log-rotate: expected {size: 10MB, keep: 5}, got %s", yamlnode.KindName(v))
		return services.LogRotate{}
	}
	r := services.LogRotate{Keep: 5}
	sized := false
	p.EachKey(v, func(key string, k, val *yaml.Node) {
		switch key {
		case "size":
			r.Size, sized = p.size(val), true
		case "keep":
			if r.Keep = p.Integer("log-rotate keep", val); r.Keep < 1 {
				p.Errorf(val, "log-rotate keep: must be at least 1")
			}
		default:
			p.Errorf(k, "log-rotate: unknown key %q (expected size and keep)", key)
		}
	})
	if !sized {
		p.Errorf(v, "log-rotate: needs a size")
	}
	return r
}

// size reads a byte count: 4096, "512K", "10MB", "1GiB" (binary units).
func (p parser) size(v *yaml.Node) int64 {
	if !p.Scalar("log-rotate size", v, "a size") {
		return 0
	}
	s := strings.ToUpper(strings.TrimSpace(v.Value))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		p.Errorf(v, "log-rotate size: %q is not a size such as 10MB", v.Value)
		return 0
	}
	return n * mult
}

// umask accepts "0022" or 022 (octal, as umask(1) prints it).
func (p parser) umask(v *yaml.Node) *uint32 {
	if !p.Scalar("umask", v, "an octal mode") {
		return nil
	}
	m, err := strconv.ParseUint(v.Value, 8, 32)
	if err != nil || m > 0o777 {
		p.Errorf(v, "umask: %q is not an octal mode such as \"0022\"", v.Value)
		return nil
	}
	u := uint32(m)
	return &u
}

// rlimits names the resources of `limits`.
var rlimits = map[string]int{
	"nofile": unix.RLIMIT_NOFILE, "nproc": unix.RLIMIT_NPROC, "core": unix.RLIMIT_CORE,
	"as": unix.RLIMIT_AS, "cpu": unix.RLIMIT_CPU, "memlock": unix.RLIMIT_MEMLOCK,
	"stack": unix.RLIMIT_STACK, "fsize": unix.RLIMIT_FSIZE, "data": unix.RLIMIT_DATA,
	"rss": unix.RLIMIT_RSS, "msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE,
	"rtprio": unix.RLIMIT_RTPRIO, "sigpending": unix.RLIMIT_SIGPENDING, "locks": unix.RLIMIT_LOCKS,
}

// limits reads {name: N | unlimited | {soft: N, hard: M}}.
func (p parser) limits(v *yaml.Node) []services.Limit {
	if v.Kind != yaml.MappingNode {
		p.Errorf(v, "limits: expected a mapping such as {nofile: 4096}, got %s", yamlnode.KindName(v))
		return nil
	}
	var out []services.Limit
	value := func(key string, n *yaml.Node) (uint64, bool) {
		if n.Kind == yaml.ScalarNode && n.Value == "unlimited" {
			return unix.RLIM_INFINITY, true
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			p.Errorf(n, "limits: %s: expected a number or unlimited, got %s", key, yamlnode.KindName(n))
			return 0, false
		}
		x, err := strconv.ParseUint(n.Value, 10, 64)
		if err != nil {
			p.Errorf(n, "limits: %s: expected a non-negative number, got %q", key, n.Value)
			return 0, false
		}
		return x, true
	}
	p.EachKey(v, func(name string, k, val *yaml.Node) {
		res, ok := rlimits[name]
		if !ok {
			p.Errorf(k, "limits: unknown resource %q", name)
			return
		}
		l := services.Limit{Name: name, Resource: res}
		if val.Kind == yaml.MappingNode {
			soft, hard := false, false
			p.EachKey(val, func(key string, kk, vv *yaml.Node) {
				switch key {
				case "soft":
					l.Soft, soft = value(name+" soft", vv)
				case "hard":
					l.Hard, hard = value(name+" hard", vv)
				default:
					p.Errorf(kk, "limits: %s: unknown key %q (expected soft and hard)", name, key)
				}
			})
			if !soft || !hard {
				p.Errorf(val, "limits: %s: needs both soft and hard", name)
				return
			}
			if l.Soft > l.Hard {
				p.Errorf(val, "limits: %s: soft limit above the hard one", name)
				return
			}
		} else {
			x, ok := value(name, val)
			if !ok {
				return
			}
			l.Soft, l.Hard = x, x
		}
		out = append(out, l)
	})
	return out
}

// hook reads a hook: a command (list or string), or a mapping with
// command or url, and timeout.
func (p parser) hook(key string, v *yaml.Node) (services.Hook, bool) {
	h := services.Hook{Timeout: 10 * time.Second}
	if v.Kind != yaml.MappingNode {
		h.Command = p.Command(key, v)
		return h, len(h.Command) > 0
	}
	p.EachKey(v, func(k string, kn, vn *yaml.Node) {
		switch k {
		case "command":
			h.Command = p.Command(key+" command", vn)
		case "url":
			h.URL = p.Str(key+" url", vn)
			if h.URL != "" && !strings.HasPrefix(h.URL, "http://") && !strings.HasPrefix(h.URL, "https://") {
				p.Errorf(vn, "%s url: %q must start with http:// or https://", key, h.URL)
			}
		case "timeout":
			if h.Timeout = p.Duration(key+" timeout", vn); h.Timeout == 0 {
				h.Timeout = 10 * time.Second
			}
		default:
			p.Errorf(kn, "%s: unknown key %q (expected command or url, and timeout)", key, k)
		}
	})
	if (len(h.Command) == 0) == (h.URL == "") {
		p.Errorf(v, "%s: needs either a command or a url", key)
		return h, false
	}
	return h, true
}

func (p parser) actions(v *yaml.Node) []services.Action {
	if v.Kind != yaml.MappingNode {
		p.Errorf(v, "actions: expected a mapping of action names, got %s", yamlnode.KindName(v))
		return nil
	}
	var out []services.Action
	p.EachKey(v, func(name string, k, val *yaml.Node) {
		if slices.Contains(services.BuiltinActions, name) {
			p.Errorf(k, "action %q: the name is a built-in action", name)
			return
		}
		if val.Kind != yaml.MappingNode {
			p.Errorf(val, "action %s: expected a mapping with a command, got %s", name, yamlnode.KindName(val))
			return
		}
		a := services.Action{Name: name}
		p.EachKey(val, func(key string, kk, vv *yaml.Node) {
			switch key {
			case "command":
				a.Command = p.Command("action "+name+" command", vv)
			case "documentation":
				a.Documentation = p.Str("action "+name+" documentation", vv)
			case "args":
				a.Args = p.actionArgs(name, vv)
			default:
				p.Errorf(kk, "action %s: unknown key %q", name, key)
			}
		})
		if len(a.Command) == 0 {
			p.Errorf(val, "action %s: needs a command", name)
			return
		}
		out = append(out, a)
	})
	return out
}

// actionArgs reads an action's declared arguments: a list of {name,
// pattern}. Without a declaration an action takes no arguments, so that a
// capability for `showconf` cannot name the file (herd showconf web
// /etc/shadow).
func (p parser) actionArgs(action string, v *yaml.Node) []services.ActionArg {
	if v.Kind != yaml.SequenceNode {
		p.Errorf(v, "action %s args: expected a list of {name, pattern}, got %s", action, yamlnode.KindName(v))
		return nil
	}
	var out []services.ActionArg
	for _, item := range v.Content {
		if item.Kind != yaml.MappingNode {
			p.Errorf(item, "action %s args: expected {name: NAME, pattern: REGEXP}, got %s", action, yamlnode.KindName(item))
			continue
		}
		var a services.ActionArg
		p.EachKey(item, func(key string, k, val *yaml.Node) {
			switch key {
			case "name":
				a.Name = p.Str("action "+action+" args name", val)
			case "pattern":
				a.Pattern = p.Str("action "+action+" args pattern", val)
				if _, err := a.Compile(); err != nil {
					p.Errorf(val, "action %s argument %s: pattern %q is not a regular expression: %v", action, a.Name, a.Pattern, err)
				}
			case "documentation":
				a.Documentation = p.Str("action "+action+" args documentation", val)
			default:
				p.Errorf(k, "action %s args: unknown key %q (name, pattern, documentation)", action, key)
			}
		})
		switch {
		case !validArgName(a.Name):
			p.Errorf(item, "action %s args: name %q must be a word of lower-case letters, digits and dashes", action, a.Name)
		case a.Pattern == "":
			p.Errorf(item, "action %s argument %s: needs a pattern (a regular expression the whole argument must match)", action, a.Name)
		case slices.ContainsFunc(out, func(o services.ActionArg) bool { return o.Name == a.Name }):
			p.Errorf(item, "action %s: argument %s is declared twice", action, a.Name)
		default:
			out = append(out, a)
		}
	}
	return out
}

func validArgName(n string) bool {
	if n == "" || n[0] < 'a' || n[0] > 'z' {
		return false
	}
	return strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// LoadMonitors reads the monitors of a configuration file or directory
// (as LoadPath reads them, which checked them at the daemon's start).
// An empty path has none.
func LoadMonitors(path string) ([]monitorconfig.Monitor, error) {
	if path == "" {
		return nil, nil
	}
	cfg, _, err := ParsePath(path, nil)
	if err != nil {
		return nil, err
	}
	return cfg.Monitors, nil
}

// SplitWords splits a command line on blanks, honouring single and double
// quotes (no other shell syntax).
func SplitWords(s string) ([]string, error) { return yamlnode.SplitWords(s) }
