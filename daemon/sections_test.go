package daemon

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestReloadReplacesSectionsWhileTheyServe reloads a changed notify:
// and monitors: section (daemon/sections) again and again while other
// connections ask the notifier and the monitors: every request is
// answered (run with -race: the instances are swapped while they
// serve), each reload names what changed, and a target added by the last
// reload receives its test alert.
func TestReloadReplacesSectionsWhileTheyServe(t *testing.T) {
	var got atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer hook.Close()
	conf := func(i int) string {
		targets := fmt.Sprintf("    t%d: {type: webhook, url: %q}\n", i, hook.URL)
		return "services: []\nmonitors:\n  - name: uptime\n    interval: " + fmt.Sprint(1+i%2) + "s\n" +
			"notify:\n  targets:\n" + targets + "  rules:\n    - on: [service-failed]\n      to: [t" + fmt.Sprint(i) + "]\n"
	}
	d, _ := startDaemon(t, conf(0))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, action := range []string{"monitors", "incidents", "facts", "query"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := local.Dial(ctx, d.opts.SocketPath)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			req := wire.Request{Action: action}
			if action == "query" {
				req.Args = []string{"SELECT count(*) FROM facts"}
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				rep, err := c.Call(ctx, req)
				if err != nil || !rep.OK {
					t.Errorf("%s during reloads: %v %+v", action, err, rep.Error)
					return
				}
			}
		}()
	}
	const reloads = 5
	for i := 1; i <= reloads; i++ {
		if err := os.WriteFile(d.opts.ConfigPath, []byte(conf(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := d.Reload()
		if err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		if !slices.Equal(res.Sections, []string{"notify", "monitors"}) {
			t.Errorf("reload %d re-applied %v, want [notify monitors]", i, res.Sections)
		}
	}
	close(stop)
	wg.Wait()
	res, err := d.Reload()
	if err != nil || len(res.Sections) != 0 {
		t.Errorf("a reload of the same file: %v, %v; want nothing re-applied", res.Sections, err)
	}
	if werr := call(t, d, wire.Request{Action: "notify-test", Args: []string{fmt.Sprintf("t%d", reloads)}}, nil); werr != nil {
		t.Fatalf("notify test to the target of the last reload: %v", werr)
	}
	if werr := call(t, d, wire.Request{Action: "notify-test", Args: []string{"t1"}}, nil); werr == nil || !strings.Contains(werr.Message, `no target "t1"`) {
		t.Errorf("a target gone with a reload still answers: %v", werr)
	}
	if got.Load() != 1 {
		t.Errorf("the webhook got %d requests, want 1", got.Load())
	}
}
