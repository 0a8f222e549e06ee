package leftover

import (
	"fmt"
	"os"
	"slices"
)

// Guard names the processes that are never anyone's leftovers, whatever
// a record says: PID 0, 1 and 2, the daemon itself and its ancestors (it
// may run under another supervisor), and kernel threads.
type Guard struct {
	never map[int]bool
}

// maxAncestors bounds the walk up from the daemon.
const maxAncestors = 4096

// NewGuard guards the calling process and its ancestors.
func NewGuard() Guard {
	g := Guard{never: map[int]bool{0: true, 1: true, 2: true, os.Getpid(): true}}
	for pid := os.Getppid(); pid > 2 && len(g.never) < maxAncestors && !g.never[pid]; {
		g.never[pid] = true
		p, err := readStat(pid)
		if err != nil {
			break
		}
		pid = p.PPID
	}
	return g
}

func (g Guard) protects(p Proc) bool {
	return g.never[p.PID] || p.Kernel || p.PPID == 2
}

// Found is what is left of a record's processes.
type Found struct {
	Record Record
	// Main is the recorded process, if its PID still names it (same
	// start time) and it runs as the service's user.
	Main *Proc
	// Others are the live members of its process group and session
	// (while its number is not another process's) and the descendants
	// of all of them, as the service's user.
	Others []Proc
	// Notes say which processes were left alone, and why.
	Notes []string
}

// Procs returns the processes found, the main process first.
func (f Found) Procs() []Proc {
	var ps []Proc
	if f.Main != nil {
		ps = append(ps, *f.Main)
	}
	return append(ps, f.Others...)
}

// Find looks for the processes of r in t. bootID is this boot's: a record
// of another boot names nothing of ours.
func (t *Table) Find(r Record, bootID string, g Guard) Found {
	f := Found{Record: r}
	if r.PID == 0 {
		return f
	}
	if r.BootID != bootID {
		f.Notes = append(f.Notes, fmt.Sprintf("the record of process %d was made before the machine last booted: nothing it names is looked for", r.PID))
		return f
	}
	note := func(format string, args ...any) { f.Notes = append(f.Notes, fmt.Sprintf(format, args...)) }
	// fit says whether p may be one of the service's processes: alive,
	// not guarded, and running as the service's user (as anyone for a
	// service run as root, whose processes may switch users).
	fit := func(p Proc) bool {
		switch {
		case p.State == 'Z' || p.State == 'X':
			return false
		case g.protects(p):
			note("process %d is shepherd, one of its ancestors, PID 1 or a kernel thread: left alone", p.PID)
			return false
		case r.UID != 0 && (p.UIDs[0] != r.UID || p.UIDs[1] != r.UID || p.UIDs[2] != r.UID):
			note("process %d runs as uid %d, not as the service's uid %d: left alone", p.PID, p.UIDs[1], r.UID)
			return false
		}
		return true
	}
	seen := map[int]bool{}
	// The recorded number still names the recorded process, or no
	// process at all: then its group and session are still the
	// service's (a number in use as a group or session is not given to
	// a new process).
	ours := true
	if _, exists := t.procs[r.PID]; exists {
		p, readable := t.proc(r.PID)
		switch {
		case p.Start != r.Start:
			ours = false
			note("process %d is not the one recorded (it started at tick %d, the recorded one at tick %d): its PID was reused; left alone", r.PID, p.Start, r.Start)
		case !readable:
			ours = false
			note("process %d: its user cannot be read: left alone", r.PID)
		default:
			seen[p.PID] = true // looked at: not again as a member
			if fit(p) {
				f.Main = &p
			}
		}
	}
	if ours {
		groups := map[int]bool{r.PID: true}
		for _, n := range []int{r.PGID, r.SID} {
			if _, taken := t.procs[n]; n > 2 && !taken {
				groups[n] = true
			}
		}
		var in []int
		for n := range groups {
			in = append(in, t.members[n]...)
		}
		slices.Sort(in)
		for _, pid := range slices.Compact(in) {
			if seen[pid] || t.procs[pid].Start < r.Start {
				continue
			}
			if p, ok := t.proc(pid); ok && fit(p) {
				f.Others = append(f.Others, p)
				seen[pid] = true
			}
		}
	}
	// Descendants of what was found, by the kernel's word (PPID).
	var queue []int
	for _, p := range f.Procs() {
		queue = append(queue, p.PID)
	}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, kid := range t.kids[pid] {
			if seen[kid] {
				continue
			}
			if p, ok := t.proc(kid); ok && fit(p) {
				f.Others = append(f.Others, p)
				seen[kid] = true
				queue = append(queue, kid)
			}
		}
	}
	return f
}
