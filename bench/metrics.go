package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// metricsBench scrapes /metrics of a daemon (of its own, with cgroups
// when it can) running n services, against the baseline of a plain
// `status` request for the n services on the socket over a kept
// connection, alternating the two round by round: what a scrape costs
// beyond asking the registry once is the gathering from every owner,
// the cgroup reads and the encoding of every series.
func metricsBench(bin, dir string, n, rounds int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	b := &bench{bin: bin, dir: dir, sock: filepath.Join(dir, "run", "socket"), args: []string{"--metrics", addr, "--metrics-public"}}
	if os.Geteuid() != 0 {
		b.args = append(b.args, "--no-cgroup")
	}
	if err := b.writeConfig(n); err != nil {
		return err
	}
	if err := b.startDaemon(); err != nil {
		return err
	}
	defer b.stopDaemon()
	if out, err := exec.Command(filepath.Join(bin, "herd"), "-s", b.sock, "start", "all").CombinedOutput(); err != nil {
		return fmt.Errorf("herd start all: %v\n%s", err, out)
	}
	ctx := context.Background()
	c, err := local.Dial(ctx, b.sock)
	if err != nil {
		return err
	}
	defer c.Close()
	url := "http://" + addr + "/metrics"
	client := &http.Client{Timeout: 10 * time.Second}
	size := 0
	status := func() error {
		r, err := c.Call(ctx, wire.Request{Action: "status"})
		if err == nil && !r.OK {
			err = r.Error
		}
		return err
	}
	// A first round of each, untimed: connections and caches. The
	// cgroups are read in the background, every 10 s at most once a
	// scrape comes: the measure starts once a reading with every
	// service is there.
	var body []byte
	scrape := func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		size = len(body)
		return err
	}
	cgroupRead := "no cgroups"
	for deadline := time.Now().Add(30 * time.Second); os.Geteuid() == 0; {
		if err := scrape(); err != nil {
			return err
		}
		if n := bytes.Count(body, []byte("\nshepherd_service_cpu_seconds_total{")); n >= 1000 {
			if _, v, ok := bytes.Cut(body, []byte("\nshepherd_metrics_cgroup_read_seconds ")); ok {
				f, _ := strconv.ParseFloat(string(bytes.Fields(v)[0]), 64)
				cgroupRead = fmt.Sprintf("cgroups read in the background in %.1f ms", f*1000)
			}
			break
		}
		if time.Now().After(deadline) {
			cgroupRead = "cgroups: no reading with every service within 30 s"
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err := status(); err != nil {
		return err
	}
	var scrapes, statuses []time.Duration
	for range max(rounds, 50) {
		for _, x := range []struct {
			ds *[]time.Duration
			f  func() error
		}{{&scrapes, scrape}, {&statuses, status}} {
			t0 := time.Now()
			if err := x.f(); err != nil {
				return err
			}
			*x.ds = append(*x.ds, time.Since(t0))
		}
	}
	slices.Sort(scrapes)
	slices.Sort(statuses)
	p := func(ds []time.Duration, q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	fmt.Printf("%-28s %8.2f ms   p99 %.2f ms, %d bytes; plain status of %d services on the socket %.2f ms (p99 %.2f ms), ratio %.1fx (target < 20 ms); %s\n",
		"/metrics", ms(p(scrapes, 0.5)), ms(p(scrapes, 0.99)), size, n, ms(p(statuses, 0.5)), ms(p(statuses, 0.99)),
		float64(p(scrapes, 0.5))/float64(p(statuses, 0.5)), cgroupRead)
	return nil
}
