package daemon

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// hostileExporter answers every request on a unix socket with whatever
// frame answer holds (an exporter is another machine's daemon).
type hostileExporter struct {
	mu     sync.Mutex
	answer []byte
	path   string
	ln     net.Listener
}

func startHostileExporter(t testing.TB) *hostileExporter {
	dir, err := os.MkdirTemp("", "exporter")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := &hostileExporter{path: filepath.Join(dir, "socket"), answer: []byte(`{"ok":false}`)}
	h.ln, err = net.Listen("unix", h.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.ln.Close() })
	go func() {
		for {
			c, err := h.ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				dec := wire.NewDecoder(c)
				for {
					if _, err := dec.Next(); err != nil {
						return
					}
					h.mu.Lock()
					a := append(bytes.Clone(h.answer), '\n')
					h.mu.Unlock()
					if _, err := c.Write(a); err != nil {
						return
					}
				}
			}()
		}
	}()
	return h
}

func (h *hostileExporter) set(answer []byte) {
	h.mu.Lock()
	h.answer = answer
	h.mu.Unlock()
}

func (h *hostileExporter) ref() string {
	return capability.Sturdyref{Peer: "12D3KooWDMamLiofwqYYXmELadEK3f3RNnT4aXyxrCixUxvfQ4Hj", Swiss: capability.Swiss{7}, Addrs: []string{"/unix" + h.path}}.String()
}

// FuzzProxyRemoteReplies: whatever an exporter answers to the calls of a
// proxy and its watcher ({"ok":false} without an error crashed the
// importing daemon), the importing daemon keeps serving: the proxy's
// status is answered, as a status or an error of a known kind.
func FuzzProxyRemoteReplies(f *testing.F) {
	exp := startHostileExporter(f)
	d, _ := startDaemon(f, "services:\n  - name: nweb\n    remote: "+exp.ref()+"\n",
		func(o *Options) { o.RemoteCallTimeout = 200 * time.Millisecond })
	for _, seed := range []string{
		`{"ok":false}`, `{"id":1,"ok":false}`, `{"id":0,"ok":false,"more":true}`, `{"id":1,"ok":true}`,
		`{"id":1,"ok":true,"more":true,"result":{"events":[{"seq":1,"kind":"state"}]}}`,
		`{"id":1,"ok":false,"error":{"kind":"no-such-kind"}}`, `{"id":1,"ok":true,"result":null}`,
		`{"id":1,"ok":true,"result":"x"}`, `[]`, `null`, `{"id":1,"ok":true,"result":{"state":42}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		exp.set(bytes.ReplaceAll(answer, []byte("\n"), nil))
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if c, err := local.Dial(ctx, d.opts.SocketPath); err == nil {
			c.Call(ctx, wire.Request{Action: "start", Service: "nweb"})
			c.Close()
		}
		var st wire.Status
		if e := call(t, d, wire.Request{Action: "status", Service: "nweb"}, &st); e != nil && !wire.KnownKind(e.Kind) || e == nil && st.Name != "nweb" {
			t.Fatalf("answer %q: the proxy's status: %+v %v", answer, st, e)
		}
		var all wire.StatusAll
		if e := call(t, d, wire.Request{Action: "status"}, &all); e != nil || len(all.Services) != 1 {
			t.Fatalf("answer %q: the daemon's status: %+v %v", answer, all, e)
		}
	})
}
