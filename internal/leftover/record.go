package leftover

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

// RecordKind is the history store's record kind of Records, keyed by
// service name.
const RecordKind = "proc"

// Record is what the daemon keeps of a service's processes while they
// run: enough to find them again after the daemon died, and to know them
// from processes that merely reuse their numbers. PID 0 says the service
// has no process (it stopped, or was never started).
type Record struct {
	Service string `json:"service"`
	// BootID is /proc/sys/kernel/random/boot_id when the process was
	// started: after a reboot, nothing a record names is ours.
	BootID string `json:"boot_id"`
	PID    int    `json:"pid,omitempty"`
	// Start is the process's start time, field 22 of /proc/PID/stat
	// (clock ticks after boot).
	Start uint64 `json:"start,omitempty"`
	// PGID and SID are the process group and session of the process
	// when it was started (its own PID for a process shepherd spawned,
	// which runs in a session of its own).
	PGID int `json:"pgid,omitempty"`
	SID  int `json:"sid,omitempty"`
	// UID is the service's user: its processes must run as that user
	// (any user, for a service run as root).
	UID uint32 `json:"uid"`
	// Launcher says that PID is the launcher of a service with a PID
	// file, which had not yet named its main process.
	Launcher bool `json:"launcher,omitempty"`
	// Command, StopSignal and StopTimeout are the service's definition
	// when it started: a changed definition is not adopted, and its
	// leftovers are stopped as the definition they were started from
	// says.
	Command     []string       `json:"command,omitempty"`
	StopSignal  syscall.Signal `json:"stop_signal,omitempty"`
	StopTimeout time.Duration  `json:"stop_timeout_ns,omitempty"`
	// At is when the process was started (the daemon's clock).
	At time.Time `json:"at,omitzero"`
}

// Limits on what a record may hold; a record beyond them is refused.
const (
	maxPID         = 1 << 22 // pid_max's highest value
	maxCommandArgs = 4096
	maxRecordBytes = 1 << 20
	maxStopTimeout = 24 * time.Hour
	maxNameBytes   = 4096
)

var bootIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Encode returns r as stored.
func (r Record) Encode() []byte {
	b, _ := json.Marshal(r)
	return b
}

// DecodeRecord reads a stored record and checks that it is one shepherd
// could have written: a service name, a boot id, numbers in range.
func DecodeRecord(b []byte) (Record, error) {
	var r Record
	if len(b) > maxRecordBytes {
		return r, fmt.Errorf("process record of %d bytes: more than %d", len(b), maxRecordBytes)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("process record: %w", err)
	}
	switch {
	case r.Service == "" || len(r.Service) > maxNameBytes || !utf8.ValidString(r.Service):
		return r, fmt.Errorf("process record: bad service name %q", r.Service)
	case !bootIDRE.MatchString(r.BootID):
		return r, fmt.Errorf("process record of %s: bad boot id %q", r.Service, r.BootID)
	case r.PID < 0 || r.PID > maxPID || r.PGID < 0 || r.PGID > maxPID || r.SID < 0 || r.SID > maxPID:
		return r, fmt.Errorf("process record of %s: PID, group or session out of range", r.Service)
	case r.PID > 0 && r.Start == 0:
		return r, fmt.Errorf("process record of %s: process %d without a start time", r.Service, r.PID)
	case len(r.Command) > maxCommandArgs:
		return r, fmt.Errorf("process record of %s: command of %d arguments", r.Service, len(r.Command))
	case r.StopSignal < 0 || r.StopSignal > 64:
		return r, fmt.Errorf("process record of %s: bad stop signal %d", r.Service, r.StopSignal)
	case r.StopTimeout < 0 || r.StopTimeout > maxStopTimeout:
		return r, fmt.Errorf("process record of %s: stop timeout %v out of range", r.Service, r.StopTimeout)
	}
	return r, nil
}

var bootID struct {
	once sync.Once
	id   string
	err  error
}

// BootID is this boot's id, /proc/sys/kernel/random/boot_id (read once).
func BootID() (string, error) {
	bootID.once.Do(func() {
		b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
		if err != nil {
			bootID.err = fmt.Errorf("boot id: %w", err)
			return
		}
		bootID.id = strings.TrimSpace(string(b))
		if !bootIDRE.MatchString(bootID.id) {
			bootID.err = fmt.Errorf("boot id: unexpected %q", bootID.id)
		}
	})
	return bootID.id, bootID.err
}
