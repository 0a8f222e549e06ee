// Package testsshd starts real OpenSSH servers on loopback ports for the
// fleet tests and benchmarks: each with a host key of its own, accepting
// one user key, logging to its stderr, running commands with a home of
// its own so that the machine's shell startup files stay out of them.
package testsshd

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/internal/freeport"
)

// Server is one running sshd.
type Server struct {
	Port int
	Dir  string
	cmd  *exec.Cmd
}

// Binary finds sshd; the error says how to install it.
func Binary() (string, error) {
	path, err := exec.LookPath("sshd")
	if err != nil {
		path = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(path); err != nil {
		return "", errors.New("sshd is not installed (apt-get install openssh-server)")
	}
	if os.Geteuid() != 0 {
		return "", errors.New("sshd must start as root to log users in")
	}
	// sshd insists on its privilege separation directory.
	os.MkdirAll("/run/sshd", 0o755)
	return path, nil
}

// Keygen writes an ed25519 key pair at path and path.pub.
func Keygen(path string) error {
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path).CombinedOutput(); err != nil {
		return fmt.Errorf("ssh-keygen: %v\n%s", err, out)
	}
	return nil
}

// FreePort is a loopback TCP port free at the moment.
func FreePort() (int, error) { return freeport.Get() }

// Option changes the server Start runs.
type Option func(*options)

type options struct {
	sftp string
	env  []string
}

// SFTPCommand makes the sftp subsystem cmd (run by the user's shell)
// instead of sshd's own: a test of a host whose SFTP server hangs.
func SFTPCommand(cmd string) Option { return func(o *options) { o.sftp = cmd } }

// SetEnv gives every session the variables env (NAME=VALUE), over
// sshd's own (PATH: a host whose programs a test provides).
func SetEnv(env ...string) Option { return func(o *options) { o.env = append(o.env, env...) } }

// Start runs sshd in dir (created) on port (0: a free one) with a new
// host key, accepting the public key in userPub, and returns once it
// listens.
func Start(bin, dir, userPub string, port int, opts ...Option) (*Server, error) {
	o := options{sftp: "internal-sftp"}
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if port == 0 {
		var err error
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	os.Remove(filepath.Join(dir, "host"))
	os.Remove(filepath.Join(dir, "host.pub"))
	if err := Keygen(filepath.Join(dir, "host")); err != nil {
		return nil, err
	}
	pub, err := os.ReadFile(userPub)
	if err != nil {
		return nil, err
	}
	auth := filepath.Join(dir, "authorized_keys")
	os.WriteFile(auth, pub, 0o600)
	// Sessions get an empty home of their own (SetEnv HOME, OpenSSH 7.8
	// and later) and no ~/.ssh/rc: sshd runs every command through the
	// user's login shell, and Debian's bash then reads $HOME/.bashrc even
	// for `bash -c CMD` (it is built with SSH_SOURCE_BASHRC). On a machine
	// whose root has a heavy ~/.bashrc (pyenv init: about 100 processes,
	// 0.8 s of CPU per command) 20 `echo hi` over one connection took over
	// 10 s each and timed out; what the tests measure is then that file,
	// not herd. sshd still starts the command in the user's real home.
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "sshd_config")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/host
AuthorizedKeysFile %s
PidFile %s/pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
MaxStartups 500
MaxSessions 100
SetEnv "HOME=%s"%s
PermitUserRC no
Subsystem sftp %s
`, port, dir, auth, dir, home, setEnv(o.env), o.sftp)), 0o600)
	s := &Server{Port: port, Dir: dir, cmd: exec.Command(bin, "-D", "-e", "-f", cfg)}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var log []string
		for sc.Scan() {
			log = append(log, sc.Text())
			if strings.Contains(sc.Text(), "Server listening") {
				ready <- ""
			}
		}
		ready <- strings.Join(log, "\n")
	}()
	select {
	case msg := <-ready:
		if msg != "" {
			s.Stop()
			return nil, fmt.Errorf("sshd did not start:\n%s", msg)
		}
	case <-time.After(10 * time.Second):
		s.Stop()
		return nil, errors.New("sshd did not listen within 10 s")
	}
	return s, nil
}

// setEnv is env as more words of sshd_config's SetEnv line.
func setEnv(env []string) string {
	var b strings.Builder
	for _, v := range env {
		fmt.Fprintf(&b, " %q", v)
	}
	return b.String()
}

// Stop kills the server.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}
