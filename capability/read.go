package capability

import (
	"fmt"
	"slices"
)

// ReadTarget is the built-in target of read capabilities (herd fleet
// diff, tail and snapshot): the action "read" reads the files that the
// grant's allow-list of path patterns matches (Grant.Paths, given as
// `herd cap grant read --allow '/etc/nginx/**'`), up to its size limit;
// the action "snapshot" gathers the host's facts (OS, disks, packages,
// units), which needs no path.
const ReadTarget = "read"

// The actions of a read grant.
const (
	ReadAction     = "read"
	SnapshotAction = "snapshot"
)

// ReadActions are the actions a read grant may hold.
var ReadActions = []string{ReadAction, SnapshotAction}

// readAllowed is the read part of a grant's check: a snapshot needs the
// snapshot action; a file request (file-stat, file-read, tail: the
// protocol's actions, with the right "read") needs the read action and a path the
// allow-list matches, within the size limit. Nothing else is allowed.
func (g Grant) readAllowed(req Request) bool {
	switch req.Action {
	case SnapshotAction:
		return slices.Contains(g.Actions, SnapshotAction)
	case "file-stat", "file-read", "tail":
		return req.File.Right == ReadAction && slices.Contains(g.Actions, ReadAction) && g.fileAllowed(req.File)
	}
	return false
}

// CheckReadGrant validates a read grant's actions and allow-list: read
// and/or snapshot, and at least one path pattern for read.
func CheckReadGrant(actions, paths []string) error {
	for _, a := range actions {
		if !slices.Contains(ReadActions, a) {
			return fmt.Errorf("--actions: a read capability has the actions read and snapshot, not %q", a)
		}
	}
	if slices.Contains(actions, ReadAction) && len(paths) == 0 {
		return fmt.Errorf("a read capability needs at least one --allow path pattern (such as '/etc/nginx/**')")
	}
	for _, p := range paths {
		if err := CheckPathPattern(p); err != nil {
			return fmt.Errorf("--allow: %w", err)
		}
	}
	return nil
}
