package monitors

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/execrunner"
)

// ExecRunner runs commands as the built-in exec target does: through the
// process monitor (execrunner), output bounded by execrunner.MaxOutput,
// the command's process group killed when ctx ends. Once life ends (the
// daemon stops), nobody waits for a killed command's runner.
func ExecRunner(root *actor.RootContext, env execrunner.Env, life context.Context) RunFunc {
	return func(ctx context.Context, argv []string) ([]byte, string, bool, error) {
		results := make(chan execrunner.Result, 1)
		pid := execrunner.Spawn(root, env, argv, results)
		select {
		case res := <-results:
			return finish(res)
		case <-ctx.Done():
			root.Send(pid, &execrunner.Kill{})
			t := time.NewTimer(killWait)
			defer t.Stop()
			select {
			case res := <-results: // the runner answers once, whatever happens
				out, _, _, err := finish(res)
				return out, "killed at its timeout", false, err
			case <-life.Done():
				return nil, "killed: its monitor stopped (a reload, or the daemon stops)", false, nil
			case <-t.C:
				return nil, fmt.Sprintf("killed at its timeout, and still not ended %s later", killWait), false, nil
			}
		}
	}
}

// killWait bounds the wait for a killed command's end.
const killWait = 10 * time.Second

func finish(res execrunner.Result) ([]byte, string, bool, error) {
	if res.Err != nil {
		return nil, "", false, res.Err
	}
	return res.Output, res.Status.String(), res.Status.Success(), nil
}
