package cli

import (
	"fmt"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// formatCgroup renders a service's cgroup in `herd status NAME`:
//
//	Cgroup: /sys/fs/cgroup/shepherd-0-1a2b3c4d/web.service
//	Tasks: 3 (limit: 20)
//	Memory: 12.3M (limit: 512.0M)
//	CPU: 1.25s
func formatCgroup(line func(string, ...any), c *wire.CgroupInfo) {
	if c == nil {
		return
	}
	line("Cgroup: %s", c.Path)
	if c.PidsMax > 0 {
		line("Tasks: %d (limit: %d)", c.Tasks, c.PidsMax)
	} else {
		line("Tasks: %d", c.Tasks)
	}
	if c.Memory != nil {
		if c.MemoryMax > 0 {
			line("Memory: %s (limit: %s)", bytesText(*c.Memory), bytesText(c.MemoryMax))
		} else {
			line("Memory: %s", bytesText(*c.Memory))
		}
	}
	line("CPU: %s", cpuText(time.Duration(c.CPU)))
}

// bytesText is systemd's way: 512B, 12.3K, 4.0M, 1.5G (binary units).
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f, suffix := float64(n), ""
	for _, s := range []string{"K", "M", "G", "T"} {
		f /= unit
		suffix = s
		if f < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f%s", f, suffix)
}

// cpuText rounds a CPU time to what is worth reading: 0s, 45ms, 1.25s, 2m3.5s.
func cpuText(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
