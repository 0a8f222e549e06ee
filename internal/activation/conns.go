package activation

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/shepherd-go/shepherd/internal/proc"
	"golang.org/x/sys/unix"
)

// Conns is an inetd-style service's connections, in the three steps of
// their life: accepted and waiting for the machine's decision (by ID),
// given to a process being spawned (by spawn tag), served by a process
// (by PID, through its handle). Its owner (the service's controller) uses
// it from one goroutine.
type Conns struct {
	accepted map[uint64]Conn
	spawning map[uint64]Conn
	procs    map[int]*proc.Handle
	nextID   uint64
}

// Add keeps an accepted connection and returns its ID.
func (c *Conns) Add(conn Conn) uint64 {
	if c.accepted == nil {
		c.accepted = map[uint64]Conn{}
	}
	c.nextID++
	c.accepted[c.nextID] = conn
	return c.nextID
}

// Take hands accepted connection id over (to be served or closed).
func (c *Conns) Take(id uint64) (Conn, bool) {
	conn, ok := c.accepted[id]
	delete(c.accepted, id)
	return conn, ok
}

// Spawning keeps conn open while its process is spawned (spawn tag).
func (c *Conns) Spawning(tag uint64, conn Conn) {
	if c.spawning == nil {
		c.spawning = map[uint64]Conn{}
	}
	c.spawning[tag] = conn
}

// Spawned closes the daemon's copy of the connection of spawn tag (its
// process has its own) and, for a process that started (h non-nil),
// keeps its handle.
func (c *Conns) Spawned(tag uint64, pid int, h *proc.Handle) {
	if conn, ok := c.spawning[tag]; ok {
		conn.File.Close()
		delete(c.spawning, tag)
	}
	if h == nil && pid == 0 {
		return
	}
	if c.procs == nil {
		c.procs = map[int]*proc.Handle{}
	}
	c.procs[pid] = h
}

// Exited forgets the process pid serves a connection with; it reports
// whether it was one.
func (c *Conns) Exited(pid int) bool {
	h, ok := c.procs[pid]
	if ok {
		h.Close()
		delete(c.procs, pid)
	}
	return ok
}

// Signal sends sig to every connection's process group; it returns the
// failures, each naming its process (ones already gone are not).
func (c *Conns) Signal(sig unix.Signal) []error {
	var errs []error
	for pid, h := range c.procs {
		if err := h.SignalGroup(sig); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("connection process %d: %w", pid, err))
		}
	}
	return errs
}

// CloseAccepted closes the connections not served yet.
func (c *Conns) CloseAccepted() {
	for id, conn := range c.accepted {
		conn.File.Close()
		delete(c.accepted, id)
	}
}

// Close lets go of everything: connections closed, processes killed
// (their groups).
func (c *Conns) Close() {
	c.CloseAccepted()
	for tag, conn := range c.spawning {
		conn.File.Close()
		delete(c.spawning, tag)
	}
	for pid, h := range c.procs {
		h.SignalGroup(unix.SIGKILL)
		h.Close()
		delete(c.procs, pid)
	}
}

// Pending reports whether a connection waits for a decision or a spawn
// (a re-exec waits until none does).
func (c *Conns) Pending() bool { return len(c.accepted)+len(c.spawning) > 0 }

// Save lists the processes' pidfds by PID, for a re-exec to pass on.
func (c *Conns) Save() map[int]int {
	if len(c.procs) == 0 {
		return nil
	}
	out := make(map[int]int, len(c.procs))
	for pid, h := range c.procs {
		out[pid] = h.FD()
	}
	return out
}

// Restore takes back the processes a re-exec handed over; it returns
// why a process cannot be signalled, for those that cannot.
func (c *Conns) Restore(saved map[int]int) []error {
	var errs []error
	for _, pid := range slices.Sorted(maps.Keys(saved)) {
		h, err := proc.InheritedHandle(saved[pid], pid)
		if err != nil {
			h, err = proc.OpenHandle(pid)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("connection process %d: %w; it cannot be signalled", pid, err))
		}
		if c.procs == nil {
			c.procs = map[int]*proc.Handle{}
		}
		c.procs[pid] = h
	}
	return errs
}

// SaveAll describes socks for a re-exec.
func SaveAll(socks []*Socket) []Saved {
	var out []Saved
	for _, s := range socks {
		out = append(out, s.Save())
	}
	return out
}

// InheritAll takes back the sockets a re-exec handed over; those that
// cannot be are left out, with why.
func InheritAll(saved []Saved) ([]*Socket, []error) {
	var socks []*Socket
	var errs []error
	for _, sv := range saved {
		s, err := Inherit(sv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		socks = append(socks, s)
	}
	return socks, errs
}
