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
}

// SSH runs commands over SSH, one connection per host and run.
type SSH struct {
	cfg   SSHConfig
	auth  []ssh.AuthMethod
	mu    sync.Mutex          // guards hosts and additions to known_hosts
	hosts ssh.HostKeyCallback // known_hosts as last read
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
	s := &SSH{cfg: cfg, hosts: hosts}
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
	if len(s.auth) == 0 {
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

// Exec is the fleet.Exec of SSH hosts.
func (s *SSH) Exec(ctx context.Context, h *Host, argv []string, timeout time.Duration) Result {
	if h.SSH == nil {
		return Result{ExitCode: -1, Kind: "bad-address", Err: "not an ssh:// host"}
	}
	addr := h.SSH.String()
	cfg := &ssh.ClientConfig{User: h.SSH.User, Auth: s.auth, HostKeyCallback: s.checkHostKey, Timeout: min(timeout, 10*time.Second)}
	type done struct {
		out  []byte
		code int
		err  error
		kind string
	}
	ch := make(chan done, 1)
	var client *ssh.Client
	var cmu sync.Mutex
	go func() {
		c, err := ssh.Dial("tcp", addr, cfg)
		if err != nil {
			kind := "unreachable"
			if strings.Contains(err.Error(), "host key") {
				kind = "host-key"
			} else if strings.Contains(err.Error(), "unable to authenticate") {
				kind = "permission-denied"
			}
			ch <- done{err: err, kind: kind, code: -1}
			return
		}
		cmu.Lock()
		client = c
		cmu.Unlock()
		defer c.Close()
		sess, err := c.NewSession()
		if err != nil {
			ch <- done{err: err, kind: "unreachable", code: -1}
			return
		}
		defer sess.Close()
		out, err := sess.CombinedOutput(ShellQuote(argv))
		var ee *ssh.ExitError
		switch {
		case errors.As(err, &ee):
			ch <- done{out: out, code: ee.ExitStatus()}
		case err != nil:
			ch <- done{out: out, err: err, kind: "unreachable", code: -1}
		default:
			ch <- done{out: out}
		}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case d := <-ch:
		r := Result{Output: string(d.out), ExitCode: d.code}
		if d.err != nil {
			r.Kind, r.Err = d.kind, fmt.Sprintf("%s: %v", addr, d.err)
		}
		return r
	case <-timer.C:
	case <-ctx.Done():
	}
	cmu.Lock()
	if client != nil {
		client.Close()
	}
	cmu.Unlock()
	return Result{ExitCode: -1, Kind: "timeout", Err: fmt.Sprintf("%s: timed out after %v", addr, timeout)}
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
