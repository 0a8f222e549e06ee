package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// LocalFile is a file to push: where it is, its size, mode and sha256.
type LocalFile struct {
	Path   string
	Size   int64
	Mode   os.FileMode // permission bits only
	SHA256 string
}

// StatLocal reads a file to push once, for its checksum.
func StatLocal(p string) (LocalFile, error) {
	f, err := os.Open(p)
	if err != nil {
		return LocalFile{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return LocalFile{}, err
	}
	if !st.Mode().IsRegular() {
		return LocalFile{}, fmt.Errorf("%s: not a regular file", p)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return LocalFile{}, fmt.Errorf("%s: %w", p, err)
	}
	return LocalFile{Path: p, Size: n, Mode: st.Mode().Perm(), SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Op is one file operation (push, pull, ping) on one host; a Result
// always comes back.
type Op func(ctx context.Context, h *Host) Result

// RunOp runs op on every host, as Run runs a command.
func RunOp(ctx context.Context, hosts []*Host, fanout int, op Op, each func(Result)) []Result {
	return Run(ctx, hosts, nil, fanout, 0, func(ctx context.Context, h *Host, _ []string, _ time.Duration) Result {
		return op(ctx, h)
	}, each)
}

// The outputs of file operations, which group hosts alike.
const (
	OutUnchanged = "unchanged\n"
	OutReachable = "reachable\n"
)

func outWritten(n int64) string  { return fmt.Sprintf("written (%d bytes)\n", n) }
func outReceived(n int64) string { return fmt.Sprintf("received (%d bytes)\n", n) }

func failed(kind, format string, args ...any) Result {
	return Result{ExitCode: -1, Kind: kind, Err: fmt.Sprintf(format, args...)}
}

// noFilesCap is the result for a shepherd host without a files: key.
func noFilesCap(h *Host) Result {
	return failed("no-capability", "no file capability: give host %s a files: key in the inventory (the host grants it with herd cap grant files --path ...)", h.Name)
}

// CapCall is one request to service with the capability ref, relayed by
// the local daemon.
func CapCall(ctx context.Context, c *local.Client, service, ref, action string, out any, args ...string) *Result {
	rep, err := c.Call(ctx, wire.Request{Service: service, Action: action, Args: args, Cap: ref})
	if err != nil {
		kind := string(wire.Unreachable)
		if errors.Is(err, context.DeadlineExceeded) {
			kind = string(wire.Timeout)
		}
		r := failed(kind, "%v", err)
		return &r
	}
	if !rep.OK {
		r := failed(string(rep.Error.Kind), "%s", rep.Error.Message)
		return &r
	}
	if err := json.Unmarshal(rep.Result, out); err != nil {
		r := failed("bad-reply", "%v", err)
		return &r
	}
	return nil
}

// ShepherdPush pushes f to dest on hosts that run a shepherd, through
// their file capabilities, relayed by the local daemon at socket. A host
// whose dest already has f's checksum and mode is sent nothing, unless
// force.
func ShepherdPush(socket string, f LocalFile, dest string, timeout time.Duration, force bool) Op {
	return func(ctx context.Context, h *Host) Result {
		if h.FilesRef == nil {
			return noFilesCap(h)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		c, err := local.Dial(ctx, socket)
		if err != nil {
			return failed("unreachable", "the local shepherd relays fleet calls: %v", err)
		}
		defer c.Close()
		var st wire.FileStat
		if r := CapCall(ctx, c, "files", h.Files, "file-stat", &st, "write", dest); r != nil {
			return *r
		}
		if !force && st.Exists && st.SHA256 == f.SHA256 && os.FileMode(st.Mode) == f.Mode {
			return Result{Output: OutUnchanged}
		}
		src, err := os.Open(f.Path)
		if err != nil {
			return failed("local", "%v", err)
		}
		defer src.Close()
		buf := make([]byte, wire.FileChunk)
		mode, size := fmt.Sprintf("%04o", uint32(f.Mode)), strconv.FormatInt(f.Size, 10)
		var sent int64
		for first := true; first || sent < f.Size; first = false {
			n, err := io.ReadFull(src, buf[:min(int64(len(buf)), f.Size-sent)])
			if err != nil && n == 0 && f.Size > 0 {
				return failed("local", "%s changed while it was pushed: %v", f.Path, err)
			}
			var w wire.FileWritten
			if r := CapCall(ctx, c, "files", h.Files, "file-write", &w, dest, mode, size, f.SHA256, strconv.FormatInt(sent, 10),
				base64.StdEncoding.EncodeToString(buf[:n])); r != nil {
				return *r
			}
			sent += int64(n)
		}
		return Result{Output: outWritten(sent), Bytes: sent}
	}
}

// PulledPath is where fleet pull puts host's copy of src: DESTDIR/HOST/NAME.
func PulledPath(destDir, host, src string) string {
	return filepath.Join(destDir, host, path.Base(src))
}

// sameLocal says whether the file at p has the checksum sum.
func sameLocal(p, sum string) bool {
	f, err := StatLocal(p)
	return err == nil && sum != "" && f.SHA256 == sum
}

// ShepherdPull fetches src from hosts that run a shepherd into
// DESTDIR/HOST/, chunk by chunk, checking its checksum; a copy already
// there with the same checksum is not fetched again.
func ShepherdPull(socket, src, destDir string, timeout time.Duration) Op {
	return func(ctx context.Context, h *Host) Result {
		if h.FilesRef == nil {
			return noFilesCap(h)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		c, err := local.Dial(ctx, socket)
		if err != nil {
			return failed("unreachable", "the local shepherd relays fleet calls: %v", err)
		}
		defer c.Close()
		var st wire.FileStat
		if r := CapCall(ctx, c, "files", h.Files, "file-stat", &st, "read", src); r != nil {
			return *r
		}
		if !st.Exists {
			return failed("not-found", "%s does not exist", src)
		}
		dest := PulledPath(destDir, h.Name, src)
		if sameLocal(dest, st.SHA256) {
			return Result{Output: OutUnchanged}
		}
		var got int64
		err = writeLocal(dest, os.FileMode(st.Mode), st.SHA256, func(w io.Writer) error {
			for got < st.Size {
				var d wire.FileData
				if r := CapCall(ctx, c, "files", h.Files, "file-read", &d, src, strconv.FormatInt(st.Size, 10), strconv.FormatInt(got, 10),
					strconv.Itoa(wire.FileReadChunk)); r != nil {
					return errors.New(r.Err)
				}
				if len(d.Data) == 0 {
					return fmt.Errorf("%s ended at %d bytes, not %d", src, got, st.Size)
				}
				if _, err := w.Write(d.Data); err != nil {
					return err
				}
				got += int64(len(d.Data))
			}
			return nil
		})
		if err != nil {
			return failed("failed", "%v", err)
		}
		return Result{Output: outReceived(got), Bytes: got}
	}
}

// writeLocal writes a pulled file atomically: a temporary file beside
// dest, filled by fill, checked against sum (when the host gave one),
// synced, then renamed over dest.
func writeLocal(dest string, mode os.FileMode, sum string, fill func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".herd-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	if err := fill(io.MultiWriter(tmp, h)); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); sum != "" && got != sum {
		return fmt.Errorf("the copy has sha256 %s, not the host's %s (the file changed while it was read?); pull again", got, sum)
	}
	// The host says the mode; it may not make our copy writable by
	// others than its owner.
	if err := tmp.Chmod(mode.Perm() &^ 0o022); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dest)
}

// ShepherdPing measures the libp2p round trip to hosts that run a
// shepherd, from the local daemon at socket.
func ShepherdPing(socket string, timeout time.Duration) Op {
	return func(ctx context.Context, h *Host) Result {
		ctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
		defer cancel()
		c, err := local.Dial(ctx, socket)
		if err != nil {
			return failed("unreachable", "the local shepherd relays fleet calls: %v", err)
		}
		defer c.Close()
		rep, err := c.Call(ctx, wire.Request{Action: "fleet-ping", Args: []string{h.Address}})
		if err != nil {
			return failed("unreachable", "%v", err)
		}
		if !rep.OK {
			return failed(string(rep.Error.Kind), "%s", rep.Error.Message)
		}
		var p wire.PingResult
		if err := json.Unmarshal(rep.Result, &p); err != nil {
			return failed("bad-reply", "%v", err)
		}
		return Result{Output: OutReachable, Duration: time.Duration(p.RTT).Seconds()}
	}
}
