package fleet

import (
	"context"
	"sync"
	"time"
)

// Exec runs argv on one host, the command within timeout (waiting for a
// connection or a session to the host is not the command's time, but is
// bounded too); a Result always comes back.
type Exec func(ctx context.Context, h *Host, argv []string, timeout time.Duration) Result

// Run runs argv on every host, at most fanout at a time, and returns the
// results in host order. each, when set, is called (from one goroutine at
// a time) as every host finishes, for streaming output and progress.
func Run(ctx context.Context, hosts []*Host, argv []string, fanout int, timeout time.Duration, exec Exec, each func(Result)) []Result {
	if fanout < 1 {
		fanout = 1
	}
	results := make([]Result, len(hosts))
	sem := make(chan struct{}, fanout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			r := exec(ctx, h, argv, timeout)
			r.Host = h.Name
			if r.Duration == 0 {
				r.Duration = time.Since(t0).Seconds()
			}
			results[i] = r
			if each != nil {
				mu.Lock()
				each(r)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return results
}
