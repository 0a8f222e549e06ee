package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/internal/testsshd"
)

// fleetExecBench times `herd fleet exec -- true` on 10, 50 and 100
// shepherds on loopback (exec capabilities over libp2p) and on SSH hosts
// (real sshd), against parallel-ssh and clush on the same SSH hosts, in
// the same run. The SSH side is 100 host names spread over 5 sshd servers.
func fleetExecBench(bin, dir string, rounds int) error {
	const daemons, sshds, sshNames = 100, 5, 100
	ws, wsPeer, hosts, stop, err := startFleet(bin, dir, daemons, "services: []\n")
	defer stop()
	if err != nil {
		return err
	}
	var inv strings.Builder
	inv.WriteString("hosts:\n")
	for i, h := range hosts {
		ref, err := h.Herd(bin, "cap", "grant", "exec", "--allow", "true", "--to-peer", wsPeer)
		if err != nil {
			return err
		}
		fmt.Fprintf(&inv, "  node%03d:\n    address: %q\n", i+1, strings.TrimSpace(ref))
	}

	// SSH: 5 servers, 100 names.
	sshd, err := testsshd.Binary()
	if err != nil {
		fmt.Printf("%-28s skipped: %v\n", "fleet exec over SSH", err)
	}
	key := filepath.Join(dir, "id_ed25519")
	var servers []*testsshd.Server
	if err == nil {
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
	var sshCfg, names strings.Builder
	for i := range sshNames {
		if len(servers) == 0 {
			break
		}
		s := servers[i%len(servers)]
		name := fmt.Sprintf("box%03d", i+1)
		fmt.Fprintf(&sshCfg, "Host %s\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n  UserKnownHostsFile %s/ssh_known_hosts\n  StrictHostKeyChecking no\n  LogLevel ERROR\n", name, s.Port, key, dir)
		fmt.Fprintf(&names, "%s\n", name)
		fmt.Fprintf(&inv, "  %s:\n    address: ssh://root@127.0.0.1:%d\n", name, s.Port)
	}
	invFile, cfgFile, namesFile := filepath.Join(dir, "inventory.yaml"), filepath.Join(dir, "ssh_config"), filepath.Join(dir, "ssh_hosts")
	for f, s := range map[string]string{invFile: inv.String(), cfgFile: sshCfg.String(), namesFile: names.String()} {
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			return err
		}
	}
	herdExec := func(args ...string) func() error {
		full := append([]string{"-s", ws.Sock, "fleet", "exec", "--inventory", invFile, "--known-hosts", filepath.Join(dir, "herd_known_hosts"), "--identity", key, "--accept-new"}, args...)
		full = append(full, "--", "true")
		return func() error {
			out, err := exec.Command(filepath.Join(bin, "herd"), full...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("herd fleet exec: %v\n%s", err, out)
			}
			return nil
		}
	}
	timeItN := func(f func() error, warm bool, rounds int) (time.Duration, error) {
		if warm {
			if err := f(); err != nil { // connections, known hosts
				return 0, err
			}
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
	timeIt := func(f func() error) (time.Duration, error) { return timeItN(f, true, rounds) }
	// Selections of 10, 50 and 100 shepherds by name.
	names3 := func(n int) []string {
		var sel []string
		for i := 1; i <= n; i++ {
			sel = append(sel, "-H", fmt.Sprintf("node%03d", i))
		}
		return sel
	}
	var lib [3]time.Duration
	for i, n := range []int{10, 50, 100} {
		if lib[i], err = timeIt(herdExec(names3(n)...)); err != nil {
			return err
		}
	}
	fmt.Printf("%-28s %8.2f ms   10 hosts %.2f ms, 50 hosts %.2f ms (libp2p exec capabilities)\n", "fleet exec true, 100 hosts", ms(lib[2]), ms(lib[0]), ms(lib[1]))
	if len(servers) == 0 {
		return nil
	}
	pssh := func(n int) func() error {
		hostsFile := filepath.Join(dir, fmt.Sprintf("pssh_hosts_%d", n))
		os.WriteFile(hostsFile, []byte(strings.Join(strings.SplitAfter(names.String(), "\n")[:n], "")), 0o600)
		return func() error {
			out, err := exec.Command("parallel-ssh", "-p", "100", "-t", "60", "-h", hostsFile, "-x", "-F "+cfgFile, "true").CombinedOutput()
			if err != nil {
				return fmt.Errorf("parallel-ssh: %v\n%s", err, out)
			}
			return nil
		}
	}
	clush := func(n int) func() error {
		return func() error {
			out, err := exec.Command("clush", "-f", "100", "-w", fmt.Sprintf("box[001-%03d]", n), "-o", "-F "+cfgFile, "true").CombinedOutput()
			if err != nil {
				return fmt.Errorf("clush: %v\n%s", err, out)
			}
			return nil
		}
	}
	type row struct {
		name string
		f    func() error
	}
	for _, n := range []int{sshds, sshNames} {
		var herdSel []string
		for i := 1; i <= n; i++ {
			herdSel = append(herdSel, "-H", fmt.Sprintf("box%03d", i))
		}
		times := map[string]time.Duration{}
		for _, r := range []row{{"herd", herdExec(herdSel...)}, {"parallel-ssh", pssh(n)}, {"clush", clush(n)}} {
			if _, err := exec.LookPath(r.name); err != nil && r.name != "herd" {
				fmt.Printf("  (%s is not installed: apt-get install pssh clustershell)\n", r.name)
				continue
			}
			// 100 SSH sessions take seconds: one round, the 5-host runs
			// having made the servers' keys known.
			warm, rounds := true, rounds
			if n == sshNames {
				warm, rounds = false, 1
			}
			d, err := timeItN(r.f, warm, rounds)
			if err != nil {
				return err
			}
			times[r.name] = d
		}
		fmt.Printf("%-28s %8.2f ms   parallel-ssh %.2f ms, clush %.2f ms (herd over SSH; target: no slower than clush)\n",
			fmt.Sprintf("fleet exec true, %d SSH", n), ms(times["herd"]), ms(times["parallel-ssh"]), ms(times["clush"]))
		if n == sshNames && times["parallel-ssh"] > 0 {
			fmt.Printf("%-28s %8.2fx  parallel-ssh on 100 SSH hosts / herd on 100 shepherds over libp2p (target >= 5x)\n", "  libp2p vs parallel-ssh", float64(times["parallel-ssh"])/float64(lib[2]))
		}
	}
	return nil
}
