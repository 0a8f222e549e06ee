package supervisord

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/importer"
)

// Options is what supervisord's expansions take from where it runs:
// %(ENV_X)s, %(host_node_name)s and %(here)s. Nil Env and empty
// Hostname leave those expressions unexpanded, with a warning.
type Options struct {
	Env      func(string) (string, bool)
	Hostname string
	// Here is the directory of the file, absolute; by default the
	// directory of the path Import is given.
	Here string
}

// MaxProcs bounds numprocs: a program with %(process_num)d in its
// options becomes that many services.
const MaxProcs = 1000

// Import translates a supervisord.conf into services. The error is a
// syntax error of the file; everything not carried over is a warning at
// its line.
func Import(file string, data []byte, opt Options) (*importer.Result, error) {
	r := &importer.Result{Source: "supervisord", Files: []string{file}}
	sections, err := parseINI(file, data, r)
	if err != nil {
		return nil, err
	}
	im := &imp{r: r, file: file, opt: opt, warnedEnv: map[string]bool{}}
	for _, s := range sections {
		if s.Name == "supervisord" {
			im.daemon = s
		}
	}
	im.daemonSettings()
	var programs []*section
	for _, s := range sections {
		kind, name, _ := strings.Cut(s.Name, ":")
		switch kind {
		case "program":
			if name == "" {
				r.Warn(s.Pos, "", "["+s.Name+"]", "a program without a name: not imported")
				continue
			}
			programs = append(programs, s)
		case "supervisord":
		case "unix_http_server", "inet_http_server", "supervisorctl", "rpcinterface", "ctlplugin":
			r.Warn(s.Pos, "", "["+s.Name+"]", "supervisord's control interface (%s): herd talks to shepherd's socket instead: not carried over", plural(len(s.Options), "setting"))
		case "include":
			files := ""
			if o, ok := s.get("files"); ok {
				files = strings.Join(strings.Fields(o.Value), " ")
			}
			r.Warn(s.Pos, "", "[include]", "included files (%s) are not read: import each with herd import supervisord and load them together (shepherd -c DIR)", files)
		case "group":
			progs := ""
			if o, ok := s.get("programs"); ok {
				progs = o.Value
			}
			r.Warn(s.Pos, "", "["+s.Name+"]", "groups are not carried over: herd starts and stops the programs (%s) one by one", progs)
		case "eventlistener", "fcgi-program":
			r.Warn(s.Pos, "", "["+s.Name+"]", "%s sections are not imported: shepherd has no %s", kind, map[string]string{"eventlistener": "event listeners", "fcgi-program": "FastCGI socket sharing"}[kind])
		default:
			r.Warn(s.Pos, "", "["+s.Name+"]", "not a section of supervisord.conf: not imported")
		}
	}
	im.priorities(programs)
	for _, p := range programs {
		im.program(p)
	}
	r.Finish()
	return r, nil
}

type imp struct {
	r      *importer.Result
	file   string
	opt    Options
	daemon *section // [supervisord]
	// What [supervisord] gives every program: its processes inherit
	// supervisord's environment, user and umask.
	env       []importer.EnvVar
	user      string
	umask     string
	warnedEnv map[string]bool
	// ordered is true when the programs' priorities differ.
	ordered bool
}

// vars are the expansions supervisord offers in a program's options.
func (im *imp) vars(program string, num, numprocs int, directive string, pos importer.Pos) func(string) (string, bool) {
	return func(name string) (string, bool) {
		switch name {
		case "program_name", "group_name":
			return program, true
		case "process_num":
			return strconv.Itoa(num), true
		case "numprocs":
			return strconv.Itoa(numprocs), true
		case "here":
			if im.opt.Here != "" {
				return im.opt.Here, true
			}
			return filepath.Dir(im.file), true
		case "host_node_name":
			if im.opt.Hostname == "" {
				return "", false
			}
			im.noteEnv("host_node_name", pos, program, directive, "%%(host_node_name)s is this machine's name, %s: expanded here, when supervisord expands it on the machine it runs on", im.opt.Hostname)
			return im.opt.Hostname, true
		}
		if env, ok := strings.CutPrefix(name, "ENV_"); ok && im.opt.Env != nil {
			if v, ok := im.opt.Env(env); ok {
				im.noteEnv(name, pos, program, directive, "%%(%s)s is taken from the environment of herd import (%s=%s), where supervisord takes it from its own", name, env, v)
				return v, true
			}
		}
		return "", false
	}
}

// noteEnv warns once per option about a value taken from this machine.
func (im *imp) noteEnv(name string, pos importer.Pos, service, directive, format string, args ...any) {
	key := fmt.Sprintf("%s:%d:%s", pos.File, pos.Line, name)
	if !im.warnedEnv[key] {
		im.warnedEnv[key] = true
		im.r.Warn(pos, service, directive, format, args...)
	}
}

// daemonSettings reads [supervisord]: environment, user and umask pass
// to the programs; the rest is supervisord's own.
func (im *imp) daemonSettings() {
	s := im.daemon
	if s == nil {
		return
	}
	vars := im.vars("supervisord", 0, 1, "", s.Pos)
	for _, o := range s.Options {
		val, _, err := expand(o.Value, vars)
		if err != nil {
			im.r.Warn(o.Pos, "", o.Key, "%v: not carried over", err)
			continue
		}
		switch o.Key {
		case "environment":
			env, err := parseEnvironment(val)
			if err != nil {
				im.r.Warn(o.Pos, "", o.Key, "%v: not carried over", err)
				continue
			}
			im.env = env
			im.r.Warn(o.Pos, "", o.Key, "supervisord's environment is added to each program's environment")
		case "user":
			im.user = val
			im.r.Warn(o.Pos, "", o.Key, "supervisord runs as %s, and so do its programs: each program without a user of its own gets user %s", val, val)
		case "umask":
			m, err := strconv.ParseUint(val, 8, 32)
			if err != nil || m > 0o777 {
				im.r.Warn(o.Pos, "", o.Key, "%q is not an octal mode: not carried over", val)
				continue
			}
			im.umask = fmt.Sprintf("%04o", m)
			im.r.Warn(o.Pos, "", o.Key, "supervisord's umask is its programs': each program without a umask of its own gets umask %s", im.umask)
		default:
			im.r.Warn(o.Pos, "", o.Key, "a setting of supervisord itself: not carried over")
		}
	}
}

// priorities notes whether the programs' start order matters: only
// when their priorities differ.
func (im *imp) priorities(programs []*section) {
	seen := map[string]bool{}
	for _, p := range programs {
		v := "999"
		for _, o := range p.Options {
			if o.Key == "priority" {
				v = o.Value
			}
		}
		seen[v] = true
	}
	im.ordered = len(seen) > 1
}

// program imports [program:NAME]: one service, a service with instances
// for numprocs, or one service per process when the options depend on
// %(process_num)d.
func (im *imp) program(s *section) {
	_, name, _ := strings.Cut(s.Name, ":")
	numprocs, start := 1, 0
	if o, ok := s.get("numprocs"); ok {
		n, err := strconv.Atoi(o.Value)
		if err != nil || n < 1 {
			im.r.Warn(o.Pos, name, o.Key, "%q is not a number of processes: not imported", o.Value)
			return
		}
		if n > MaxProcs {
			im.r.Warn(o.Pos, name, o.Key, "%d processes: more than the %d this importer carries over: not imported", n, MaxProcs)
			return
		}
		numprocs = n
	}
	if o, ok := s.get("numprocs_start"); ok {
		n, err := strconv.Atoi(o.Value)
		if err != nil || n < 0 || n > 1<<30 {
			im.r.Warn(o.Pos, name, o.Key, "%q is not a number: not imported", o.Value)
			return
		}
		start = n
	}
	processName := "%(program_name)s"
	pn, hasPN := s.get("process_name")
	if hasPN {
		processName = pn.Value
	}
	perProcess := false
	for _, o := range s.Options {
		if o.Key != "process_name" && strings.Contains(o.Value, "%(process_num)") {
			perProcess = true
		}
	}
	if numprocs > 1 && !strings.Contains(processName, "%(process_num)") {
		im.r.Warn(s.Pos, name, "process_name", "numprocs is %d, and process_name %q does not include %%(process_num)s: supervisord refuses it; not imported", numprocs, processName)
		return
	}
	switch {
	case numprocs > 1 && perProcess:
		o, _ := s.get("numprocs")
		im.r.Warn(o.Pos, name, o.Key, "the options use %%(process_num): imported as %d services named by process_name (herd scale does not apply to them)", numprocs)
		for i := start; i < start+numprocs; i++ {
			pname, _, err := expand(processName, im.vars(name, i, numprocs, "process_name", pn.Pos))
			if err != nil {
				im.r.Warn(pn.Pos, name, "process_name", "%v: not imported", err)
				return
			}
			im.service(s, name, pname, i, numprocs, 0)
		}
	case numprocs > 1:
		o, _ := s.get("numprocs")
		im.r.Warn(o.Pos, name, o.Key, "carried over as instances: %d; they are named %s.1 .. %s.%d (supervisord's process_name is not)", numprocs, name, name, numprocs)
		im.service(s, name, name, start, numprocs, numprocs)
	default:
		pname := name
		if hasPN {
			if v, _, err := expand(processName, im.vars(name, start, 1, "process_name", pn.Pos)); err == nil {
				pname = v
			}
		}
		im.service(s, name, name, start, 1, 0)
		if pname != name {
			svc := im.r.Services[len(im.r.Services)-1]
			svc.Provides = append(svc.Provides, importer.Ref{Name: pname, Pos: pn.Pos, Directive: "process_name"})
		}
	}
}

// service imports the program's options as one service named svcName,
// for process number num.
func (im *imp) service(s *section, program, svcName string, num, numprocs, instances int) {
	svc := &importer.Service{Name: svcName, Pos: s.Pos, Instances: instances}
	get := func(key string) (string, *option, bool) {
		o, ok := s.get(key)
		if !ok {
			return "", nil, false
		}
		v, _, err := expand(o.Value, im.vars(program, num, numprocs, key, o.Pos))
		if err != nil {
			im.r.Warn(o.Pos, svcName, key, "%v: not carried over", err)
			return "", o, false
		}
		return v, o, true
	}
	warn := func(o *option, format string, args ...any) {
		im.r.Warn(o.Pos, svcName, o.Key, format, args...)
	}
	if v, o, ok := get("command"); ok {
		words, err := splitCommand(v)
		switch {
		case err != nil:
			warn(o, "%v: the program is imported without a process", err)
		case len(words) == 0:
			warn(o, "an empty command: the program is imported without a process")
		default:
			svc.Command = words
		}
	} else if o == nil {
		im.r.Warn(s.Pos, svcName, "command", "a program without a command: supervisord refuses it; imported without a process")
	}
	if len(svc.Command) == 0 {
		svc.Instances = 0
	}
	if v, o, ok := get("autostart"); ok {
		if b, valid := parseBool(v); valid {
			if !b {
				svc.AutoStart = importer.Bool(false)
			}
		} else {
			warn(o, "%q is not true or false: not carried over", v)
		}
	}
	if v, o, ok := get("autorestart"); ok {
		switch strings.ToLower(v) {
		case "true":
		case "false":
			svc.Respawn = importer.Bool(false)
		case "unexpected":
			warn(o, "shepherd respawns after any exit it did not ask for, also with one of the exitcodes")
		default:
			warn(o, "%q is not true, false or unexpected: not carried over", v)
		}
	}
	if v, o, ok := get("startsecs"); ok {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n < 0:
			warn(o, "%q is not a number of seconds: not carried over", v)
		case n > 0:
			svc.MinUptime = time.Duration(n) * time.Second
		}
	}
	if v, o, ok := get("startretries"); ok {
		warn(o, "%s retries of a failing start are not supported: shepherd's respawn-limit (5 in 7s) bounds the respawns instead", v)
	}
	if v, o, ok := get("exitcodes"); ok && strings.TrimSpace(v) != "0" {
		warn(o, "exit codes other than 0 are failures in shepherd: not carried over")
	}
	if v, o, ok := get("stopsignal"); ok {
		if sig, valid := importer.SignalName(v); valid {
			svc.StopSignal = sig
		} else {
			warn(o, "%q is not a signal: not carried over", v)
		}
	}
	if v, o, ok := get("stopwaitsecs"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			warn(o, "%q is not a number of seconds: not carried over", v)
		} else {
			svc.StopTimeout = time.Duration(n) * time.Second
		}
	}
	for _, key := range []string{"stopasgroup", "killasgroup"} {
		if v, o, ok := get(key); ok {
			if b, _ := parseBool(v); !b {
				warn(o, "shepherd always signals the whole process group: not carried over")
			}
		}
	}
	if v, _, ok := get("user"); ok {
		svc.User = v
	} else if im.user != "" {
		svc.User = im.user
	}
	if v, o, ok := get("directory"); ok {
		if filepath.IsAbs(v) {
			svc.Directory = v
		} else {
			warn(o, "%s is not an absolute path: not carried over", v)
		}
	}
	if v, o, ok := get("umask"); ok {
		m, err := strconv.ParseUint(v, 8, 32)
		if err != nil || m > 0o777 {
			warn(o, "%q is not an octal mode: not carried over", v)
		} else {
			svc.Umask = fmt.Sprintf("%04o", m)
		}
	} else if im.umask != "" {
		svc.Umask = im.umask
	}
	if v, o, ok := get("priority"); ok && im.ordered {
		warn(o, "priority %s: the start order is not carried over (shepherd starts services that do not require one another at once; add requires where a program needs another)", v)
	}
	svc.Environment = append(svc.Environment, im.env...)
	if v, o, ok := get("environment"); ok {
		env, err := parseEnvironment(v)
		if err != nil {
			warn(o, "%v: not carried over", err)
		}
		for _, e := range env {
			svc.Environment = slices.DeleteFunc(svc.Environment, func(x importer.EnvVar) bool { return x.Name == e.Name })
			svc.Environment = append(svc.Environment, e)
		}
	}
	im.logs(svc, get, warn)
	for _, key := range []string{"process_name", "numprocs", "numprocs_start"} {
		s.get(key)
	}
	for _, o := range s.Options {
		if !o.used {
			o.used = true
			switch {
			case strings.HasSuffix(o.Key, "_capture_maxbytes") || strings.HasSuffix(o.Key, "_events_enabled"):
				warn(o, "shepherd sends no events about a program's output: not carried over")
			case strings.HasSuffix(o.Key, "_syslog"):
				warn(o, "the output goes to the service's log file only: not carried over")
			case o.Key == "serverurl":
				warn(o, "programs reach shepherd through its socket, not supervisord's URL: not carried over")
			default:
				warn(o, "%s is not a setting shepherd supports: not carried over", o.Key)
			}
		}
	}
	if svc.Respawn != nil && len(svc.Command) == 0 {
		svc.Respawn = nil
	}
	im.r.Services = append(im.r.Services, svc)
}

// logs imports the log settings: stdout_logfile is the log file, with
// its rotation; stderr goes there too.
func (im *imp) logs(svc *importer.Service, get func(string) (string, *option, bool), warn func(*option, string, ...any)) {
	out, outOpt, hasOut := get("stdout_logfile")
	if hasOut {
		switch strings.ToUpper(out) {
		case "AUTO":
		case "NONE":
			warn(outOpt, "shepherd always keeps a log of the output: it goes to the default log file")
		case "SYSLOG":
			warn(outOpt, "the output goes to the service's log file, not to syslog")
		default:
			if filepath.IsAbs(out) {
				svc.LogFile = out
			} else {
				warn(outOpt, "%s is not an absolute path: not carried over", out)
			}
		}
	}
	maxBytes, mbOpt, hasMax := get("stdout_logfile_maxbytes")
	backups, bOpt, hasBackups := get("stdout_logfile_backups")
	if hasMax || hasBackups {
		size := int64(50 << 20) // supervisord's default
		keep := 10
		valid := true
		if hasMax {
			n, err := byteSize(maxBytes)
			if err != nil {
				warn(mbOpt, "%v: not carried over", err)
				valid = false
			}
			size = n
		}
		if hasBackups {
			n, err := strconv.Atoi(backups)
			switch {
			case err != nil || n < 0:
				warn(bOpt, "%q is not a number: not carried over", backups)
				valid = false
			case n == 0:
				warn(bOpt, "0 backups (the file is truncated when it is full) is not supported: one old file is kept")
				keep = 1
			default:
				keep = n
			}
		}
		if valid && size > 0 { // 0: never rotated
			svc.LogRotate = &importer.LogRotate{Size: size, Keep: keep}
		}
	}
	// shepherd writes both streams to one log file: what
	// redirect_stderr=true does.
	redirect, rOpt, hasRedirect := get("redirect_stderr")
	merged, valid := parseBool(redirect)
	if hasRedirect && !valid {
		warn(rOpt, "%q is not true or false: not carried over", redirect)
	}
	errFile, eOpt, hasErr := get("stderr_logfile")
	switch {
	case merged:
	case hasErr && errFile == out:
		// Both streams to one file: as shepherd has it.
	case hasErr:
		warn(eOpt, "standard error goes to the log file with standard output (%s): not carried over", orDefault(svc.LogFile))
	case hasRedirect && valid:
		warn(rOpt, "standard error goes to the log file with standard output (%s), as with redirect_stderr=true", orDefault(svc.LogFile))
	}
	for _, key := range []string{"stderr_logfile_maxbytes", "stderr_logfile_backups"} {
		if _, o, ok := get(key); ok {
			warn(o, "standard error goes to the log file with standard output, rotated as stdout_logfile_maxbytes and stdout_logfile_backups say: not carried over")
		}
	}
}

func orDefault(logFile string) string {
	if logFile == "" {
		return "the default log file"
	}
	return logFile
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
