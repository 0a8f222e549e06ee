package proc

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// DefaultPath is the PATH of a service whose environment names none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Spec is a process to start.
type Spec struct {
	// Path is the executable (see LookPath), Argv its arguments (Argv[0]
	// included).
	Path string
	Argv []string
	Env  []string
	Dir  string
	// Creds, when set, is who the process runs as.
	Creds *Creds
	// Settings, when set, are applied by the trampoline (Trampoline, the
	// daemon's own binary) before it execs Path.
	Settings   *Settings
	Trampoline string
	// Stdin is the process's standard input (/dev/null, say).
	Stdin *os.File
	// Stdout, when set, is the process's standard output (an inetd-style
	// connection); the output pipe then carries its stderr only.
	Stdout *os.File
	// Stderr, when set, is the process's standard error (a pipe of its
	// own, for a service with stderr-log-file); the output pipe then
	// carries its stdout only.
	Stderr *os.File
	// ExtraFiles are passed as fds 3, 4, ... (the listening sockets of
	// socket activation, s6's notification fd); a -1 is a descriptor
	// left closed; everything else the daemon holds is close-on-exec.
	ExtraFiles []int
	// Cgroup, when set, is the cgroup (v2) directory the process starts
	// in: it is placed there by the fork itself (clone3
	// CLONE_INTO_CGROUP), so that it never runs outside it, not even for
	// the moment between fork and exec.
	Cgroup string
}

// Start starts spec in a new session (so that its group can be signalled
// as a whole), with stdout and stderr on a fresh pipe whose read end
// (close-on-exec, blocking) it returns with the PID and a Handle on the
// process, taken at the fork (the caller closes it). Only fds 0-2 (and
// ExtraFiles) reach the process. It never waits for it: the one reaper
// does (Reap).
func Start(spec Spec) (pid int, out int, h *Handle, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return 0, -1, nil, fmt.Errorf("create output pipe: %w", err)
	}
	r, w := p[0], p[1]
	exe, argv, env := spec.Path, spec.Argv, spec.Env
	// The pidfd is taken by the fork itself (CLONE_PIDFD): opened later,
	// the process could already be reaped and its PID another's.
	pidfd := -1
	sys := &syscall.SysProcAttr{Setsid: true, PidFD: &pidfd}
	if spec.Cgroup != "" {
		fd, err := unix.Open(spec.Cgroup, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			unix.Close(r)
			unix.Close(w)
			return 0, -1, nil, fmt.Errorf("open cgroup %s: %w", spec.Cgroup, err)
		}
		defer unix.Close(fd)
		sys.UseCgroupFD, sys.CgroupFD = true, fd
	}
	switch {
	case spec.Settings != nil:
		settings := *spec.Settings
		settings.Path, settings.Creds = spec.Path, spec.Creds
		b, _ := json.Marshal(settings)
		exe, argv = spec.Trampoline, append([]string{TrampolineName}, spec.Argv...)
		env = append(slices.Clone(spec.Env), settingsEnv+"="+string(b))
	case spec.Creds != nil:
		sys.Credential = &syscall.Credential{Uid: spec.Creds.UID, Gid: spec.Creds.GID, Groups: spec.Creds.Groups}
	}
	files := []uintptr{spec.Stdin.Fd(), uintptr(w), uintptr(w)}
	if spec.Stdout != nil {
		files[1] = spec.Stdout.Fd()
	}
	if spec.Stderr != nil {
		files[2] = spec.Stderr.Fd()
	}
	for _, fd := range spec.ExtraFiles {
		files = append(files, uintptr(fd))
	}
	pid, err = syscall.ForkExec(exe, argv, &syscall.ProcAttr{
		Dir:   spec.Dir,
		Env:   env,
		Files: files,
		Sys:   sys,
	})
	// The child holds its own copy; ours would keep the pipe open forever.
	unix.Close(w)
	if err != nil {
		unix.Close(r)
		if spec.Dir != "" && err == syscall.ENOENT {
			if _, serr := os.Stat(spec.Dir); serr != nil {
				return 0, -1, nil, fmt.Errorf("chdir %s: %w", spec.Dir, serr)
			}
		}
		return 0, -1, nil, fmt.Errorf("exec %s: %w", spec.Path, err)
	}
	return pid, r, newHandle(pid, pidfd, true), nil
}

// EnvPath is the PATH of a child's environment.
func EnvPath(env []string) string {
	path := DefaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	return path
}

// LookPath finds file in the child's PATH, not ours.
func LookPath(file, path string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %s: executable file not found in PATH (%s)", file, path)
}
