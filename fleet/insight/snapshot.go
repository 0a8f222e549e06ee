package insight

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/internal/snapshot"
	"github.com/shepherd-go/shepherd/netlayer/local"
)

// Facts collects the snapshots of hosts as they arrive.
type Facts struct {
	mu sync.Mutex
	m  map[string]snapshot.Host // guarded by mu
}

// NewFacts makes an empty Facts.
func NewFacts() *Facts { return &Facts{m: map[string]snapshot.Host{}} }

func (f *Facts) put(h snapshot.Host) fleet.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[h.Host] = h
	return fleet.Result{Output: "snapshot taken\n"}
}

// Get is host's snapshot.
func (f *Facts) Get(host string) (snapshot.Host, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.m[host]
	return h, ok
}

// ShepherdSnapshot takes the snapshot of hosts that run a shepherd,
// through the snapshot action of their read capabilities.
func ShepherdSnapshot(socket string, timeout time.Duration, facts *Facts) fleet.Op {
	return func(ctx context.Context, h *fleet.Host) fleet.Result {
		if h.ReadRef == nil {
			return failed("no-capability", "no read capability: give host %s a read: key in the inventory (the host grants it with herd cap grant read --actions snapshot)", h.Name)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		c, err := local.Dial(ctx, socket)
		if err != nil {
			return failed("unreachable", "the local shepherd relays fleet calls: %v", err)
		}
		defer c.Close()
		var s snapshot.Host
		if r := fleet.CapCall(ctx, c, "read", h.Read, "snapshot", &s); r != nil {
			return *r
		}
		s.Host = h.Name
		return facts.put(s)
	}
}

// Snapshot takes the snapshot of an SSH host: the same fixed script, as
// the SSH user.
func SSHSnapshot(ctx context.Context, s *fleet.SSH, h *fleet.Host, timeout time.Duration, facts *Facts) fleet.Result {
	r := s.Exec(ctx, h, []string{"sh", "-c", snapshot.Script}, timeout)
	if r.Status() != "ok" {
		if r.Err == "" {
			r.Err, r.Kind = fmt.Sprintf("the snapshot script failed: %s", strings.TrimSpace(r.Output)), "failed"
		}
		r.Output = ""
		return r
	}
	sh := snapshot.Parse([]byte(r.Output))
	sh.Host, sh.Time = h.Name, time.Now()
	return facts.put(sh)
}

// MarshalHost is a host's snapshot as the history keeps it.
func MarshalHost(h snapshot.Host) string {
	b, _ := json.Marshal(h)
	return string(b)
}
