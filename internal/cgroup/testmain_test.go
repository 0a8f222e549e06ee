package cgroup

import "time"

// testWait bounds the waits of tests for a cgroup to empty: long enough
// for a busy machine, short enough to fail.
const testWait = 10 * time.Second
