package fleet

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// SSHRoute is how to reach one SSH destination once ~/.ssh/config has
// been applied: as whom, where, with which extra keys, and through which
// jump hosts (ProxyJump), first hop first.
type SSHRoute struct {
	User       string
	Addr       string // host:port
	Identities []string
	Jumps      []SSHRoute
}

// String names the route: user@host:port, after its jump hosts.
func (r SSHRoute) String() string {
	s := r.User + "@" + r.Addr
	for i := len(r.Jumps) - 1; i >= 0; i-- {
		s = r.Jumps[i].String() + " -> " + s
	}
	return s
}

// Hops are the connections to make, in order, the last one to r itself:
// each jump host's own jumps come before it.
func (r SSHRoute) Hops() []SSHRoute {
	var out []SSHRoute
	for _, j := range r.Jumps {
		out = append(out, j.Hops()...)
	}
	r.Jumps = nil
	return append(out, r)
}

// LoadSSHConfig reads an ssh_config(5) file; a missing file is an empty
// configuration (nil).
func LoadSSHConfig(path string) (*ssh_config.Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	defer f.Close()
	cfg, err := ssh_config.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: %w", path, err)
	}
	return cfg, nil
}

// maxJumps bounds ProxyJump chains (and loops: a ProxyJump b, b a).
const maxJumps = 8

// ResolveSSH applies cfg (nil: none) to an inventory address, as ssh(1)
// does for its Host aliases: HostName, User, Port, IdentityFile and
// ProxyJump. What the inventory's ssh:// address says itself (a user, a
// port) wins over the file, as ssh's command line does. home expands ~.
func ResolveSSH(cfg *ssh_config.Config, a SSHAddr, home string) (SSHRoute, error) {
	return resolve(cfg, a.Host, a.User, a.userSet, a.Port, a.portSet, home, 0)
}

func resolve(cfg *ssh_config.Config, alias, user string, userSet bool, port int, portSet bool, home string, depth int) (SSHRoute, error) {
	if depth > maxJumps {
		return SSHRoute{}, fmt.Errorf("ProxyJump: more than %d jumps to %s (a loop?)", maxJumps, alias)
	}
	get := func(key string) string {
		if cfg == nil {
			return ""
		}
		v, _ := cfg.Get(alias, key)
		return strings.TrimSpace(v)
	}
	host := alias
	if hn := get("HostName"); hn != "" {
		host = strings.ReplaceAll(hn, "%h", alias)
	}
	if !userSet {
		if u := get("User"); u != "" {
			user = u
		}
	}
	if !portSet {
		if p := get("Port"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return SSHRoute{}, fmt.Errorf("ssh config: Host %s: Port %q is not a port", alias, p)
			}
			port = n
		}
	}
	r := SSHRoute{User: user, Addr: net.JoinHostPort(host, strconv.Itoa(port))}
	if cfg != nil {
		files, _ := cfg.GetAll(alias, "IdentityFile")
		for _, f := range files {
			f = strings.Trim(strings.TrimSpace(f), `"`)
			f = strings.NewReplacer("%d", home, "%u", os.Getenv("USER"), "%h", host, "%r", user, "%%", "%").Replace(f)
			if rest, ok := strings.CutPrefix(f, "~/"); ok {
				f = filepath.Join(home, rest)
			}
			r.Identities = append(r.Identities, f)
		}
	}
	if pj := get("ProxyJump"); pj != "" && !strings.EqualFold(pj, "none") {
		for _, hop := range strings.Split(pj, ",") {
			hop = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(hop), "ssh://"))
			ju, jh, juSet := "", hop, false
			if at := strings.LastIndexByte(hop, '@'); at >= 0 {
				ju, jh, juSet = hop[:at], hop[at+1:], true
			}
			jp, jpSet := 22, false
			if h, p, err := net.SplitHostPort(jh); err == nil {
				n, err := strconv.Atoi(p)
				if err != nil || n < 1 || n > 65535 {
					return SSHRoute{}, fmt.Errorf("ssh config: Host %s: ProxyJump %q: bad port", alias, hop)
				}
				jh, jp, jpSet = h, n, true
			}
			if jh == "" {
				return SSHRoute{}, fmt.Errorf("ssh config: Host %s: ProxyJump %q: expected [user@]host[:port]", alias, hop)
			}
			if !juSet {
				ju = os.Getenv("USER")
			}
			j, err := resolve(cfg, jh, ju, juSet, jp, jpSet, home, depth+1)
			if err != nil {
				return SSHRoute{}, err
			}
			r.Jumps = append(r.Jumps, j)
		}
	}
	return r, nil
}
