package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/actors/logger"
	"github.com/shepherd-go/shepherd/internal/proc"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/services"
	"golang.org/x/sys/unix"
)

// BenchmarkLogCapture pumps the output of `cat FILE` through the pump and
// a logger actor into a log file: the daemon's whole capture path without
// the spawn. Compare with BenchmarkCatToFile, the same bytes by cat alone.
func BenchmarkLogCapture(b *testing.B) {
	dir := b.TempDir()
	src := writeLines(b, dir)
	st, _ := os.Stat(src)
	system := actor.NewActorSystem()
	p, err := proc.NewPump(func(owner, msg any) { system.Root.Send(owner.(*actor.PID), msg) })
	if err != nil {
		b.Fatal(err)
	}
	go p.Run()
	defer p.Stop()
	want := st.Size() + int64(strings.Count(string(mustRead(b, src)), "\n"))*int64(len(proc.Stamp(time.Now())))
	b.SetBytes(st.Size())
	for i := 0; b.Loop(); i++ {
		logPath := filepath.Join(dir, fmt.Sprintf("out%d.log", i))
		pid := system.Root.Spawn(logger.NewProps("bench", logPath, -1, services.LogRotate{}, func(string, ...any) {}))
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
			b.Fatal(err)
		}
		unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, 1<<20)
		w := os.NewFile(uintptr(fds[1]), "w")
		cmd := exec.Command("cat", src)
		cmd.Stdout = w
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		w.Close()
		system.Root.Send(pid, &proc.Opened{})
		unix.SetNonblock(fds[0], true)
		if err := p.Add(fds[0], pid, proc.StreamOut); err != nil {
			b.Fatal(err)
		}
		cmd.Wait()
		for {
			time.Sleep(100 * time.Microsecond)
			fi, err := os.Stat(logPath)
			if err == nil && fi.Size() >= want {
				break
			}
		}
		system.Root.Stop(pid)
		os.Remove(logPath)
	}
}

func BenchmarkCatToFile(b *testing.B) {
	dir := b.TempDir()
	src := writeLines(b, dir)
	st, _ := os.Stat(src)
	b.SetBytes(st.Size())
	for i := 0; b.Loop(); i++ {
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("out%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command("cat", src)
		cmd.Stdout = out
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		out.Close()
		os.Remove(out.Name())
	}
}

func writeLines(b *testing.B, dir string) string {
	src := filepath.Join(dir, "lines.txt")
	var sb strings.Builder
	line := strings.Repeat("x", 91)
	for i := range 500_000 {
		fmt.Fprintf(&sb, "%07d %s\n", i, line)
	}
	if err := os.WriteFile(src, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return src
}

func mustRead(b *testing.B, path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}
