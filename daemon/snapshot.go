package daemon

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/shepherd-go/shepherd/actors/execrunner"
	"github.com/shepherd-go/shepherd/actors/registry"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/internal/filexfer"
	"github.com/shepherd-go/shepherd/internal/snapshot"
	"github.com/shepherd-go/shepherd/internal/tail"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// serveSnapshot answers the read target's snapshot action
// (internal/snapshot): its fixed script through the reaper, the
// services' states from the registry.
func (a *api) serveSnapshot(ctx context.Context, req wire.Request, out local.Responder) {
	run := func(ctx context.Context, argv []string) ([]byte, error) {
		results := make(chan execrunner.Result, 1)
		pid := a.d.spawnExec(argv, results)
		select {
		case res := <-results:
			if res.Err == nil && res.Status.Code != 0 {
				res.Err = fmt.Errorf("exit %d", res.Status.Code)
			}
			return res.Output, res.Err
		case <-ctx.Done():
			a.d.system.Root.Send(pid, &execrunner.Kill{})
			return nil, ctx.Err()
		}
	}
	status := func(ctx context.Context) (json.RawMessage, error) {
		rep, err := ask(ctx, a.d, a.d.registry, func(ch chan<- wire.Reply) any {
			return &registry.ClientRequest{Req: wire.Request{Action: "status"}, Reply: ch}
		})
		return rep.Result, err
	}
	out.Send(snapshot.Serve(ctx, req, run, status))
}

// fileSubject is what a request asks of a file or read capability: a
// tail's path (internal/tail), or a file action's (filexfer).
func fileSubject(files *filexfer.Server, req wire.Request) capability.FileSubject {
	if req.Service == capability.ReadTarget && req.Action == tail.Action {
		return capability.FileSubject{Right: capability.ReadAction, Path: tail.PathOf(req)}
	}
	return files.Subject(req)
}

// The read target's tail action (herd fleet tail; internal/tail).
var tailServe, tailAction = tail.Serve, tail.Action
