package leftover

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/shepherd-go/shepherd/internal/proc"
)

// Proc is what /proc says of one process.
type Proc struct {
	PID, PPID, PGID, SID int
	// State is stat's state letter (R, S, D, Z, ...).
	State byte
	// Start is the start time, in clock ticks after boot.
	Start uint64
	// UIDs are the real, effective and saved user IDs.
	UIDs [3]uint32
	// Kernel: a kernel thread (PF_KTHREAD).
	Kernel bool
}

// pfKthread is PF_KTHREAD, in stat's flags.
const pfKthread = 0x00200000

// ReadProc reads /proc/PID/stat and the uids of /proc/PID/status.
func ReadProc(pid int) (Proc, error) {
	p, err := readStat(pid)
	if err != nil {
		return p, err
	}
	p.UIDs, err = proc.ReadUIDs(pid)
	return p, err
}

// readStat reads /proc/PID/stat: pid (comm) state ppid pgrp session ...
func readStat(pid int) (Proc, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, err
	}
	// comm may hold anything, ')' included: fields start after the last.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Proc{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field N is f[N-3].
	if len(f) < 22-3+1 || len(f[0]) != 1 {
		return Proc{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	p := Proc{PID: pid, State: f[0][0]}
	nums := []*int{&p.PPID, &p.PGID, &p.SID}
	for j, n := range nums {
		if *n, err = strconv.Atoi(f[4-3+j]); err != nil {
			return Proc{}, fmt.Errorf("/proc/%d/stat: field %d: %w", pid, 4+j, err)
		}
	}
	flags, err := strconv.ParseUint(f[9-3], 10, 64)
	if err != nil {
		return Proc{}, fmt.Errorf("/proc/%d/stat: flags: %w", pid, err)
	}
	p.Kernel = flags&pfKthread != 0
	if p.Start, err = strconv.ParseUint(f[22-3], 10, 64); err != nil {
		return Proc{}, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	return p, nil
}

// Table is a snapshot of every process, by PID. Uids are read only of the
// processes a search looks at closely (Table.proc).
type Table struct {
	procs map[int]Proc
	uids  map[int]bool // PIDs whose UIDs were read
	kids  map[int][]int
	// members lists, for each group or session number, the processes
	// in it.
	members map[int][]int
}

// Scan reads /proc/*/stat. Processes that end meanwhile are not in it.
func Scan() (*Table, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("/proc: %w", err)
	}
	t := newTable()
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid <= 0 {
			continue
		}
		p, err := readStat(pid)
		if err != nil {
			continue // gone
		}
		t.add(p)
	}
	t.sort()
	return t, nil
}

func newTable() *Table {
	return &Table{procs: map[int]Proc{}, uids: map[int]bool{}, kids: map[int][]int{}, members: map[int][]int{}}
}

func (t *Table) add(p Proc) {
	t.procs[p.PID] = p
	t.kids[p.PPID] = append(t.kids[p.PPID], p.PID)
	t.members[p.PGID] = append(t.members[p.PGID], p.PID)
	if p.SID != p.PGID {
		t.members[p.SID] = append(t.members[p.SID], p.PID)
	}
}

// sort puts the lists in PID order, so that a search is deterministic.
func (t *Table) sort() {
	for _, k := range t.kids {
		slices.Sort(k)
	}
	for _, m := range t.members {
		slices.Sort(m)
	}
}

// Len is the number of processes.
func (t *Table) Len() int { return len(t.procs) }

// proc returns the process pid with its uids (false if it is gone, or
// its uids cannot be read).
func (t *Table) proc(pid int) (Proc, bool) {
	p, ok := t.procs[pid]
	if !ok {
		return p, false
	}
	if !t.uids[pid] {
		uids, err := proc.ReadUIDs(pid)
		if err != nil {
			return p, false
		}
		p.UIDs = uids
		t.procs[pid] = p
		t.uids[pid] = true
	}
	return p, true
}

// ReadStat reads /proc/PID/stat (uids are not read).
func ReadStat(pid int) (Proc, error) { return readStat(pid) }
