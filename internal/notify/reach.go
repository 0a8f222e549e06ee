package notify

import (
	"fmt"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// CheckReachable reports whether a process of uid, with primary group gid
// and the supplementary groups, can pass through every directory above
// dir to reach a socket in it. The kernel answers a sendto() that
// cannot with EACCES, which sd_notify(3) callers such as redis only log:
// without this check the service would wait for readiness until its
// start-timeout, with no word from shepherd of why.
func CheckReachable(dir string, uid, gid uint32, groups []uint32) error {
	if uid == 0 {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for d := abs; ; d = filepath.Dir(d) {
		var st unix.Stat_t
		if err := unix.Stat(d, &st); err != nil {
			return fmt.Errorf("notify directory %s: %w", dir, err)
		}
		var bit uint32
		switch {
		case st.Uid == uid:
			bit = 0o100
		case st.Gid == gid || slices.Contains(groups, st.Gid):
			bit = 0o010
		default:
			bit = 0o001
		}
		if st.Mode&bit == 0 {
			return fmt.Errorf("directory %s is mode %04o (owner uid %d, group %d), which uid %d cannot pass through; let it pass (chmod o+x %s), or give shepherd a control socket (-s) in a directory others can enter: the notify sockets are in SOCKETDIR-notify",
				d, st.Mode&0o7777, st.Uid, st.Gid, uid, d)
		}
		if d == "/" {
			return nil
		}
	}
}
