package fleet

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sshd is a real OpenSSH server on a loopback port, started by the test
// with its own host key, accepting one user key.
type sshd struct {
	port int
	cmd  *exec.Cmd
	dir  string
}

func needSSHD(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("sshd")
	if err != nil {
		path = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("sshd is missing (CI installs openssh-server)")
		}
		t.Skip("sshd is not installed (apt-get install openssh-server); CI installs it")
	}
	if os.Geteuid() != 0 {
		t.Skip("sshd must start as root to log users in (CI runs as root)")
	}
	// sshd insists on its privilege separation directory.
	os.MkdirAll("/run/sshd", 0o755)
	return path
}

func keygen(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSSHD starts sshd on port (0: a free one) with a new host key,
// accepting the key whose public half is userPub.
func startSSHD(t *testing.T, bin, userPub string, port int) *sshd {
	t.Helper()
	dir := t.TempDir()
	if port == 0 {
		port = freePort(t)
	}
	keygen(t, filepath.Join(dir, "host"))
	auth := filepath.Join(dir, "authorized_keys")
	pub, err := os.ReadFile(userPub)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(auth, pub, 0o600)
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
`, port, dir, auth, dir)), 0o600)
	s := &sshd{port: port, dir: dir, cmd: exec.Command(bin, "-D", "-e", "-f", cfg)}
	stderr, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	// Ready when it says it listens.
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
			t.Fatalf("sshd did not start:\n%s", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sshd did not listen within 10 s")
	}
	return s
}

func (s *sshd) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

func sshHosts(servers []*sshd) []*Host {
	var hosts []*Host
	for i, s := range servers {
		hosts = append(hosts, &Host{Name: fmt.Sprintf("box%d", i+1), SSH: &SSHAddr{User: "root", Host: "127.0.0.1", Port: s.port}})
	}
	return hosts
}

func TestSSHHostsWithRealSSHD(t *testing.T) {
	bin := needSSHD(t)
	keys := t.TempDir()
	user := filepath.Join(keys, "id_ed25519")
	keygen(t, user)
	var servers []*sshd
	for range 5 {
		servers = append(servers, startSSHD(t, bin, user+".pub", 0))
	}
	hosts := sshHosts(servers)
	known := filepath.Join(keys, "known_hosts")
	ctx := context.Background()
	run := func(s *SSH, argv ...string) []Result {
		return Run(ctx, hosts, argv, 8, 10*time.Second, s.Exec, nil)
	}

	// Unknown host keys are refused, naming what to do.
	strict, err := NewSSH(SSHConfig{KnownHosts: known, Identities: []string{user}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range run(strict, "true") {
		if r.Kind != "host-key" || !strings.Contains(r.Err, "--accept-new") {
			t.Fatalf("%s: %+v, want an unknown host key refused", r.Host, r)
		}
	}

	// --accept-new records them; identical answers are one group.
	trusting, _ := NewSSH(SSHConfig{KnownHosts: known, Identities: []string{user}, AcceptNew: true})
	rs := run(trusting, "echo", "it's", "a  b;", "$HOME")
	gs := GroupResults(rs)
	if len(gs) != 1 || Fold(gs[0].Hosts) != "box[1-5]" || gs[0].Output != "it's a  b; $HOME\n" {
		t.Fatalf("groups %+v", gs)
	}
	// Now known: the strict client gets in too; a failing command is a
	// failure with its exit code, not an error.
	strict, _ = NewSSH(SSHConfig{KnownHosts: known, Identities: []string{user}})
	rs = run(strict, "sh", "-c", `test "$SSH_CONNECTION" && exit 3`)
	if got := Summary(rs); got != "0 ok, 5 failed" || rs[0].ExitCode != 3 {
		t.Fatalf("summary %q, first %+v", got, rs[0])
	}

	// A host whose key changed is refused even with --accept-new; a host
	// that is down is unreachable; the others answer.
	port := servers[0].port
	servers[0].stop()
	startSSHD(t, bin, user+".pub", port)
	servers[1].stop()
	rs = run(trusting, "true")
	if rs[0].Kind != "host-key" || !strings.Contains(rs[0].Err, "CHANGED") {
		t.Errorf("changed key: %+v", rs[0])
	}
	if rs[1].Kind != "unreachable" {
		t.Errorf("stopped host: %+v", rs[1])
	}
	if got := Summary(rs); got != "3 ok, 1 host-key, 1 unreachable" {
		t.Errorf("summary %q", got)
	}

	// A command past its timeout is cut off.
	rs = Run(ctx, hosts[2:3], []string{"sleep", "30"}, 1, 500*time.Millisecond, strict.Exec, nil)
	if rs[0].Kind != "timeout" {
		t.Errorf("timeout: %+v", rs[0])
	}
}

func TestShellQuote(t *testing.T) {
	if got := ShellQuote([]string{"echo", "a b", "it's", "x=1", ""}); got != `echo 'a b' 'it'\''s' x=1 ''` {
		t.Errorf("ShellQuote = %s", got)
	}
}
