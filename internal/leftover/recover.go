package leftover

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/cgroup"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/adoption"
)

// Inputs are what Recover needs of the daemon.
type Inputs struct {
	// Store holds the records (the history store).
	Store interface {
		Records(kind string) ([][]byte, error)
	}
	// Specs are this run's services by name, instances included.
	Specs map[string]*services.Spec
	// UID is the daemon's user (a service without `user` runs as it).
	UID  uint32
	Logf func(format string, args ...any)
	// Cgroups, when the daemon has them, lists the service cgroups under
	// its root with the PIDs in each (internal/cgroup.Previous): every
	// process in a service's cgroup is that service's. InCgroup says
	// whether a process is in a service's cgroup now (checked again once
	// the process is held); KillCgroup kills a service's cgroup as a
	// whole (when a stop comes to SIGKILL); EmptyCgroup, called once the
	// stop of a service with a cgroup is done, kills what is left there
	// and waits, bounded, until it is empty.
	Cgroups     map[string][]int
	InCgroup    func(service string, pid int) bool
	KillCgroup  func(service string)
	EmptyCgroup func(service string)
	// Tree, when set, is the daemon's root cgroup: Recover fills the
	// fields above from it (WithCgroups); Life bounds its waits.
	Tree *cgroup.Tree
	Life context.Context
}

// ByName indexes specs by name, the instances of a group included.
func ByName(specs []*services.Spec) map[string]*services.Spec {
	m := map[string]*services.Spec{}
	for _, s := range specs {
		m[s.Name] = s
		for i := 1; i <= s.Instances; i++ {
			inst := s.Instance(i)
			m[inst.Name] = inst
		}
	}
	return m
}

// Adoption is a process taken on as its service's main process.
type Adoption struct {
	PID int
	// PIDFD holds it (non-blocking): the caller owns it.
	PIDFD *os.File
	// StartedAt is when the process started.
	StartedAt time.Time
}

// Outcome is what Recover did.
type Outcome struct {
	// Adopted are the services that run on, by name.
	Adopted map[string]Adoption
	// Events say what was adopted and what was stopped, for history.
	Events []history.Event
	// Records are to be stored: the records of services whose
	// processes are gone now (cleared).
	Records []history.Record
}

// Recover finds what a previous daemon left running of each service (by
// its record, and by its cgroup if the daemon has cgroups), decides with
// adoption.Decide what to do with it, stops what is to be stopped
// (all services at once, each with the stop signal and timeout it was
// started with, then SIGKILL), and returns what is to be adopted. It is
// for a start that is not a re-exec, before any service starts; it
// returns once every stop is done (within the longest stop-timeout plus
// services.KillWait).
func Recover(in Inputs) Outcome {
	logf := in.Logf
	if in.Tree != nil {
		in.WithCgroups(in.Tree, in.Life)
	}
	var out Outcome
	boot, err := BootID()
	if err != nil {
		logf("leftover processes of a previous run cannot be looked for: %v", err)
		return out
	}
	stored, err := in.Store.Records(RecordKind)
	if err != nil {
		logf("history: %v", err)
	}
	recs := map[string]Record{}
	toClear := map[string]bool{} // by name: whether it has a record
	var rebooted []string
	for _, b := range stored {
		r, err := DecodeRecord(b)
		switch {
		case err != nil:
			logf("history: %v; ignored", err)
		case r.PID == 0:
		case r.BootID != boot:
			// Nothing of another boot runs now: said once, not per
			// service, after a power loss of a daemon with many.
			rebooted = append(rebooted, r.Service)
			toClear[r.Service] = true
		default:
			recs[r.Service] = r
		}
	}
	if len(rebooted) > 0 {
		slices.Sort(rebooted)
		logf("the process records of %d services (%s) were made before the machine last booted: nothing they name is looked for", len(rebooted), strings.Join(rebooted, " "))
	}
	names := make([]string, 0, len(recs)+len(in.Cgroups))
	for name := range recs {
		names = append(names, name)
	}
	for name, pids := range in.Cgroups {
		if _, ok := recs[name]; !ok && len(pids) > 0 {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		// The previous run stopped everything it started.
		out.Records = clearedRecords(toClear, recs, boot)
		return out
	}
	slices.Sort(names)
	t, err := Scan()
	if err != nil {
		logf("leftover processes of a previous run cannot be looked for: %v", err)
		return out
	}
	guard, now := NewGuard(), time.Now()
	var stops []StopGroup
	var why, emptied []string
	for _, name := range names {
		r, recorded := recs[name]
		if !recorded {
			r = Record{Service: name, BootID: boot}
		}
		f := t.Find(r, boot, guard)
		inCgroup := in.cgroupMembers(t, name, &f, guard)
		for _, n := range f.Notes {
			logf("service %s: %s", name, n)
		}
		spec := in.Specs[name]
		uid := in.UID
		if spec != nil && spec.Credentials != nil {
			uid = spec.Credentials.User.UID
		}
		hold := func(p Proc) (*Held, error) {
			h, err := Hold(p)
			if err == nil && inCgroup[p.PID] && !in.InCgroup(name, p.PID) {
				h.Close()
				err = fmt.Errorf("process %d: %w (it left the cgroup)", p.PID, ErrNotSame)
			}
			return h, err
		}
		l := adoption.Leftover{Command: r.Command, UID: r.UID, Launcher: r.Launcher, Unrecorded: !recorded, MainAlive: f.Main != nil, Procs: len(f.Procs())}
		d := adoption.Decide(l, spec, uid)
		if d.Action == adoption.Adopt {
			h, err := hold(*f.Main)
			if err == nil {
				a := Adoption{PID: h.PID, PIDFD: h.File(), StartedAt: startedAt(h.Start, now)}
				if out.Adopted == nil {
					out.Adopted = map[string]Adoption{}
				}
				out.Adopted[name] = a
				msg := "left running by the previous shepherd: " + d.Reason
				if len(f.Others) > 0 {
					msg += fmt.Sprintf("; with %s", countPIDs(f.Others))
				}
				msg += "; its output is not captured until its next start"
				logf("service %s: adopted process %d, %s", name, a.PID, msg)
				out.Events = append(out.Events, history.Event{Time: now, Service: name, Kind: history.KindAdopted, PID: a.PID, Message: msg})
				continue
			}
			// Gone since the scan: what is left of it is stopped.
			f.Main = nil
			l.MainAlive, l.Procs = false, len(f.Others)
			d = adoption.Decide(l, spec, uid)
		}
		if d.Action == adoption.None {
			toClear[name] = recorded
			continue
		}
		g := StopGroup{Service: name, Signal: r.StopSignal, Timeout: r.StopTimeout, KillWait: services.KillWait}
		if !recorded && spec != nil {
			g.Signal, g.Timeout = spec.StopSignal, spec.StopTimeout
		}
		if g.Timeout <= 0 {
			g.Timeout = 5 * time.Second
		}
		if len(inCgroup) > 0 && in.KillCgroup != nil {
			g.Kill = func() { in.KillCgroup(name) }
		}
		if len(inCgroup) > 0 && in.EmptyCgroup != nil {
			emptied = append(emptied, name)
		}
		for _, p := range f.Procs() {
			if h, err := hold(p); err == nil {
				g.Procs = append(g.Procs, h)
			} // else gone since the scan
		}
		if len(g.Procs) == 0 {
			toClear[name] = recorded
			continue
		}
		logf("service %s: stopping %s left running by the previous shepherd (%s) with %s", name, heldPIDs(g.Procs), d.Reason, services.SignalName(orTERM(g.Signal)))
		stops = append(stops, g)
		why = append(why, d.Reason)
	}
	for i, s := range Stop(stops) {
		msg := "left running by the previous shepherd, stopped: " + why[i]
		if len(s.Ended) > 0 {
			msg += fmt.Sprintf("; %s ended on %s", pidList(s.Ended), services.SignalName(orTERM(stops[i].Signal)))
		}
		if len(s.Killed) > 0 {
			msg += fmt.Sprintf("; %s needed SIGKILL", pidList(s.Killed))
		}
		if len(s.Survived) > 0 {
			msg += fmt.Sprintf("; %s still there %v after SIGKILL (uninterruptible sleep, or a tracer), given up on", pidList(s.Survived), services.KillWait)
		}
		logf("service %s: %s", s.Service, strings.TrimPrefix(msg, "left running by the previous shepherd, "))
		out.Events = append(out.Events, history.Event{Time: time.Now(), Service: s.Service, Kind: history.KindStoppedLeftover, PID: stops[i].Procs[0].PID, Message: msg})
		r, recorded := recs[s.Service]
		// The record stays if its main process survived: it is found
		// again next time.
		if !recorded || !slices.Contains(s.Survived, r.PID) {
			toClear[s.Service] = recorded
		}
	}
	// What a stop did not reach (forked meanwhile, not held) goes with
	// the cgroup.
	for _, name := range emptied {
		in.EmptyCgroup(name)
	}
	out.Records = clearedRecords(toClear, recs, boot)
	return out
}

// clearedRecords are the records, naming no process, of the services of
// toClear that have one.
func clearedRecords(toClear map[string]bool, recs map[string]Record, boot string) []history.Record {
	var out []history.Record
	for name, recorded := range toClear {
		if recorded {
			c := Record{Service: name, BootID: boot, UID: recs[name].UID}
			out = append(out, history.Record{Kind: RecordKind, Key: name, Value: c.Encode()})
		}
	}
	slices.SortFunc(out, func(a, b history.Record) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// cgroupMembers adds to f the processes in service name's cgroup that f
// lacks, and returns every process of f that is in the cgroup. Whatever
// is in a service's cgroup is the service's: it is not held to the
// recorded user, only kept from guarded processes.
func (in Inputs) cgroupMembers(t *Table, name string, f *Found, g Guard) map[int]bool {
	pids := in.Cgroups[name]
	if len(pids) == 0 || in.InCgroup == nil {
		return nil
	}
	listed := map[int]bool{}
	for _, pid := range pids {
		listed[pid] = true
	}
	inCgroup := map[int]bool{}
	have := map[int]bool{}
	for _, p := range f.Procs() {
		have[p.PID] = true
		if listed[p.PID] {
			inCgroup[p.PID] = true
		}
	}
	slices.Sort(pids)
	for _, pid := range slices.Compact(pids) {
		if have[pid] {
			continue
		}
		p, ok := t.proc(pid)
		switch {
		case !ok, p.State == 'Z' || p.State == 'X':
			continue // gone since
		case g.protects(p):
			f.Notes = append(f.Notes, fmt.Sprintf("process %d in its cgroup is shepherd, one of its ancestors, PID 1 or a kernel thread: left alone", pid))
			continue
		}
		f.Others = append(f.Others, p)
		inCgroup[pid] = true
	}
	return inCgroup
}

// startedAt converts a start time in clock ticks after boot to the wall
// clock.
func startedAt(start uint64, now time.Time) time.Time {
	uptime := proc.BootTicks()
	if start > uptime {
		return now
	}
	return now.Add(-time.Duration(uptime-start) * (time.Second / 100)) // USER_HZ
}

func orTERM(s syscall.Signal) syscall.Signal {
	if s == 0 {
		return syscall.SIGTERM
	}
	return s
}

func pidList(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	word := "process"
	if len(pids) > 1 {
		word = "processes"
	}
	return word + " " + strings.Join(s, " ")
}

func heldPIDs(hs []*Held) string {
	pids := make([]int, len(hs))
	for i, h := range hs {
		pids[i] = h.PID
	}
	return pidList(pids)
}

func countPIDs(ps []Proc) string {
	pids := make([]int, len(ps))
	for i, p := range ps {
		pids[i] = p.PID
	}
	if len(pids) == 1 {
		return "1 more process: " + strconv.Itoa(pids[0])
	}
	return fmt.Sprintf("%d more processes: %s", len(pids), strings.TrimPrefix(pidList(pids), "processes "))
}
