package services

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Endpoint is one socket the daemon listens on for a service (`listen:`):
// a TCP address or a unix socket path, exactly one of the two.
type Endpoint struct {
	// TCP is "HOST:PORT" with HOST an IP literal ("127.0.0.1:8080",
	// "[::1]:8080", "0.0.0.0:80").
	TCP string `json:"tcp,omitempty"`
	// Unix is the absolute path of a unix stream socket.
	Unix string `json:"unix,omitempty"`
	// Name is the socket's name in LISTEN_FDNAMES. Default: the service's
	// name (systemd's default is the socket unit's name).
	Name string `json:"name,omitempty"`
	// Backlog is listen(2)'s backlog: how many connections wait for an
	// accept. Default DefaultBacklog (the kernel caps it at
	// net.core.somaxconn).
	Backlog int `json:"backlog,omitempty"`
	// Mode is a unix socket file's mode. Default 0666, as systemd's
	// SocketMode=.
	Mode uint32 `json:"mode,omitempty"`
	// Owner and Group own a unix socket file; nil keeps the daemon's.
	Owner *uint32 `json:"owner,omitempty"`
	Group *uint32 `json:"group,omitempty"`
}

// DefaultBacklog is listen(2)'s backlog unless `backlog` says: SOMAXCONN,
// as systemd's Backlog=.
const DefaultBacklog = 4096

// DefaultSocketMode is a unix socket file's mode unless `mode` says.
const DefaultSocketMode = 0o666

// DefaultMaxConnections bounds the connections an inetd-style service
// serves at once unless `max-connections` says.
const DefaultMaxConnections = 100

func (e Endpoint) String() string {
	if e.Unix != "" {
		return "unix " + e.Unix
	}
	return "tcp " + e.TCP
}

// ActivationStyle is how a service with `listen:` gets its sockets.
type ActivationStyle string

// The activation styles.
const (
	// ActivationSystemd passes the listening sockets to the service's
	// process as fds 3.. with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES
	// (sd_listen_fds(3)).
	ActivationSystemd ActivationStyle = "systemd"
	// ActivationInetd has the daemon accept each connection and start one
	// process for it, the connection on its fds 0 and 1.
	ActivationInetd ActivationStyle = "inetd"
)

// Activation is how a service's sockets are used. The zero value is no
// socket activation (the service has no `listen:`).
type Activation struct {
	Style ActivationStyle `json:"style,omitempty"`
	// OnConnection (systemd style, `start: on-connection`) starts the
	// process when the first client connects rather than at once; the
	// service is running, listening, meanwhile.
	OnConnection bool `json:"on_connection,omitempty"`
	// MaxConnections (inetd style) bounds the connections served at once;
	// a connection beyond it is closed at once.
	MaxConnections int `json:"max_connections,omitempty"`
}

// Sockets reports whether the service is socket-activated.
func (a Activation) Sockets() bool { return a.Style != "" }

// ValidateTCP checks a tcp endpoint's address: an IP literal and a port
// 1..65535 ("127.0.0.1:8080", "[::1]:8080"). A host name is refused: the
// daemon binds before anything resolves names, and a name could resolve
// to another address at each start.
func ValidateTCP(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT with HOST an IP address (examples: 127.0.0.1:8080, [::1]:8080, 0.0.0.0:80)", addr)
	}
	if ap.Port() == 0 {
		return fmt.Errorf("%q: port 0 would be a port chosen at random; name one (1-65535)", addr)
	}
	if ap.Addr().Zone() != "" {
		return fmt.Errorf("%q: zoned addresses are not supported", addr)
	}
	return nil
}

// sunPathMax is the longest unix socket path (sockaddr_un.sun_path less
// its terminating NUL).
const sunPathMax = 107

// ValidateUnixPath checks a unix endpoint's path: absolute and short
// enough for sockaddr_un.
func ValidateUnixPath(path string) error {
	if len(path) == 0 || path[0] != '/' {
		return fmt.Errorf("%q must be an absolute path", path)
	}
	if len(path) > sunPathMax {
		return fmt.Errorf("%q is %d bytes long; a unix socket path has at most %d", path, len(path), sunPathMax)
	}
	return nil
}

// ValidateFDName checks a name for LISTEN_FDNAMES: as systemd's
// FileDescriptorName=, at most 255 printable ASCII characters and no ':'
// (which separates the names).
func ValidateFDName(name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("%q must be 1 to 255 characters long", name)
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return fmt.Errorf("%q: only printable ASCII without spaces or ':' (it separates the names in LISTEN_FDNAMES)", name)
		}
	}
	return nil
}

// validateListen checks endpoints across services: no two listen on the
// same TCP address or unix path.
func validateListen(specs []*Spec) ErrorList {
	var errs ErrorList
	owner := map[string]*Spec{}
	for _, s := range specs {
		for _, e := range s.Listen {
			key := "unix " + e.Unix
			if e.Unix == "" {
				// 127.0.0.1:80 and 127.000.0.1:80 are one address.
				key = "tcp " + e.TCP
				if ap, err := netip.ParseAddrPort(e.TCP); err == nil {
					key = "tcp " + ap.Addr().Unmap().String() + ":" + strconv.Itoa(int(ap.Port()))
				}
			}
			if prev, ok := owner[key]; ok {
				if prev == s {
					errs.Add(s.Pos, "service %s: listen %s is listed twice", s.Name, e)
				} else {
					errs.Add(s.Pos, "service %s: listen %s: service %s listens there already", s.Name, e, prev.Name)
				}
				continue
			}
			owner[key] = s
		}
	}
	return errs
}
