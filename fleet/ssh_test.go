package fleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/internal/testsshd"
)

func needSSHD(t *testing.T) string {
	t.Helper()
	bin, err := testsshd.Binary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v; CI installs it and runs as root", err)
		}
		t.Skipf("%v; CI installs it and runs as root", err)
	}
	return bin
}

func startSSHD(t *testing.T, bin, userPub string, port int) *testsshd.Server {
	t.Helper()
	s, err := testsshd.Start(bin, t.TempDir(), userPub, port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func sshHosts(servers []*testsshd.Server) []*Host {
	var hosts []*Host
	for i, s := range servers {
		hosts = append(hosts, &Host{Name: fmt.Sprintf("box%d", i+1), SSH: &SSHAddr{User: "root", Host: "127.0.0.1", Port: s.Port}})
	}
	return hosts
}

func TestSSHHostsWithRealSSHD(t *testing.T) {
	bin := needSSHD(t)
	keys := t.TempDir()
	user := filepath.Join(keys, "id_ed25519")
	if err := testsshd.Keygen(user); err != nil {
		t.Fatal(err)
	}
	var servers []*testsshd.Server
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
	trusting.Close()
	port := servers[0].Port
	servers[0].Stop()
	startSSHD(t, bin, user+".pub", port)
	servers[1].Stop()
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

	// Twenty names of one server share one connection (at most 8
	// sessions at a time on it).
	var same []*Host
	for i := range 20 {
		same = append(same, &Host{Name: fmt.Sprintf("alias%02d", i), SSH: hosts[3].SSH})
	}
	shared, _ := NewSSH(SSHConfig{KnownHosts: known, Identities: []string{user}})
	rs = Run(ctx, same, []string{"echo", "hi"}, 20, 10*time.Second, shared.Exec, nil)
	if got := Summary(rs); got != "20 ok" || len(shared.conns) != 1 {
		t.Errorf("20 names of one server: %s over %d connections", got, len(shared.conns))
	}
	shared.Close()

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

// TestStuckSFTPGivesItsSlotBack: an SFTP server that never answers
// times the operation out, and the connection's session slot comes back
// (at most 8 sessions share a connection): nine timed-out pushes in a
// row leave a command on the same connection room to run.
func TestStuckSFTPGivesItsSlotBack(t *testing.T) {
	bin := needSSHD(t)
	keys := t.TempDir()
	user := filepath.Join(keys, "id_ed25519")
	if err := testsshd.Keygen(user); err != nil {
		t.Fatal(err)
	}
	srv, err := testsshd.Start(bin, t.TempDir(), user+".pub", 0, testsshd.SFTPCommand("/bin/sleep 600"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	s, err := NewSSH(SSHConfig{KnownHosts: filepath.Join(keys, "known_hosts"), Identities: []string{user}, AcceptNew: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := sshHosts([]*testsshd.Server{srv})[0]
	src := filepath.Join(t.TempDir(), "f")
	os.WriteFile(src, []byte("x"), 0o644)
	f, err := StatLocal(src)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 9 {
		if r := s.Push(ctx, h, f, "/tmp/never", 300*time.Millisecond, false); r.Kind != "timeout" {
			t.Fatalf("push %d: %+v, want a timeout", i+1, r)
		}
	}
	if r := s.Exec(ctx, h, []string{"echo", "hi"}, 10*time.Second); r.Err != "" || r.Output != "hi\n" {
		t.Fatalf("a command after nine stuck pushes: %+v", r)
	}
}
