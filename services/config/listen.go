package config

import (
	"strconv"
	"strings"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/yamlnode"
	"go.yaml.in/yaml/v3"
)

// activationNodes are the socket activation keys of one service, read
// together once the whole service is (they depend on one another and on
// command, instances, ...).
type activationNodes struct {
	listen, style, start, maxConns *yaml.Node
}

// set keeps one of the keys; it reports whether key is one of them.
func (a *activationNodes) set(key string, v *yaml.Node) bool {
	switch key {
	case "listen":
		a.listen = v
	case "socket-activation":
		a.style = v
	case "start":
		a.start = v
	case "max-connections":
		a.maxConns = v
	default:
		return false
	}
	return true
}

// activation reads `listen`, `socket-activation`, `start` and
// `max-connections` into s, n being the service's node.
func (p parser) activation(n *yaml.Node, s *services.Spec, a activationNodes) {
	if a.listen == nil {
		for _, k := range []struct {
			v    *yaml.Node
			name string
		}{{a.style, "socket-activation"}, {a.start, "start"}, {a.maxConns, "max-connections"}} {
			if k.v != nil {
				p.Errorf(k.v, "service %s: %s needs a listen list (the sockets to activate the service by)", s.Name, k.name)
			}
		}
		return
	}
	s.Listen = p.endpoints(s.Name, a.listen)
	s.Activation.Style = services.ActivationSystemd
	if a.style != nil {
		switch st := p.Str("socket-activation", a.style); st {
		case "systemd", "inetd":
			s.Activation.Style = services.ActivationStyle(st)
		default:
			p.Errorf(a.style, "socket-activation: expected systemd (the sockets passed to one process, LISTEN_FDS) or inetd (one process per connection), got %q", st)
		}
	}
	if a.start != nil {
		switch st := p.Str("start", a.start); st {
		case "immediately":
		case "on-connection":
			if s.Activation.Style == services.ActivationInetd {
				p.Errorf(a.start, "start: on-connection is for socket-activation: systemd; an inetd-style service starts a process for each connection anyway")
			}
			s.Activation.OnConnection = true
		default:
			p.Errorf(a.start, "start: expected immediately or on-connection, got %q", st)
		}
	}
	if a.maxConns != nil {
		if s.Activation.Style != services.ActivationInetd {
			p.Errorf(a.maxConns, "max-connections is for socket-activation: inetd")
		} else if s.Activation.MaxConnections = p.Integer("max-connections", a.maxConns); s.Activation.MaxConnections < 1 {
			p.Errorf(a.maxConns, "max-connections: must be at least 1, got %s", a.maxConns.Value)
		}
	}
	if s.Activation.Style == services.ActivationInetd && s.Activation.MaxConnections == 0 {
		s.Activation.MaxConnections = services.DefaultMaxConnections
	}
	switch {
	case len(s.Command) == 0:
		p.Errorf(a.listen, "service %s: listen needs a command (the program the sockets are for)", s.Name)
	case s.Instances > 0 || s.OneShot || s.PIDFile != "" || s.Remote != "":
		p.Errorf(a.listen, "service %s: listen is not for a service with instances, one-shot, pid-file or remote", s.Name)
	}
}

// endpoints reads the `listen` list.
func (p parser) endpoints(service string, v *yaml.Node) []services.Endpoint {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		p.Errorf(v, "listen: expected a list of endpoints such as [{tcp: 127.0.0.1:8080}, {unix: /run/app.sock}], got %s", yamlnode.KindName(v))
		return nil
	}
	var out []services.Endpoint
	for _, item := range v.Content {
		if item.Kind != yaml.MappingNode {
			p.Errorf(item, "listen: expected {tcp: HOST:PORT} or {unix: PATH}, got %s", yamlnode.KindName(item))
			continue
		}
		if e, ok := p.endpoint(service, item); ok {
			out = append(out, e)
		}
	}
	return out
}

func (p parser) endpoint(service string, item *yaml.Node) (services.Endpoint, bool) {
	e := services.Endpoint{Backlog: services.DefaultBacklog, Name: service}
	ok := true
	bad := func(n *yaml.Node, format string, args ...any) {
		p.Errorf(n, format, args...)
		ok = false
	}
	var unixOnly []*yaml.Node
	var mode *yaml.Node
	p.EachKey(item, func(key string, k, val *yaml.Node) {
		switch key {
		case "tcp":
			if e.TCP = p.Str("listen tcp", val); e.TCP != "" {
				if err := services.ValidateTCP(e.TCP); err != nil {
					bad(val, "listen tcp: %v", err)
				}
			}
		case "unix":
			if e.Unix = p.Str("listen unix", val); e.Unix != "" {
				if err := services.ValidateUnixPath(e.Unix); err != nil {
					bad(val, "listen unix: %v", err)
				}
			}
		case "name":
			if e.Name = p.Str("listen name", val); e.Name != "" {
				if err := services.ValidateFDName(e.Name); err != nil {
					bad(val, "listen name: %v", err)
				}
			}
		case "backlog":
			if e.Backlog = p.Integer("listen backlog", val); e.Backlog < 1 || e.Backlog > 65535 {
				bad(val, "listen backlog: must be 1 to 65535, got %d", e.Backlog)
			}
		case "mode":
			mode = val
			unixOnly = append(unixOnly, k)
		case "owner":
			unixOnly = append(unixOnly, k)
			a, err := p.accounts.LookupUser(p.Str("listen owner", val))
			if err != nil {
				bad(val, "listen owner: %v", err)
			}
			e.Owner = &a.UID
		case "group":
			unixOnly = append(unixOnly, k)
			gid, err := p.accounts.LookupGroup(p.Str("listen group", val))
			if err != nil {
				bad(val, "listen group: %v", err)
			}
			e.Group = &gid
		default:
			bad(k, "listen: unknown key %q (expected tcp or unix, and name, backlog; mode, owner, group for unix)", key)
		}
	})
	if (e.TCP == "") == (e.Unix == "") {
		bad(item, "listen: each endpoint needs exactly one of tcp: HOST:PORT or unix: PATH")
	}
	if e.Unix == "" {
		for _, k := range unixOnly {
			bad(k, "listen: %s is for unix sockets only", k.Value)
		}
	} else {
		e.Mode = services.DefaultSocketMode
		if mode != nil {
			m, err := strconv.ParseUint(strings.TrimSpace(p.Str("listen mode", mode)), 8, 32)
			if err != nil || m > 0o777 {
				bad(mode, "listen mode: %q is not an octal mode such as \"0660\"", mode.Value)
			}
			e.Mode = uint32(m)
		}
	}
	if e.Name == service {
		if err := services.ValidateFDName(e.Name); err != nil {
			bad(item, "listen: the service's name cannot name its socket in LISTEN_FDNAMES (%v); give the endpoint a name", err)
		}
	}
	return e, ok
}

// envFiles reads `environment-file`: one path or a list, each absolute,
// "-" before it for a file that may be missing.
func (p parser) envFiles(v *yaml.Node) []services.EnvironmentFile {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	var out []services.EnvironmentFile
	for _, item := range items {
		path := p.Str("environment-file", item)
		if path == "" {
			continue
		}
		f := services.EnvironmentFile{Path: path}
		if rest, ok := strings.CutPrefix(path, "-"); ok {
			f.Path, f.Optional = rest, true
		}
		if !strings.HasPrefix(f.Path, "/") {
			p.Errorf(item, "environment-file: %q must be an absolute path (with \"-\" before it for a file that may be missing)", path)
			continue
		}
		out = append(out, f)
	}
	return out
}
