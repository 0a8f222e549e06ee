package fleet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/internal/testsshd"
)

// TestSSHPushPull pushes a file over SFTP to real sshd hosts (one
// directory each: the hosts share this machine), with its mode; a second
// push sends nothing; pull gathers one copy per host.
func TestSSHPushPull(t *testing.T) {
	bin := needSSHD(t)
	keys := t.TempDir()
	user := filepath.Join(keys, "id_ed25519")
	if err := testsshd.Keygen(user); err != nil {
		t.Fatal(err)
	}
	var servers []*testsshd.Server
	for range 3 {
		servers = append(servers, startSSHD(t, bin, user+".pub", 0))
	}
	hosts := sshHosts(servers)
	s, err := NewSSH(SSHConfig{KnownHosts: filepath.Join(keys, "known_hosts"), AcceptNew: true, Identities: []string{user}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	data := bytes.Repeat([]byte("a line of a file\n"), 200000) // 3.4 MB
	src := filepath.Join(t.TempDir(), "app.conf")
	os.WriteFile(src, data, 0o600)
	os.Chmod(src, 0o640)
	lf, err := StatLocal(src)
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "app.conf")
	push := func() []Result {
		return RunOp(ctx, hosts, 8, func(ctx context.Context, h *Host) Result { return s.Push(ctx, h, lf, dest, time.Minute, false) }, nil)
	}
	// The hosts share one disk, so the first push writes the file and
	// the others find it there; the file and its mode are what counts.
	for _, r := range push() {
		if r.Status() != "ok" {
			t.Fatalf("%s: %+v", r.Host, r)
		}
	}
	got, err := os.ReadFile(dest)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("pushed file: %v, %d bytes", err, len(got))
	}
	if st, _ := os.Stat(dest); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode())
	}
	for _, r := range push() {
		if r.Output != OutUnchanged || r.Bytes != 0 {
			t.Errorf("%s: second push: %+v", r.Host, r)
		}
	}
	forced := RunOp(ctx, hosts[:1], 8, func(ctx context.Context, h *Host) Result { return s.Push(ctx, h, lf, dest, time.Minute, true) }, nil)
	if forced[0].Bytes != int64(len(data)) {
		t.Errorf("forced push: %+v", forced[0])
	}
	out := t.TempDir()
	pull := func() []Result {
		return RunOp(ctx, hosts, 8, func(ctx context.Context, h *Host) Result { return s.Pull(ctx, h, dest, out, time.Minute) }, nil)
	}
	for _, r := range pull() {
		if r.Status() != "ok" || r.Bytes != int64(len(data)) {
			t.Fatalf("%s: pull: %+v", r.Host, r)
		}
		b, err := os.ReadFile(PulledPath(out, r.Host, dest))
		if err != nil || !bytes.Equal(b, data) {
			t.Errorf("%s: pulled: %v", r.Host, err)
		}
	}
	for _, r := range pull() {
		if r.Output != OutUnchanged {
			t.Errorf("%s: second pull: %+v", r.Host, r)
		}
	}
	for _, r := range RunOp(ctx, hosts, 8, func(ctx context.Context, h *Host) Result { return s.Ping(ctx, h, 10*time.Second) }, nil) {
		if r.Output != OutReachable || r.Duration <= 0 {
			t.Errorf("%s: ping: %+v", r.Host, r)
		}
	}
	// A missing file is said so.
	r := s.Pull(ctx, hosts[0], dest+".none", out, time.Minute)
	if r.Kind != "not-found" {
		t.Errorf("pull of a missing file: %+v", r)
	}
}
