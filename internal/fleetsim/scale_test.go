package fleetsim_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/internal/fleetsim"
	"github.com/shepherd-go/shepherd/internal/fleetsim/launch"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/p2p"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// scaleHosts is the simulated fleet of the scale test: 1000 by default
// (FLEETSIM_HOSTS sets another number, e.g. fewer on a very loaded
// machine; make bench-scale runs 100, 500 and 1000).
func scaleHosts(t *testing.T) int {
	if s := os.Getenv("FLEETSIM_HOSTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 3 {
			t.Fatalf("FLEETSIM_HOSTS=%q: want a number of hosts, at least 3", s)
		}
		return n
	}
	if testing.Short() {
		return 150
	}
	return 1000
}

// TestFleetScaleThroughRelays (issue 22): 1000 simulated exporters and 3
// relay shepherds (each in a process of its own) on loopback, an
// operator's shepherd and herd:
//   - `herd fleet exec -- true` over all of them, through the relays,
//     groups into one line (1000), and so it does directly;
//   - a relay killed mid-run: its hosts are reported unreachable, naming
//     the relay, within the run's deadline, and the others complete;
//   - the holder's capabilities are attenuated (allow-list: true, sleep
//     *; the hosts' own grant also allows id): through a relay, id is
//     refused by every host, in the host's own words.
func TestFleetScaleThroughRelays(t *testing.T) {
	n := scaleHosts(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := launch.Build(filepath.Join("..", ".."), bin); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	sim, hosts, err := launch.Sim(ctx, bin, filepath.Join(dir, "sim"), "-n", strconv.Itoa(n), "-allow", "true,sleep *")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Stop()
	var relays []fleetsim.Entry
	var relayProcs []*launch.Proc
	for i := range 3 {
		p, es, err := launch.Sim(ctx, bin, filepath.Join(dir, fmt.Sprintf("relay%d", i+1)), "-n", "0", "-relays", "1", "-relay-prefix", fmt.Sprintf("relay%d-", i+1))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Stop()
		relays, relayProcs = append(relays, es...), append(relayProcs, p)
	}
	op, err := launch.StartShepherd(ctx, bin, filepath.Join(dir, "operator"))
	if err != nil {
		t.Fatal(err)
	}
	defer op.Stop()
	inv := map[bool]string{}
	for _, via := range []bool{false, true} {
		inv[via] = filepath.Join(dir, fmt.Sprintf("inventory-via-%v.yaml", via))
		if err := os.WriteFile(inv[via], []byte(fleetsim.Inventory(hosts, relays, via)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	all := fmt.Sprintf("node[0001-%04d] (%d)", n, n)
	fleetExec := func(ctx context.Context, via bool, argv ...string) (string, error) {
		return op.Herd(ctx, append([]string{"fleet", "exec", "--inventory", inv[via], "-g", "sim", "--group", "--timeout", "30s", "--"}, argv...)...)
	}

	t.Run("true-groups-into-one-line", func(t *testing.T) {
		for _, via := range []bool{true, false} {
			t0 := time.Now()
			out, err := fleetExec(ctx, via, "true")
			if err != nil || len(groupHead.FindAllString(out, -1)) != 1 || !strings.Contains(out, all+"\n") {
				t.Fatalf("via relays %v: want one group %q, got (%v):\n%s", via, all, err, tail(out))
			}
			t.Logf("via relays %v: %d hosts in %v; operator's shepherd: %d sockets, %.1f MiB", via, n, time.Since(t0).Round(time.Millisecond),
				fleetsim.Sockets(op.PID()), float64(fleetsim.RSS(op.PID()))/(1<<20))
		}
	})

	t.Run("attenuated-capability-is-not-widened-by-the-relay", func(t *testing.T) {
		out, err := fleetExec(ctx, true, "id")
		want := fmt.Sprintf(`%s  permission denied: no exec capability allows "id"`, all)
		if err == nil || !strings.Contains(out, want+"\n") {
			t.Fatalf("want every host's refusal %q, got (%v):\n%s", want, err, tail(out))
		}
		// A rogue relay, calling a host itself with a sturdyref it was
		// handed, is refused alike.
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		rogue, err := p2p.New(p2p.Config{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		defer rogue.Close()
		ref, err := capability.ParseSturdyref(hosts[0].Ref)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := rogue.Dial(ctx, ref.Peer, ref.Addrs)
		if err != nil {
			t.Fatal(err)
		}
		c := local.NewClient(conn)
		defer c.Close()
		for _, relayed := range []bool{true, false} {
			rep, err := c.Call(ctx, wire.Request{Action: "exec", Args: []string{"--", "id"}, Cap: hosts[0].Ref, Relayed: relayed})
			if err != nil || rep.OK || rep.Error.Message != `permission denied: no exec capability allows "id"` {
				t.Fatalf("a rogue relay's id (relayed %v): %v %+v", relayed, err, rep.Error)
			}
		}
	})

	t.Run("a-real-shepherd-relays", func(t *testing.T) {
		// The daemon serves relay-exec as the simulated relays do, behind
		// a relay capability granted to the operator's daemon.
		rs, err := launch.StartShepherd(ctx, bin, filepath.Join(dir, "real-relay"), "--listen", "/ip4/127.0.0.1/tcp/0")
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Stop()
		id, err := op.Herd(ctx, "id")
		if err != nil {
			t.Fatalf("herd id: %v\n%s", err, id)
		}
		opPeer := strings.TrimSpace(strings.TrimPrefix(strings.Split(id, "\n")[0], "Peer ID:"))
		ref, err := rs.Herd(ctx, "cap", "grant", "relay", "--actions", "relay-exec", "--to-peer", opPeer)
		if err != nil {
			t.Fatalf("herd cap grant relay: %v\n%s", err, ref)
		}
		real := []fleetsim.Entry{{Name: "realrelay", RelayRef: strings.TrimSpace(ref)}}
		f := filepath.Join(dir, "inventory-real-relay.yaml")
		if err := os.WriteFile(f, []byte(fleetsim.Inventory(hosts, real, true)), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := op.Herd(ctx, "fleet", "exec", "--inventory", f, "-g", "sim", "--group", "--", "true")
		if err != nil || len(groupHead.FindAllString(out, -1)) != 1 || !strings.Contains(out, all+"\n") {
			t.Fatalf("want one group %q, got (%v):\n%s", all, err, tail(out))
		}
		// Without the relay capability (the operator's own exec
		// capability presented instead), the relay refuses.
		other, err := rs.Herd(ctx, "cap", "grant", "relay", "--actions", "relay-exec", "--to-peer", hosts[0].Peer)
		if err != nil {
			t.Fatal(err)
		}
		real[0].RelayRef = strings.TrimSpace(other)
		if err := os.WriteFile(f, []byte(fleetsim.Inventory(hosts[:3], real, true)), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err = op.Herd(ctx, "fleet", "exec", "--inventory", f, "-g", "sim", "--group", "--", "true")
		if err == nil || !strings.Contains(out, "node[0001-0003] (3)  relay realrelay: permission denied") {
			t.Fatalf("a relay capability bound to another peer: want a refusal, got (%v):\n%s", err, tail(out))
		}
	})

	t.Run("relay-killed-mid-run", func(t *testing.T) {
		// Each relay has about n/3 hosts: relay2's are node i with
		// i mod 3 == 1 (0-based).
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Minute)
		defer rcancel()
		t0 := time.Now()
		cmd := exec.CommandContext(rctx, filepath.Join(bin, "herd"), "-s", op.Socket, "fleet", "exec", "--inventory", inv[true], "-g", "sim", "--group", "--timeout", "30s", "--", "sleep", "3")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Mid-run: commands are running. (Not "a third of them at once":
		// each relay runs 128 at a time, and on a loaded machine the
		// first of a wave may end before the last starts.)
		for children(sim.PID()) < 1 {
			if rctx.Err() != nil {
				t.Fatalf("the commands never ran; herd says:\n%s", out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		relayProcs[1].Kill()
		err := cmd.Wait()
		took := time.Since(t0)
		if limit := 30*time.Second + 15*time.Second; rctx.Err() != nil || took > limit {
			// herd's --timeout 30s, plus its 15 s for reaching the relay.
			t.Fatalf("the run took %v, beyond its deadline (%v):\n%s", took, limit, tail(out.String()))
		}
		behind2 := (n + 1) / 3
		if n%3 == 0 {
			behind2 = n / 3
		}
		heads := groupHead.FindAllStringSubmatch(out.String(), -1)
		if err == nil || len(heads) != 2 {
			t.Fatalf("want two groups (ok, relay2's unreachable), got (%v):\n%s", err, tail(out.String()))
		}
		var ok, lost int
		for _, h := range heads {
			c, _ := strconv.Atoi(h[1])
			if strings.Contains(h[2], "relay relay2-0001") && strings.Contains(h[2], "unreachable") {
				lost = c
			} else if h[2] == "" {
				ok = c
			}
		}
		// relay2's hosts whose answers it had streamed back before it
		// died are ok; every other one of its hosts is unreachable, and
		// every host behind the other relays is ok.
		if lost < 1 || lost > behind2 || ok+lost != n {
			t.Fatalf("want between 1 and %d unreachable behind relay2 and the rest of %d ok, got:\n%s", behind2, n, tail(out.String()))
		}
		t.Logf("relay2 killed: run ended in %v, %d hosts ok, %d unreachable", took.Round(time.Millisecond), ok, lost)
	})
}

// groupHead is the head line of a group of herd fleet exec --group.
var groupHead = regexp.MustCompile(`(?m)^node\S+ \((\d+)\)(.*)$`)

// children counts the processes whose parent is pid.
func children(pid int) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == strconv.Itoa(pid) {
				n++
			}
		}
	}
	return n
}

// tail is the end of a long output.
func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}
