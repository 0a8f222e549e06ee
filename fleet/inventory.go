package fleet

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/services"
	"go.yaml.in/yaml/v3"
)

// Host is one inventory entry.
type Host struct {
	Name string
	// Address is the host's exec capability (ocapn://...) or its SSH
	// address (ssh://user@host:port).
	Address string
	Tags    map[string]string
	// Labels are the flat tags (tags: [debian12, arm64]).
	Labels []string
	Groups []string
	Pos    services.Pos
	// Files is the host's file capability (ocapn://..., for fleet push
	// and pull over libp2p); "" when the inventory gives none.
	Files    string
	FilesRef *capability.Sturdyref
	Read     string // its read capability (fleet diff PATH, tail, snapshot)
	ReadRef  *capability.Sturdyref
	// Services are its capabilities on its shepherd's services, by
	// service name (the services: key): fleet tail --service NAME reads
	// the log of NAME through Services[NAME], which holds log.
	Services map[string]string

	// Via names the relay shepherd the host is reached through (the
	// inventory's via: key), and Relay is that relay's host entry: its
	// address is the relay capability (fleet/relay). "": direct.
	Via   string
	Relay *Host

	// Exactly one of Ref and SSH is set, from Address.
	Ref *capability.Sturdyref
	SSH *SSHAddr
}

// SSHAddr is where and as whom to reach a host over SSH.
type SSHAddr struct {
	User string
	Host string
	Port int
	// userSet and portSet: the address gave them; otherwise
	// ~/.ssh/config's User and Port for Host apply (ResolveSSH).
	userSet, portSet bool
}

func (a SSHAddr) String() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// Inventory is every host, in file order.
type Inventory struct {
	File  string
	Hosts []*Host
	// RecipeSection is the file's recipes: section, unparsed (package
	// fleet/recipe parses it); nil when there is none.
	RecipeSection *yaml.Node
}

// LoadInventory reads an inventory file; every problem is reported, as a
// services.ErrorList, at its file:line:col.
func LoadInventory(path string) (*Inventory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return ParseInventory(path, b)
}

var (
	hostName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	tagWord  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)
)

// ParseInventory parses an inventory; file names it in errors.
func ParseInventory(file string, data []byte) (*Inventory, error) {
	inv := &Inventory{File: file}
	var errs services.ErrorList
	viaAt := map[*Host]*yaml.Node{}
	add := func(n *yaml.Node, format string, args ...any) {
		errs = append(errs, &services.ConfigError{Pos: services.Pos{File: file, Line: n.Line, Col: n.Column}, Msg: fmt.Sprintf(format, args...)})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg, line := err.Error(), 1
		if m := regexp.MustCompile(`line (\d+): (.*)`).FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		return nil, services.ErrorList{{Pos: services.Pos{File: file, Line: line, Col: 1}, Msg: msg}}
	}
	if len(doc.Content) == 0 {
		return inv, nil // an empty file: no hosts
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		add(root, "expected a mapping with a hosts: key")
		return nil, errs.Err()
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value == "recipes" {
			inv.RecipeSection = v
			continue
		}
		if k.Value != "hosts" {
			add(k, "unknown key %q (expected hosts or recipes)", k.Value)
			continue
		}
		if v.Kind != yaml.MappingNode {
			add(v, "hosts: expected a mapping of host names to hosts")
			continue
		}
		seen := map[string]bool{}
		for j := 0; j+1 < len(v.Content); j += 2 {
			hk, hv := v.Content[j], v.Content[j+1]
			// A key may name many hosts: web[01-12], db[1-3,7]; each
			// is then the same entry with %h in its address replaced
			// by its name.
			names := []string{hk.Value}
			if strings.ContainsAny(hk.Value, "[,") {
				var err error
				if names, err = ExpandHosts(hk.Value); err != nil {
					add(hk, "host names %v", err)
					continue
				}
			}
			if len(inv.Hosts)+len(names) > maxExpand {
				add(hk, "more than %d hosts in the inventory", maxExpand)
				break
			}
			for _, name := range names {
				h := &Host{Name: name, Tags: map[string]string{}, Pos: services.Pos{File: file, Line: hk.Line, Col: hk.Column}}
				switch {
				case !hostName.MatchString(h.Name):
					add(hk, "host name %q: use letters, digits, '.', '_' and '-' (or ranges such as web[01-12])", h.Name)
				case seen[h.Name]:
					add(hk, "host %s is listed twice", h.Name)
				}
				seen[h.Name] = true
				if hv.Kind != yaml.MappingNode {
					add(hv, "host %s: expected a mapping with address, tags, groups", h.Name)
					continue
				}
				for m := 0; m+1 < len(hv.Content); m += 2 {
					fk, fv := hv.Content[m], hv.Content[m+1]
					switch fk.Value {
					case "address":
						h.Address = strings.ReplaceAll(fv.Value, "%h", h.Name)
						if h.Address == "" {
							continue // reported as missing below
						}
						if err := h.parseAddress(); err != nil {
							add(fv, "host %s: %v", h.Name, err)
						}
					case "tags":
						if fv.Kind == yaml.SequenceNode {
							// Flat tags, [debian12, arm64]; key=value
							// items are the mapping's tags.
							for _, t := range fv.Content {
								k, val, kv := strings.Cut(t.Value, "=")
								switch {
								case t.Kind != yaml.ScalarNode || !tagWord.MatchString(k) || kv && val == "":
									add(t, "host %s: tags: expected words such as [debian12, arm64] or key=value", h.Name)
								case kv:
									h.Tags[k] = val
								default:
									h.Labels = append(h.Labels, k)
								}
							}
							continue
						}
						if fv.Kind != yaml.MappingNode {
							add(fv, "host %s: tags: expected a mapping such as {role: web} or a list such as [debian12, arm64]", h.Name)
							continue
						}
						for t := 0; t+1 < len(fv.Content); t += 2 {
							if fv.Content[t+1].Kind != yaml.ScalarNode {
								add(fv.Content[t+1], "host %s: tag %s: expected a single value", h.Name, fv.Content[t].Value)
								continue
							}
							h.Tags[fv.Content[t].Value] = fv.Content[t+1].Value
						}
					case "groups":
						if fv.Kind != yaml.SequenceNode {
							add(fv, "host %s: groups: expected a list such as [eu, web]", h.Name)
							continue
						}
						for _, g := range fv.Content {
							h.Groups = append(h.Groups, g.Value)
						}
					case "files":
						h.Files = fv.Value
						ref, err := capability.ParseSturdyref(h.Files)
						if err != nil {
							add(fv, "host %s: files: %v (expected the ocapn:// file capability the host granted)", h.Name, err)
							continue
						}
						h.FilesRef = &ref
					case "read":
						if ref, err := capability.ParseSturdyref(fv.Value); err != nil {
							add(fv, "host %s: read: %v (expected the ocapn:// read capability the host granted)", h.Name, err)
						} else {
							h.Read, h.ReadRef = fv.Value, &ref
						}
					case "services":
						h.Services = parseServices(h.Name, fv, add)
					case "via":
						h.Via = fv.Value
						viaAt[h] = fv
					default:
						add(fk, "host %s: unknown key %q (expected address, files, read, services, tags, groups, via)", h.Name, fk.Value)
					}
				}
				if h.Address == "" {
					add(hk, "host %s: address is required (an ocapn:// exec capability or ssh://user@host:port)", h.Name)
				}
				inv.Hosts = append(inv.Hosts, h)
			}
		}
	}
	resolveVia(inv, viaAt, add)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return inv, nil
}

// parseServices reads a host's services: key, a mapping of service
// names to the capabilities the host granted on them.
func parseServices(host string, v *yaml.Node, add func(*yaml.Node, string, ...any)) map[string]string {
	if v.Kind != yaml.MappingNode {
		add(v, "host %s: services: expected a mapping of service names to capabilities, such as {web: ocapn://...}", host)
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, ref := v.Content[i], v.Content[i+1]
		if _, err := capability.ParseSturdyref(ref.Value); err != nil {
			add(ref, "host %s: services: %s: %v (expected the ocapn:// capability the host granted on the service: herd cap grant %s --actions log --to-peer YOURS)", host, k.Value, err, k.Value)
			continue
		}
		out[k.Value] = ref.Value
	}
	return out
}

// resolveVia points every host with a via: key at its relay's entry: a
// host of the inventory with an ocapn:// address (its relay capability),
// itself reached directly (a relay behind a relay is not supported yet).
func resolveVia(inv *Inventory, viaAt map[*Host]*yaml.Node, add func(*yaml.Node, string, ...any)) {
	byName := map[string]*Host{}
	for _, h := range inv.Hosts {
		byName[h.Name] = h
	}
	for _, h := range inv.Hosts {
		if h.Via == "" {
			continue
		}
		r := byName[h.Via]
		switch {
		case r == nil:
			add(viaAt[h], "host %s: via: no host %q in the inventory (name the relay's entry, whose address is its relay capability)", h.Name, h.Via)
		case r.Ref == nil:
			add(viaAt[h], "host %s: via: relay %s needs an ocapn:// address (its relay capability), not %q", h.Name, r.Name, r.Address)
		case r.Via != "":
			add(viaAt[h], "host %s: via: relay %s is itself behind relay %s; a relay must be reached directly", h.Name, r.Name, r.Via)
		case h.Ref == nil:
			add(viaAt[h], "host %s: via: a host behind a relay needs an ocapn:// address (its exec capability)", h.Name)
		default:
			h.Relay = r
		}
	}
}

func (h *Host) parseAddress() error {
	switch {
	case strings.HasPrefix(h.Address, "ocapn://"):
		ref, err := capability.ParseSturdyref(h.Address)
		if err != nil {
			return err
		}
		h.Ref = &ref
		return nil
	case strings.HasPrefix(h.Address, "ssh://"):
		u, err := url.Parse(h.Address)
		if err != nil || u.Hostname() == "" || u.Path != "" && u.Path != "/" {
			return fmt.Errorf("%q is not ssh://[user@]host[:port]", h.Address)
		}
		a := SSHAddr{Host: u.Hostname(), Port: 22, User: u.User.Username(), userSet: u.User.Username() != "", portSet: u.Port() != ""}
		if p := u.Port(); p != "" {
			if a.Port, err = strconv.Atoi(p); err != nil || a.Port < 1 || a.Port > 65535 {
				return fmt.Errorf("%q: bad port", h.Address)
			}
		}
		if a.User == "" {
			a.User = os.Getenv("USER")
		}
		h.SSH = &a
		return nil
	}
	return fmt.Errorf("address %q: expected an ocapn:// exec capability or ssh://user@host:port", h.Address)
}

// InGroup says whether the host is in group g: listed in its groups, or
// the value of one of its tags (role: web puts it in group web).
func (h *Host) InGroup(g string) bool {
	if slices.Contains(h.Groups, g) {
		return true
	}
	for _, v := range h.Tags {
		if v == g {
			return true
		}
	}
	return false
}

// SetAddress rewrites host's address in the inventory file, keeping the
// rest of the file (comments and layout may be normalized).
func SetAddress(path, host, address string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	found := false
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value != "hosts" {
				continue
			}
			hosts := root.Content[i+1]
			for j := 0; j+1 < len(hosts.Content); j += 2 {
				if hosts.Content[j].Value != host {
					continue
				}
				h := hosts.Content[j+1]
				for k := 0; k+1 < len(h.Content); k += 2 {
					if h.Content[k].Value == "address" {
						h.Content[k+1].Value, h.Content[k+1].Style = address, yaml.DoubleQuotedStyle
						h.Content[k+1].LineComment = ""
						found = true
					}
				}
			}
		}
	}
	if !found {
		return fmt.Errorf("%s: no address of host %s", path, host)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return err
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
