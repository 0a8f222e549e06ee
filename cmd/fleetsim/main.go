// Command fleetsim hosts many simulated exporters (and relay shepherds)
// in one process, for the fleet scale tests and `make bench-scale`
// (internal/fleetsim). It writes what it hosts as JSON lines to --out
// once all listen, prints its memory, and serves until SIGTERM or
// SIGINT.
//
// A command of its own rather than a hidden shepherd flag: the
// simulator's reaper waits for every child of its process, and its
// memory must be measured apart from the operator daemon's.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/shepherd-go/shepherd/internal/fleetsim"
)

func main() {
	n := flag.Int("n", 10, "exporters")
	relays := flag.Int("relays", 0, "relay shepherds (also exporters of their own)")
	prefix := flag.String("prefix", "node", "exporters' names: PREFIX0001...")
	relayPrefix := flag.String("relay-prefix", "relay", "relays' names")
	allow := flag.String("allow", "true", "the holder's exec capability: its allow-list, comma-separated")
	parentAllow := flag.String("parent-allow", "true,false,id,sleep *,echo *", "the grant it is attenuated from")
	fanout := flag.Int("fanout", 0, "a relay's hosts at once (0: default)")
	out := flag.String("out", "", "write the hosts as JSON lines here once they listen")
	flag.Parse()
	logger := log.New(os.Stderr, "fleetsim: ", log.LstdFlags)
	sim, err := fleetsim.Start(logger.Printf)
	if err != nil {
		logger.Fatal(err)
	}
	o := fleetsim.Options{Allow: strings.Split(*allow, ","), ParentAllow: strings.Split(*parentAllow, ","), Fanout: *fanout}
	hosts, err := sim.AddMany(*n, *prefix, o, 16)
	if err != nil {
		logger.Fatal(err)
	}
	o.Relay = true
	rs, err := sim.AddMany(*relays, *relayPrefix, o, 4)
	if err != nil {
		logger.Fatal(err)
	}
	if *out != "" {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		for _, e := range append(rs, hosts...) {
			enc.Encode(e.Entry())
		}
		tmp := *out + ".tmp"
		if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
			logger.Fatal(err)
		}
		if err := os.Rename(tmp, *out); err != nil {
			logger.Fatal(err)
		}
	}
	fmt.Printf("fleetsim %d: %d exporters, %d relays, rss %.1f MiB\n", os.Getpid(), *n, *relays, float64(fleetsim.RSS(os.Getpid()))/(1<<20))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
	sim.Close()
}
