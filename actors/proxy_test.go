package actors

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

// TestMirrorKeepsTheNewestOfEventsAndAnswers plays the orders in which a
// proxy hears of its remote service: events on the follow stream and
// answers to its calls race, and the older must never undo the newer.
func TestMirrorKeepsTheNewestOfEventsAndAnswers(t *testing.T) {
	event := func(state string, seq uint64) remoteState { return remoteState{State: state, Seq: seq} }
	answer := func(state string, seq uint64) remoteState { return remoteState{Answer: true, State: state, Seq: seq} }
	const (
		running  = wire.StateRunning
		starting = wire.StateStarting
		stopped  = wire.StateStopped
		failed   = wire.StateFailed
		down     = wire.StateUnreachable
	)
	for _, tc := range []struct {
		name  string
		from  mirror
		news  []remoteState
		state string
		seq   uint64
	}{
		{"events in order", mirror{State: stopped}, []remoteState{event(starting, 11), event(running, 12)}, running, 12},
		{"a start's events trail its answer", mirror{State: stopped, Seq: 10},
			[]remoteState{answer(running, 12), event(starting, 11), event(running, 12)}, running, 12},
		{"the answer trails the events", mirror{State: stopped, Seq: 10},
			[]remoteState{event(starting, 11), event(running, 12), answer(running, 12)}, running, 12},
		{"the service died before the answer came", mirror{State: stopped, Seq: 10},
			[]remoteState{event(starting, 11), event(running, 12), event(failed, 14), answer(running, 12)}, failed, 14},
		{"and after it", mirror{State: stopped, Seq: 10},
			[]remoteState{answer(running, 12), event(failed, 14)}, failed, 14},
		{"a stop's answer before a start's late events", mirror{State: running, Seq: 12},
			[]remoteState{answer(stopped, 16), event(starting, 11), event(running, 12)}, stopped, 16},
		{"an answer without a number is taken", mirror{State: stopped, Seq: 10}, []remoteState{answer(running, 0)}, running, 10},
		{"an answer that says nothing of the state", mirror{State: running, Seq: 10}, []remoteState{answer("", 12)}, running, 12},
		{"a status as new as the last event", mirror{State: running, Seq: 12}, []remoteState{answer(running, 12)}, running, 12},
		{"unreachable, then back", mirror{State: running, Seq: 12},
			[]remoteState{{Err: "unreachable: link down"}, {Reset: true}, answer(running, 12)}, running, 12},
		{"an exporter that counts anew", mirror{State: running, Seq: 500},
			[]remoteState{{Err: "unreachable: connection reset"}, {Reset: true}, answer(stopped, 3), event(starting, 4)}, starting, 4},
		{"a refused call changes no state", mirror{State: running, Seq: 12},
			[]remoteState{{Refused: "capability-revoked: the capability was revoked"}}, running, 12},
	} {
		m := tc.from
		for _, n := range tc.news {
			m = m.apply(n)
		}
		if m.State != tc.state || m.Seq != tc.seq {
			t.Errorf("%s: state %s, seq %d; want %s, %d", tc.name, m.State, m.Seq, tc.state, tc.seq)
		}
	}
}

func TestMirrorErrors(t *testing.T) {
	m := mirror{State: wire.StateRunning, Seq: 7}.apply(remoteState{Err: "unreachable: timeout"})
	if m.State != wire.StateUnreachable || m.Err != "unreachable: timeout" {
		t.Errorf("unreachable: %+v", m)
	}
	m = mirror{State: wire.StateRunning}.apply(remoteState{Refused: "permission-denied"})
	if m.State != wire.StateRunning || m.Err != "permission-denied" {
		t.Errorf("refused: %+v", m)
	}
	if m = m.apply(remoteState{Answer: true, State: wire.StateRunning}); m.Err != "" {
		t.Errorf("an answer clears the error: %+v", m)
	}
}

func TestAnsweredReadsStateOrOutcome(t *testing.T) {
	for _, tc := range []struct {
		result string
		want   string
	}{
		{`{"name":"web","state":"starting"}`, wire.StateStarting},
		{`{"service":"web","outcome":"started"}`, wire.StateRunning},
		{`{"service":"web","outcome":"already-running"}`, wire.StateRunning},
		{`{"service":"web","outcome":"stopped"}`, wire.StateStopped},
		{`{"service":"web","outcome":"not-running"}`, wire.StateStopped},
		{`{"service":"web","output":"reloaded"}`, ""},
	} {
		n := answered(wire.Reply{OK: true, Result: []byte(tc.result), Seq: 9}, nil)
		if !n.Answer || n.State != tc.want || n.Seq != 9 {
			t.Errorf("%s: %+v, want state %q", tc.result, n, tc.want)
		}
	}
}

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
