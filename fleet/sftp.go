package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// File operations on SSH hosts go over SFTP (OpenSSH's sftp subsystem)
// on the run's connection to the host, as the SSH user: that user's
// permissions, not a file capability, bound what is written or read.

// session takes one of cn's sessions for the length of fn, within ctx.
func (cn *conn) session(ctx context.Context, fn func() Result) Result {
	select {
	case cn.sessions <- struct{}{}:
		defer func() { <-cn.sessions }()
	case <-ctx.Done():
		return failed("timeout", "%v", ctx.Err())
	}
	return fn()
}

// remoteSum is the sha256 of p on the host (sha256sum over a session), ""
// when it cannot tell (no such file, no sha256sum).
func remoteSum(cn *conn, p string) string {
	sess, err := cn.c.NewSession()
	if err != nil {
		return ""
	}
	defer sess.Close()
	out, err := sess.Output("sha256sum -- " + ShellQuote([]string{p}) + " 2>/dev/null")
	if err != nil {
		return ""
	}
	sum, _, _ := strings.Cut(string(out), " ")
	if len(sum) != 64 {
		return ""
	}
	return sum
}

// sftpOp runs fn with an SFTP client on the host's connection, within
// timeout; fn's error becomes the Result's.
func (s *SSH) sftpOp(ctx context.Context, h *Host, timeout time.Duration, fn func(cn *conn, c *sftp.Client) Result) Result {
	cn, res := s.connect(ctx, h, timeout)
	if cn == nil {
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The SFTP session is opened here rather than by sftp.NewClient, so
	// that a timeout can cut it off on this side: an operation stuck on
	// the host (fn takes no context), or the handshake itself, then fails
	// at once, gives the connection's session slot back, and sends
	// nothing more (a push that wakes up late renames nothing). Closing
	// the session alone is not enough: sshd answers the close only once
	// the stuck sftp server has exited.
	var (
		mu   sync.Mutex
		stop func()
		over bool
	)
	done := make(chan Result, 1)
	go func() {
		done <- cn.session(ctx, func() Result {
			c, cut, err := sftpClient(cn.c, func(cut func()) bool {
				mu.Lock()
				defer mu.Unlock()
				stop = cut
				return !over
			})
			if err != nil {
				if ctx.Err() != nil {
					return failed("timeout", "%s: timed out after %v", h.SSH, timeout)
				}
				return failed("unreachable", "%s: sftp: %v", h.SSH, err)
			}
			defer cut()
			defer c.Close()
			return fn(cn, c)
		})
	}()
	select {
	case r := <-done:
		return r
	case <-ctx.Done():
		mu.Lock()
		over = true
		if stop != nil {
			stop()
		}
		mu.Unlock()
		return failed("timeout", "%s: timed out after %v", h.SSH, timeout)
	}
}

// errCutOff ends an SFTP session cut off by its timeout.
var errCutOff = errors.New("cut off")

// sftpClient starts the sftp subsystem in a new session on c. Before it
// waits for the host, it hands cut (which ends the session on this side)
// to register; if register says it is too late, it gives up.
func sftpClient(c *ssh.Client, register func(cut func()) bool) (*sftp.Client, func(), error) {
	sess, err := c.NewSession()
	if err != nil {
		return nil, nil, err
	}
	w, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, nil, err
	}
	r, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return nil, nil, err
	}
	// The client reads the host through a pipe that cut closes here,
	// whatever the host does.
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, r)
		pw.CloseWithError(err)
	}()
	cut := sync.OnceFunc(func() {
		pw.CloseWithError(errCutOff)
		sess.Close()
	})
	if !register(cut) {
		cut()
		return nil, nil, errCutOff
	}
	if err := sess.RequestSubsystem("sftp"); err != nil {
		cut()
		return nil, nil, err
	}
	client, err := sftp.NewClientPipe(pr, w, sftp.UseConcurrentWrites(true))
	if err != nil {
		cut()
		return nil, nil, err
	}
	return client, cut, nil
}

// Push writes f to dest on an SSH host: unless dest already has f's
// checksum and mode, into a temporary file beside it, synced
// (fsync@openssh.com) and renamed over it (posix-rename@openssh.com),
// with f's mode and, when logged in as root, the owner of the file it
// replaces. force sends it even where it is already.
func (s *SSH) Push(ctx context.Context, h *Host, f LocalFile, dest string, timeout time.Duration, force bool) Result {
	return s.sftpOp(ctx, h, timeout, func(cn *conn, c *sftp.Client) Result {
		old, err := c.Lstat(dest)
		switch {
		case err == nil && !old.Mode().IsRegular():
			return failed("permission-denied", "%s: %s is not a regular file", h.SSH, dest)
		case !force && err == nil && old.Mode().Perm() == f.Mode && remoteSum(cn, dest) == f.SHA256:
			return Result{Output: OutUnchanged}
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return failed("failed", "%s: %s: %v", h.SSH, dest, err)
		}
		src, err := os.Open(f.Path)
		if err != nil {
			return failed("local", "%v", err)
		}
		defer src.Close()
		var rnd [6]byte
		rand.Read(rnd[:])
		tmp := path.Join(path.Dir(dest), "."+path.Base(dest)+".herd-"+hex.EncodeToString(rnd[:]))
		w, err := c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
		if err != nil {
			return failed("failed", "%s: %s: %v", h.SSH, tmp, err)
		}
		fail := func(err error) Result {
			w.Close()
			c.Remove(tmp)
			return failed("failed", "%s: %s: %v", h.SSH, dest, err)
		}
		n, err := w.ReadFrom(io.LimitReader(src, f.Size))
		if err != nil {
			return fail(err)
		}
		if n != f.Size {
			return fail(fmt.Errorf("%s changed while it was pushed", f.Path))
		}
		if err := w.Chmod(f.Mode); err != nil {
			return fail(err)
		}
		if st, ok := statOwner(old); ok && h.SSH.User == "root" {
			if err := w.Chown(int(st.UID), int(st.GID)); err != nil {
				return fail(err)
			}
		}
		if err := w.Sync(); err != nil && !errors.Is(err, sftp.ErrSSHFxOpUnsupported) {
			return fail(err)
		}
		if err := w.Close(); err != nil {
			return fail(err)
		}
		if err := c.PosixRename(tmp, dest); err != nil {
			c.Remove(tmp)
			return failed("failed", "%s: %s: %v", h.SSH, dest, err)
		}
		return Result{Output: outWritten(n), Bytes: n}
	})
}

func statOwner(fi os.FileInfo) (*sftp.FileStat, bool) {
	if fi == nil {
		return nil, false
	}
	st, ok := fi.Sys().(*sftp.FileStat)
	return st, ok
}

// Pull fetches src from an SSH host into DESTDIR/HOST/, unless the copy
// there already has its checksum.
func (s *SSH) Pull(ctx context.Context, h *Host, src, destDir string, timeout time.Duration) Result {
	return s.sftpOp(ctx, h, timeout, func(cn *conn, c *sftp.Client) Result {
		r, err := c.Open(src)
		if err != nil {
			kind := "failed"
			if errors.Is(err, os.ErrNotExist) {
				kind = "not-found"
			}
			return failed(kind, "%s: %s: %v", h.SSH, src, err)
		}
		defer r.Close()
		st, err := r.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return failed("failed", "%s: %s is not a regular file", h.SSH, src)
		}
		dest := PulledPath(destDir, h.Name, src)
		sum := remoteSum(cn, src)
		if sameLocal(dest, sum) {
			return Result{Output: OutUnchanged}
		}
		var n int64
		err = writeLocal(dest, st.Mode().Perm(), sum, func(w io.Writer) error {
			n, err = r.WriteTo(w)
			return err
		})
		if err != nil {
			return failed("failed", "%s: %v", h.SSH, err)
		}
		return Result{Output: outReceived(n), Bytes: n}
	})
}

// Ping measures an SSH host: connecting (once per run), then the round
// trip of a keepalive request on the connection.
func (s *SSH) Ping(ctx context.Context, h *Host, timeout time.Duration) Result {
	cn, res := s.connect(ctx, h, timeout)
	if cn == nil {
		return res
	}
	t0 := time.Now()
	if _, _, err := cn.c.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		return failed("unreachable", "%s: %v", h.SSH, err)
	}
	return Result{Output: OutReachable, Duration: time.Since(t0).Seconds()}
}
