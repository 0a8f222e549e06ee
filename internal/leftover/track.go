package leftover

import (
	"time"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/services"
)

// Tracker keeps a service's Record current, for its controller: the
// record goes into the batch of the step that changed the process, whose
// events are synced anyway, so it costs no sync of its own.
type Tracker struct{ pid int }

// Recorded says that the stored record names pid already (a re-exec
// handed the process over, or it was adopted).
func (t *Tracker) Recorded(pid int) { t.pid = pid }

// Update returns the record to store when the process to track (pid, 0
// for none; launcher: the launcher of a service with a PID file, which
// has not named its main process yet) is not the one last recorded.
// alive says whether the process is still there to be signalled: what
// /proc says of it is its own only if it is, after the read (else the
// PID may already be another's). since is when the service started.
func (t *Tracker) Update(s *services.Spec, daemonUID uint32, pid int, launcher bool, alive func() error, since time.Time) []history.Record {
	if pid == t.pid {
		return nil
	}
	t.pid = pid
	boot, _ := BootID() // unreadable: a record no later daemon accepts
	r := Record{Service: s.Name, BootID: boot, UID: daemonUID}
	if c := s.Credentials; c != nil {
		r.UID = c.User.UID
	}
	if p, err := ReadStat(pid); pid != 0 && err == nil && alive() == nil {
		r.PID, r.Start, r.PGID, r.SID, r.Launcher = pid, p.Start, p.PGID, p.SID, launcher
		r.Command, r.StopSignal, r.StopTimeout, r.At = s.Command, s.StopSignal, s.StopTimeout, since
	}
	return []history.Record{{Kind: RecordKind, Key: s.Name, Value: r.Encode()}}
}
