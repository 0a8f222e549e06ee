// Package launch starts the processes of a simulated fleet for the scale
// tests and `make bench-scale`: fleetsim processes (exporters, relays),
// the operator's shepherd, and herd against it. Like internal/testsshd it
// starts real programs, so the reaper lint lets it use os/exec.
package launch

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/internal/fleetsim"
)

// Build builds shepherd, herd, herd-tools and fleetsim into dir; root is
// the module's root.
func Build(root, dir string) error {
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/shepherd", "./cmd/herd", "./cmd/herd/herd-tools", "./cmd/fleetsim")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

// Proc is a started program.
type Proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// PID is its process ID.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Kill ends it at once (SIGKILL), as a crash would, and waits for it.
func (p *Proc) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// Stop asks it to end (SIGTERM) and waits up to 20 s, then kills it.
func (p *Proc) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.Kill()
	}
}

func start(cmd *exec.Cmd, log string) (*Proc, error) {
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	// Should the test or bench be killed, its fleet goes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &Proc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

// Sim starts a fleetsim in dir with args and waits (up to deadline) until
// its hosts listen; it returns them.
func Sim(ctx context.Context, bin, dir string, args ...string) (*Proc, []fleetsim.Entry, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	out := filepath.Join(dir, "hosts.jsonl")
	p, err := start(exec.Command(filepath.Join(bin, "fleetsim"), append([]string{"-out", out}, args...)...), filepath.Join(dir, "log"))
	if err != nil {
		return nil, nil, err
	}
	if err := waitFile(ctx, p, out); err != nil {
		p.Kill()
		b, _ := os.ReadFile(filepath.Join(dir, "log"))
		return nil, nil, fmt.Errorf("fleetsim %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		p.Kill()
		return nil, nil, err
	}
	defer f.Close()
	var es []fleetsim.Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e fleetsim.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			p.Kill()
			return nil, nil, err
		}
		es = append(es, e)
	}
	return p, es, sc.Err()
}

// Shepherd is an operator's daemon: listening nowhere, it dials out.
type Shepherd struct {
	*Proc
	Bin, Dir, Socket string
}

// StartShepherd starts a shepherd with no services in dir.
func StartShepherd(ctx context.Context, bin, dir string, args ...string) (*Shepherd, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "services.yaml")
	if err := os.WriteFile(cfg, []byte("services: []\n"), 0o600); err != nil {
		return nil, err
	}
	s := &Shepherd{Bin: bin, Dir: dir, Socket: filepath.Join(dir, "socket")}
	pid := filepath.Join(dir, "pid")
	p, err := start(exec.Command(filepath.Join(bin, "shepherd"), append([]string{"-c", cfg, "-s", s.Socket,
		"--state", filepath.Join(dir, "state"), "--pid", pid, "-l", filepath.Join(dir, "log")}, args...)...), filepath.Join(dir, "out"))
	if err != nil {
		return nil, err
	}
	if err := waitFile(ctx, p, pid); err != nil {
		p.Kill()
		return nil, fmt.Errorf("shepherd in %s: %v", dir, err)
	}
	s.Proc = p
	return s, nil
}

// Herd runs herd against the shepherd; it returns the output (stdout and
// stderr) and the error of a non-zero exit.
func (s *Shepherd) Herd(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(s.Bin, "herd"), append([]string{"-s", s.Socket}, args...)...).CombinedOutput()
	return string(out), err
}

// waitFile waits until path exists, p ends, or ctx does.
func waitFile(ctx context.Context, p *Proc, path string) error {
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-p.done:
			return errors.New("ended before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}
