package daemon

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/execrunner"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/exectarget"
	"github.com/shepherd-go/shepherd/internal/proc"
)

// execEnv is what the built-in exec target (internal/exectarget) needs of
// the daemon: its monitor, its environment, its history.
func (d *Daemon) execEnv() exectarget.Env {
	return exectarget.Env{Root: d.system.Root, Logf: d.logf,
		Runner: execrunner.Env{Monitor: d.monitor, Go: d.goGo, Environ: proc.Environ(d.baseEnv)},
		Record: func(ev history.Event) {
			d.system.Root.Send(d.historian, &historian.Record{Events: []history.Event{ev}})
		}}
}

// spawnExec starts a runner for argv, which answers on results (buffered).
func (d *Daemon) spawnExec(argv []string, results chan<- execrunner.Result) *actor.PID {
	return d.execEnv().Spawn(argv, results)
}
