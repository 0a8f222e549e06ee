package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// httpBench measures the HTTP API (section http): `GET
// /v1/services/NAME` on loopback against the same status over the unix
// socket, each over one kept connection and alternating in blocks, with
// the same capability and as the owner (the admin capability); a minimal
// HTTP/1.1 client is the fair comparison, net/http's client is printed
// for reference. Then the event stream's throughput while n services
// start, checked against the history: none lost, none repeated.
func httpBench(bin, dir string, n, rounds int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close() // the daemon binds it
	b := &bench{bin: bin, dir: dir, sock: filepath.Join(dir, "run", "socket"), args: []string{"--no-cgroup", "--http", addr}}
	if err := b.writeConfig(n); err != nil {
		return err
	}
	if err := b.startDaemon(); err != nil {
		return err
	}
	defer b.stopDaemon()
	herd := filepath.Join(bin, "herd")
	grant := func(args ...string) (string, error) {
		out, err := exec.Command(herd, append([]string{"-s", b.sock, "cap", "grant"}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	admin, err := grant("daemon", "--to-http")
	if err != nil {
		return fmt.Errorf("herd cap grant daemon --to-http: %v", err)
	}
	svcTok, err := grant("svc-0001", "--actions", "status") // for anyone: the socket takes it too
	if err != nil {
		return fmt.Errorf("herd cap grant svc-0001: %v", err)
	}
	ctx := context.Background()
	sock, err := local.Dial(ctx, b.sock)
	if err != nil {
		return err
	}
	defer sock.Close()

	samples := max(rounds*50, 1000)
	for _, who := range []struct{ name, token, cap string }{
		{"owner", admin, ""}, {"capability", svcTok, svcTok},
	} {
		raw, err := dialRaw(addr, "/v1/services/svc-0001", who.token)
		if err != nil {
			return err
		}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		req, _ := http.NewRequest("GET", "http://"+addr+"/v1/services/svc-0001", nil)
		req.Header.Set("Authorization", "Bearer "+who.token)
		var sockT, rawT, stdT []time.Duration
		sreq := wire.Request{Action: "status", Service: "svc-0001", Cap: who.cap}
		for done := 0; done < samples; done += 50 {
			for range 50 {
				t0 := time.Now()
				rep, err := sock.Call(ctx, sreq)
				if err != nil || !rep.OK {
					return fmt.Errorf("socket status: %v %+v", err, rep.Error)
				}
				sockT = append(sockT, time.Since(t0))
			}
			for range 50 {
				t0 := time.Now()
				if err := raw.get(); err != nil {
					return err
				}
				rawT = append(rawT, time.Since(t0))
			}
			for range 50 {
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return fmt.Errorf("net/http GET: %s", resp.Status)
				}
				stdT = append(stdT, time.Since(t0))
			}
		}
		raw.c.Close()
		client.CloseIdleConnections()
		s50, s99 := pct(sockT, 50), pct(sockT, 99)
		r50, r99 := pct(rawT, 50), pct(rawT, 99)
		d50, d99 := pct(stdT, 50), pct(stdT, 99)
		fmt.Printf("%-28s p50 %6.3f ms p99 %6.3f ms   unix socket p50 %.3f p99 %.3f ms, ratio %.2fx / %.2fx (target <= 1.5x); net/http client p50 %.3f p99 %.3f ms\n",
			"http GET svc ("+who.name+")", ms(r50), ms(r99), ms(s50), ms(s99), float64(r50)/float64(s50), float64(r99)/float64(s99), ms(d50), ms(d99))
	}
	return sseThroughput(addr, admin, b.sock, herd, n)
}

// pct is the p-th percentile of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// rawHTTP is the least an HTTP/1.1 client does: one kept connection, a
// request written whole, the answer read by its Content-Length.
type rawHTTP struct {
	c   net.Conn
	r   *bufio.Reader
	req []byte
}

func dialRaw(addr, path, token string) (*rawHTTP, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawHTTP{c: c, r: bufio.NewReaderSize(c, 64<<10),
		req: []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + token + "\r\n\r\n")}, nil
}

func (h *rawHTTP) get() error {
	if _, err := h.c.Write(h.req); err != nil {
		return err
	}
	status, err := h.r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(status, "HTTP/1.1 200") {
		return fmt.Errorf("raw GET: %s", strings.TrimSpace(status))
	}
	length := -1
	for {
		line, err := h.r.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if length < 0 {
		return fmt.Errorf("raw GET: no Content-Length")
	}
	_, err = h.r.Discard(length)
	return err
}

// sseThroughput follows /v1/events while `herd start all` starts n
// services, until `all` runs, then compares what came with the history.
func sseThroughput(addr, token, sock, herd string, n int) error {
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET /v1/events: %s", resp.Status)
	}
	type got struct {
		seqs []uint64
		err  error
	}
	res := make(chan got, 1)
	go func() {
		var g got
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var e wire.Event
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				g.err = err
				break
			}
			g.seqs = append(g.seqs, e.Seq)
			if e.Service == "all" && e.Kind == "state" && e.State == wire.StateRunning {
				break
			}
		}
		if g.err == nil {
			g.err = sc.Err()
		}
		res <- g
	}()
	t0 := time.Now()
	if out, err := exec.Command(herd, "-s", sock, "start", "all").CombinedOutput(); err != nil {
		return fmt.Errorf("herd start all: %v\n%s", err, out)
	}
	g := <-res
	took := time.Since(t0)
	if g.err != nil {
		return fmt.Errorf("event stream: %v", g.err)
	}
	if len(g.seqs) == 0 {
		return fmt.Errorf("event stream: no events")
	}
	// The history between the first and the last event streamed.
	c, err := local.Dial(context.Background(), sock)
	if err != nil {
		return err
	}
	defer c.Close()
	var hist []uint64
	err = c.Stream(context.Background(), wire.Request{Action: "events", Args: []string{"--after", strconv.FormatUint(g.seqs[0]-1, 10)}}, func(r wire.Reply) error {
		var evs wire.Events
		if err := json.Unmarshal(r.Result, &evs); err != nil {
			return err
		}
		for _, e := range evs.Events {
			if e.Seq <= g.seqs[len(g.seqs)-1] {
				hist = append(hist, e.Seq)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	seen := map[uint64]int{}
	for _, s := range g.seqs {
		seen[s]++
	}
	lost, repeated := 0, 0
	for _, s := range hist {
		if seen[s] == 0 {
			lost++
		}
	}
	for _, k := range seen {
		repeated += k - 1
	}
	fmt.Printf("%-28s %8.0f events/s   %d events while %d services started in %.2f s; lost %d, repeated %d (target: 0, 0)\n",
		"http SSE /v1/events", float64(len(g.seqs))/took.Seconds(), len(g.seqs), n, took.Seconds(), lost, repeated)
	if out, err := exec.Command(herd, "-s", sock, "stop", "base").CombinedOutput(); err != nil {
		return fmt.Errorf("herd stop base: %v\n%s", err, out)
	}
	return nil
}
