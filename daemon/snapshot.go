package daemon

import (
	"context"
	"encoding/json"

	"github.com/shepherd-go/shepherd/actors/registry"
	"github.com/shepherd-go/shepherd/internal/snapshot"
	"github.com/shepherd-go/shepherd/internal/tail"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// serveSnapshot answers the read target's snapshot action: its fixed
// script through the reaper, the services' states from the registry.
func (a *api) serveSnapshot(ctx context.Context, req wire.Request, out local.Responder) {
	out.Send(snapshot.Serve(ctx, req, snapshot.ExecRunner(a.d.system.Root, a.d.spawnExec), func(ctx context.Context) (json.RawMessage, error) {
		rep, err := ask(ctx, a.d, a.d.registry, func(ch chan<- wire.Reply) any {
			return &registry.ClientRequest{Req: wire.Request{Action: "status"}, Reply: ch}
		})
		return rep.Result, err
	}))
}

// The read target's tail action (herd fleet tail): its capability's
// subject, its stream.
var tailSubject, tailServe, tailAction = tail.Subject, tail.Serve, tail.Action
