package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kevinburke/ssh_config"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHConfig says how to reach hosts that run no shepherd.
type SSHConfig struct {
	// KnownHosts is the known_hosts file. Default ~/.ssh/known_hosts.
	KnownHosts string
	// AcceptNew trusts (and records) the key of a host not yet known; a
	// changed key is never accepted.
	AcceptNew bool
	// Identities are private key files. Default: the agent
	// (SSH_AUTH_SOCK) and ~/.ssh/id_ed25519, id_ecdsa, id_rsa.
	Identities []string
	// ConfigFile is the ssh_config(5) file whose Host entries apply
	// (HostName, User, Port, IdentityFile, ProxyJump). Default
	// ~/.ssh/config; a missing file is none.
	ConfigFile string
}

// SSH runs commands over SSH, one connection per address and run.
type SSH struct {
	cfg   SSHConfig
	auth  []ssh.AuthMethod
	mu    sync.Mutex          // guards hosts and additions to known_hosts
	hosts ssh.HostKeyCallback // known_hosts as last read

	connMu sync.Mutex
	conns  map[string]*conn // guarded by connMu

	sshConfig *ssh_config.Config // nil: none
	home      string
	keyMu     sync.Mutex
	keys      map[string]ssh.Signer // IdentityFile keys; guarded by keyMu
}

// NewSSH loads the keys and the known hosts.
func NewSSH(cfg SSHConfig) (*SSH, error) {
	home, _ := os.UserHomeDir()
	if cfg.KnownHosts == "" {
		cfg.KnownHosts = filepath.Join(home, ".ssh", "known_hosts")
	}
	if _, err := os.Stat(cfg.KnownHosts); errors.Is(err, os.ErrNotExist) {
		os.MkdirAll(filepath.Dir(cfg.KnownHosts), 0o700)
		if err := os.WriteFile(cfg.KnownHosts, nil, 0o600); err != nil {
			return nil, fmt.Errorf("known hosts: %w", err)
		}
	}
	hosts, err := knownhosts.New(cfg.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("known hosts %s: %w", cfg.KnownHosts, err)
	}
	if cfg.ConfigFile == "" {
		cfg.ConfigFile = filepath.Join(home, ".ssh", "config")
	}
	sshConfig, err := LoadSSHConfig(cfg.ConfigFile)
	if err != nil {
		return nil, err
	}
	s := &SSH{cfg: cfg, hosts: hosts, sshConfig: sshConfig, home: home}
	var signers []ssh.Signer
	files := cfg.Identities
	if len(files) == 0 {
		if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
			if conn, err := net.Dial("unix", sock); err == nil {
				s.auth = append(s.auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
			}
		}
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			files = append(files, filepath.Join(home, ".ssh", n))
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			if len(cfg.Identities) > 0 {
				return nil, fmt.Errorf("identity %s: %w", f, err)
			}
			continue
		}
		k, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("identity %s: %w", f, err)
		}
		signers = append(signers, k)
	}
	if len(signers) > 0 {
		s.auth = append(s.auth, ssh.PublicKeys(signers...))
	}
	if len(s.auth) == 0 && sshConfig == nil {
		return nil, errors.New("no SSH key: no agent (SSH_AUTH_SOCK) and no ~/.ssh/id_ed25519, id_ecdsa or id_rsa; give one with --identity")
	}
	return s, nil
}

// checkHostKey accepts known keys; an unknown one only with AcceptNew
// (then recorded); a changed one never.
func (s *SSH) checkHostKey(hostname string, remote net.Addr, key ssh.PublicKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.hosts(hostname, remote, key)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return err
	}
	if len(ke.Want) > 0 {
		return fmt.Errorf("the host key of %s has CHANGED (it is not the one in %s:%d); if that is expected, remove that line", hostname, ke.Want[0].Filename, ke.Want[0].Line)
	}
	if !s.cfg.AcceptNew {
		return fmt.Errorf("the host key of %s is unknown (not in %s); check its fingerprint %s and run again with --accept-new to trust it",
			hostname, s.cfg.KnownHosts, ssh.FingerprintSHA256(key))
	}
	f, err := os.OpenFile(s.cfg.KnownHosts, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("known hosts: %w", err)
	}
	_, err = fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("known hosts: %w", err)
	}
	// Read it again: a host that shows another key later in this run is
	// then refused as changed.
	hosts, err := knownhosts.New(s.cfg.KnownHosts)
	if err != nil {
		return fmt.Errorf("known hosts %s: %w", s.cfg.KnownHosts, err)
	}
	s.hosts = hosts
	return nil
}

// sessionsPerConn bounds the sessions run at once on one connection:
// OpenSSH's MaxSessions is 10 by default.
const sessionsPerConn = 8

// conn is one SSH connection, shared by every host name of the run that
// has the same route (user, address and jump hosts).
type conn struct {
	once     sync.Once
	c        *ssh.Client
	jumps    []*ssh.Client // the jump hosts' connections, closed with c
	err      error
	sessions chan struct{}
}

func (s *SSH) conn(h *Host, dialTimeout time.Duration) *conn {
	route, rerr := ResolveSSH(s.sshConfig, *h.SSH, s.home)
	key := route.String()
	if rerr != nil {
		key = "error " + h.SSH.User + "@" + h.SSH.String()
	}
	s.connMu.Lock()
	cn, ok := s.conns[key]
	if !ok {
		cn = &conn{sessions: make(chan struct{}, sessionsPerConn)}
		if s.conns == nil {
			s.conns = map[string]*conn{}
		}
		s.conns[key] = cn
	}
	s.connMu.Unlock()
	cn.once.Do(func() {
		if rerr != nil {
			cn.err = rerr
			return
		}
		cn.c, cn.jumps, cn.err = s.dial(route, dialTimeout)
	})
	return cn
}

// dial connects to route's last hop through the others (ProxyJump): each
// hop's connection is a direct-tcpip channel of the one before.
func (s *SSH) dial(route SSHRoute, dialTimeout time.Duration) (*ssh.Client, []*ssh.Client, error) {
	var via []*ssh.Client
	fail := func(err error) (*ssh.Client, []*ssh.Client, error) {
		for _, c := range via {
			c.Close()
		}
		return nil, nil, err
	}
	hops := route.Hops()
	for i, hop := range hops {
		cfg, err := s.hopConfig(hop, dialTimeout)
		if err != nil {
			return fail(err)
		}
		var c *ssh.Client
		if i == 0 {
			c, err = ssh.Dial("tcp", hop.Addr, cfg)
		} else {
			var nc net.Conn
			if nc, err = via[i-1].Dial("tcp", hop.Addr); err == nil {
				var sc ssh.Conn
				var chans <-chan ssh.NewChannel
				var reqs <-chan *ssh.Request
				if sc, chans, reqs, err = ssh.NewClientConn(nc, hop.Addr, cfg); err == nil {
					c = ssh.NewClient(sc, chans, reqs)
				} else {
					nc.Close()
				}
			}
		}
		if err != nil {
			if i < len(hops)-1 {
				err = fmt.Errorf("jump host %s@%s: %w", hop.User, hop.Addr, err)
			}
			return fail(err)
		}
		via = append(via, c)
	}
	return via[len(via)-1], via[:len(via)-1], nil
}

// hopConfig is how to log in to one hop: its user, our keys and its
// IdentityFile keys, known_hosts.
func (s *SSH) hopConfig(hop SSHRoute, dialTimeout time.Duration) (*ssh.ClientConfig, error) {
	auth := s.auth
	var signers []ssh.Signer
	for _, f := range hop.Identities {
		k, err := s.identity(f)
		if err != nil {
			return nil, err
		}
		if k != nil {
			signers = append(signers, k)
		}
	}
	if len(signers) > 0 {
		auth = append([]ssh.AuthMethod{ssh.PublicKeys(signers...)}, auth...)
	}
	if len(auth) == 0 {
		return nil, fmt.Errorf("no SSH key for %s@%s: no agent, no IdentityFile in %s, no ~/.ssh/id_*; give one with --identity", hop.User, hop.Addr, s.cfg.ConfigFile)
	}
	return &ssh.ClientConfig{User: hop.User, Auth: auth, HostKeyCallback: s.checkHostKey, Timeout: dialTimeout}, nil
}

// identity loads an IdentityFile key once; a missing file is skipped, as
// ssh does.
func (s *SSH) identity(path string) (ssh.Signer, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if k, ok := s.keys[path]; ok {
		return k, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("IdentityFile %s: %w", path, err)
	}
	k, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("IdentityFile %s: %w", path, err)
	}
	if s.keys == nil {
		s.keys = map[string]ssh.Signer{}
	}
	s.keys[path] = k
	return k, nil
}

// Close ends the connections of the run.
func (s *SSH) Close() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for _, cn := range s.conns {
		if cn.c != nil {
			cn.c.Close()
		}
		for i := len(cn.jumps) - 1; i >= 0; i-- {
			cn.jumps[i].Close()
		}
	}
	s.conns = nil
}

// Exec is the fleet.Exec of SSH hosts. Host names that share a user and
// address share one connection for the run.
func (s *SSH) Exec(ctx context.Context, h *Host, argv []string, timeout time.Duration) Result {
	cn, res := s.connect(ctx, h, timeout)
	if cn == nil {
		return res
	}
	fail := func(kind string, err error) Result {
		return Result{ExitCode: -1, Kind: kind, Err: fmt.Sprintf("%s: %v", h.SSH.String(), err)}
	}
	// Names that share a connection wait for one of its sessions; each
	// command's timeout starts when it has one. Every session ends within
	// its timeout, so the wait is bounded too. The timeout covers the
	// user's login shell starting up: sshd runs CMD as `$SHELL -c CMD`,
	// and Debian's bash then reads ~/.bashrc. Sessions that seemed to hang
	// in the tests were root's ~/.bashrc running pyenv init (0.8 s of CPU
	// for each `echo hi`), not this client; internal/testsshd gives its
	// sessions an empty HOME.
	select {
	case cn.sessions <- struct{}{}:
		defer func() { <-cn.sessions }()
	case <-ctx.Done():
		return fail("timeout", ctx.Err())
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sess, err := cn.c.NewSession()
	if err != nil {
		return fail("unreachable", err)
	}
	defer sess.Close()
	type done struct {
		out []byte
		err error
	}
	ch := make(chan done, 1)
	go func() {
		out, err := sess.CombinedOutput(ShellQuote(argv))
		ch <- done{out, err}
	}()
	select {
	case d := <-ch:
		var ee *ssh.ExitError
		switch {
		case errors.As(d.err, &ee):
			return Result{Output: string(d.out), ExitCode: ee.ExitStatus()}
		case d.err != nil:
			r := fail("unreachable", d.err)
			r.Output = string(d.out)
			return r
		}
		return Result{Output: string(d.out)}
	case <-ctx.Done():
		sess.Signal(ssh.SIGKILL) // honoured by OpenSSH 7.9 and later
		return fail("timeout", fmt.Errorf("timed out after %v", timeout))
	}
}

// connect dials h (or finds the run's connection to it), within timeout
// plus 10 s; on failure cn is nil and the Result says why.
func (s *SSH) connect(ctx context.Context, h *Host, timeout time.Duration) (*conn, Result) {
	if h.SSH == nil {
		return nil, Result{ExitCode: -1, Kind: "bad-address", Err: "not an ssh:// host"}
	}
	addr := h.SSH.String()
	fail := func(kind string, err error) Result {
		return Result{ExitCode: -1, Kind: kind, Err: fmt.Sprintf("%s: %v", addr, err)}
	}
	dialed := make(chan *conn, 1)
	go func() {
		dialed <- s.conn(h, min(timeout, 10*time.Second))
	}()
	var cn *conn
	dialTimer := time.NewTimer(timeout + 10*time.Second)
	defer dialTimer.Stop()
	select {
	case cn = <-dialed:
	case <-dialTimer.C:
		return nil, fail("timeout", fmt.Errorf("timed out after %v connecting", timeout))
	case <-ctx.Done():
		return nil, fail("timeout", ctx.Err())
	}
	if cn.err != nil {
		kind := "unreachable"
		if strings.Contains(cn.err.Error(), "host key") {
			kind = "host-key"
		} else if strings.Contains(cn.err.Error(), "unable to authenticate") {
			kind = "permission-denied"
		}
		return nil, fail(kind, cn.err)
	}
	return cn, Result{}
}

// ShellQuote joins argv into one POSIX shell command line.
func ShellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
