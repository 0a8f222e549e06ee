package cgroup

import (
	"context"
	"time"
)

// testWait bounds the waits of tests for a cgroup to empty: long enough
// for a busy machine, short enough to fail.
const testWait = 10 * time.Second

func waitEmpty(dir string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	return WaitEmpty(ctx, dir)
}
