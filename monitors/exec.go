package monitors

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/execrunner"
)

// ExecRunner runs commands as the built-in exec target does: through the
// process monitor (execrunner), output bounded by execrunner.MaxOutput,
// the command's process group killed when ctx ends.
func ExecRunner(root *actor.RootContext, env execrunner.Env) RunFunc {
	return func(ctx context.Context, argv []string) ([]byte, string, bool, error) {
		results := make(chan execrunner.Result, 1)
		pid := execrunner.Spawn(root, env, argv, results)
		select {
		case res := <-results:
			return finish(res)
		case <-ctx.Done():
			root.Send(pid, &execrunner.Kill{})
			res := <-results // the runner answers once, whatever happens
			out, _, _, err := finish(res)
			return out, "killed at its timeout", false, err
		}
	}
}

func finish(res execrunner.Result) ([]byte, string, bool, error) {
	if res.Err != nil {
		return nil, "", false, res.Err
	}
	return res.Output, res.Status.String(), res.Status.Success(), nil
}
