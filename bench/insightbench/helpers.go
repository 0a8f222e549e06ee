package insightbench

import "github.com/shepherd-go/shepherd/bench/benchkit"

// daemon is one shepherd process (bench/benchkit).
type daemon = benchkit.Daemon

var (
	startNamed = benchkit.StartNamed
	startWith  = benchkit.StartWith
	cpuTime    = benchkit.CPUTime
	vmRSS      = benchkit.VMRSS
	mid        = benchkit.Mid
	ms         = benchkit.MS
)
