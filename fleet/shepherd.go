package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// ShepherdExec runs commands on hosts that run a shepherd, through their
// exec capabilities, relayed by the local daemon at socket (which speaks
// libp2p; herd does not), all on one connection (local.Mux).
func ShepherdExec(socket string) Exec {
	mux := local.NewMux(socket)
	return func(ctx context.Context, h *Host, argv []string, timeout time.Duration) Result {
		// The exporter kills the command at timeout; this bounds an
		// exporter that does not answer.
		ctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
		defer cancel()
		args := append([]string{"--timeout", timeout.String(), "--"}, argv...)
		rep, err := mux.Call(ctx, wire.Request{Action: "exec", Args: args, Cap: h.Address})
		if _, ok := errors.AsType[*local.DialError](err); ok {
			return Result{ExitCode: -1, Kind: "unreachable", Err: "the local shepherd relays fleet calls: " + err.Error()}
		} else if err != nil {
			kind := string(wire.Unreachable)
			if errors.Is(err, context.DeadlineExceeded) {
				kind = string(wire.Timeout)
			}
			return Result{ExitCode: -1, Kind: kind, Err: err.Error()}
		}
		if !rep.OK {
			return Result{ExitCode: -1, Kind: string(rep.Error.Kind), Err: rep.Error.Message}
		}
		var er wire.ExecResult
		if err := json.Unmarshal(rep.Result, &er); err != nil {
			return Result{ExitCode: -1, Kind: "bad-reply", Err: err.Error()}
		}
		r := Result{Output: er.Output, ExitCode: er.ExitCode, Duration: time.Duration(er.Duration).Seconds()}
		if er.TimedOut {
			r.Kind, r.Err = string(wire.Timeout), "timed out after "+timeout.String()
		}
		return r
	}
}
