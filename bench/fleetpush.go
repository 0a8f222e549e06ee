package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/internal/testsshd"
)

// fleetPushBench times `herd fleet push --force` of a 10 MB file to 20
// shepherds on loopback (file capabilities over libp2p) against `clush
// --copy` of the same file to 20 SSH host names (real sshd, 5 servers)
// in the same run, then herd's second push, which sends nothing, and
// herd's push over SSH (SFTP) to the same 20 names. All the hosts share
// this machine's disk: every push writes the file 20 times.
func fleetPushBench(bin, dir string, rounds int) error {
	const daemons, sshds, sshNames, size = 20, 5, 20, 10 << 20
	ws, wsPeer, hosts, stop, err := startFleet(bin, dir, daemons, "services: []\n")
	defer stop()
	if err != nil {
		return err
	}
	dest := filepath.Join(dir, "dest")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	src := filepath.Join(dir, "payload.bin")
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		return err
	}
	var inv strings.Builder
	inv.WriteString("hosts:\n")
	for i, h := range hosts {
		ref, err := h.Herd(bin, "cap", "grant", "files", "--actions", "write", "--path", dest+"/**", "--max-size", "20M", "--to-peer", wsPeer)
		if err != nil {
			return err
		}
		ref = strings.TrimSpace(ref)
		fmt.Fprintf(&inv, "  node%02d:\n    address: %q\n    files: %q\n", i+1, ref, ref)
	}
	sshd, sshErr := testsshd.Binary()
	key := filepath.Join(dir, "id_ed25519")
	var servers []*testsshd.Server
	if sshErr == nil {
		if err := testsshd.Keygen(key); err != nil {
			return err
		}
		for i := range sshds {
			s, err := testsshd.Start(sshd, filepath.Join(dir, fmt.Sprintf("sshd%d", i)), key+".pub", 0)
			if err != nil {
				return err
			}
			defer s.Stop()
			servers = append(servers, s)
		}
	}
	var sshCfg strings.Builder
	for i := range sshNames {
		if len(servers) == 0 {
			break
		}
		s := servers[i%len(servers)]
		name := fmt.Sprintf("box%02d", i+1)
		fmt.Fprintf(&sshCfg, "Host %s\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n  UserKnownHostsFile %s/ssh_known_hosts\n  StrictHostKeyChecking no\n  LogLevel ERROR\n", name, s.Port, key, dir)
		fmt.Fprintf(&inv, "  %s:\n    address: ssh://root@127.0.0.1:%d\n", name, s.Port)
	}
	invFile, cfgFile := filepath.Join(dir, "inventory.yaml"), filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(invFile, []byte(inv.String()), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(cfgFile, []byte(sshCfg.String()), 0o600); err != nil {
		return err
	}
	herdPush := func(prefix string, args ...string) func() error {
		full := []string{"-s", ws.Sock, "fleet", "push", "--inventory", invFile, "--known-hosts", filepath.Join(dir, "herd_known_hosts"), "--identity", key, "--accept-new"}
		for i := 1; i <= 20; i++ {
			full = append(full, "-H", fmt.Sprintf("%s%02d", prefix, i))
		}
		full = append(append(full, args...), src, filepath.Join(dest, "payload.bin"))
		return func() error {
			out, err := exec.Command(filepath.Join(bin, "herd"), full...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("herd fleet push: %v\n%s", err, out)
			}
			return nil
		}
	}
	timeIt := func(f func() error) (time.Duration, error) {
		if err := f(); err != nil { // connections, known hosts
			return 0, err
		}
		var ds []time.Duration
		for range rounds {
			t0 := time.Now()
			if err := f(); err != nil {
				return 0, err
			}
			ds = append(ds, time.Since(t0))
		}
		return mid(ds), nil
	}
	lib, err := timeIt(herdPush("node", "--force"))
	if err != nil {
		return err
	}
	same, err := timeIt(herdPush("node"))
	if err != nil {
		return err
	}
	fmt.Printf("%-28s %8.2f ms   unchanged (nothing sent) %.2f ms (libp2p file capabilities)\n", "fleet push 10 MB, 20 hosts", ms(lib), ms(same))
	if len(servers) == 0 {
		fmt.Printf("%-28s skipped: %v\n", "  clush --copy over SSH", sshErr)
		return nil
	}
	if _, err := exec.LookPath("clush"); err != nil {
		fmt.Printf("  (clush is not installed: apt-get install clustershell)\n")
		return nil
	}
	clush, err := timeIt(func() error {
		out, err := exec.Command("clush", "-f", "64", "-w", fmt.Sprintf("box[01-%02d]", sshNames), "-o", "-F "+cfgFile, "--copy", src, "--dest", dest).CombinedOutput()
		if err != nil {
			return fmt.Errorf("clush --copy: %v\n%s", err, out)
		}
		return nil
	})
	if err != nil {
		return err
	}
	overSSH, err := timeIt(herdPush("box", "--force"))
	if err != nil {
		return err
	}
	fmt.Printf("%-28s %8.2f ms   herd over SSH (SFTP) %.2f ms\n", "  clush --copy, 20 SSH", ms(clush), ms(overSSH))
	fmt.Printf("%-28s %8.2fx  clush --copy over SSH / herd fleet push over libp2p (above 1: herd is faster)\n", "  libp2p vs clush --copy", float64(clush)/float64(lib))
	return nil
}
