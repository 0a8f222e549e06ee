package proc

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Exit is one reaped process.
type Exit struct {
	PID    int
	Status unix.WaitStatus
	Rusage unix.Rusage
	At     time.Time
}

// Reap is the daemon's only caller of wait4 (design §5; a lint test keeps it
// so). It loops wait4(-1, WNOHANG) on every SIGCHLD, because one SIGCHLD may
// stand for many exits, and hands each exit to deliver in reaping order. It
// returns when stop is closed.
//
// A channel received from pause pauses it: the reaper answers on that
// channel once no wait4 runs, and reaps again after a second message on it
// (a re-exec hands unreaped children to the next binary).
func Reap(deliver func(Exit), stop <-chan struct{}, pause <-chan chan struct{}) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGCHLD)
	defer signal.Stop(sigs)
	// Children may have exited before Notify took effect.
	reapAll(deliver)
	// A slow safety net: should a SIGCHLD ever be missed, no exit waits
	// longer than this.
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-sigs:
		case <-tick.C:
		case p := <-pause:
			p <- struct{}{}
			select {
			case <-p:
			case <-stop:
				return
			}
		}
		reapAll(deliver)
	}
}

func reapAll(deliver func(Exit)) {
	for {
		var ws unix.WaitStatus
		var ru unix.Rusage
		// Not while a group is signalled by its number (handle.go).
		reapMu.Lock()
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, &ru)
		reapMu.Unlock()
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return // ECHILD: no children; 0: none has exited yet
		}
		deliver(Exit{PID: pid, Status: ws, Rusage: ru, At: time.Now()})
	}
}
