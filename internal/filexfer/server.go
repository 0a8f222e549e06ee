package filexfer

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"golang.org/x/sys/unix"
)

// Request is a file action's arguments, parsed.
type Request struct {
	Action string // file-stat, file-write, file-read
	// Right is the capability action the request needs: write or read.
	Right  string
	Path   string
	Mode   uint32
	Size   int64 // the whole file's (write, read)
	SHA256 string
	Offset int64
	Length int64
	Data   string // base64, decoded only once the capability holds
}

// IsFileAction says whether a request's action is one of this package's.
func IsFileAction(action string) bool {
	return action == "file-stat" || action == "file-write" || action == "file-read"
}

// Parse reads a file request's arguments; the error is for the caller.
func Parse(req wire.Request) (Request, error) {
	r := Request{Action: req.Action}
	a := req.Args
	num := func(s string) (int64, error) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s: %q is not a size", req.Action, s)
		}
		return n, nil
	}
	var err error
	switch req.Action {
	case "file-stat":
		if len(a) != 2 || a[0] != "write" && a[0] != "read" {
			return r, errors.New("file-stat: expected RIGHT PATH")
		}
		r.Right, r.Path = a[0], a[1]
	case "file-write":
		if len(a) != 6 {
			return r, errors.New("file-write: expected PATH MODE SIZE SHA256 OFFSET DATA")
		}
		r.Right, r.Path, r.SHA256, r.Data = "write", a[0], a[3], a[5]
		m, merr := strconv.ParseUint(a[1], 8, 32)
		if merr != nil || m > 0o777 {
			return r, fmt.Errorf("file-write: mode %q: expected octal permissions such as 0644", a[1])
		}
		r.Mode = uint32(m)
		if r.Size, err = num(a[2]); err != nil {
			return r, err
		}
		if r.Offset, err = num(a[4]); err != nil {
			return r, err
		}
		if b, herr := hex.DecodeString(r.SHA256); herr != nil || len(b) != sha256.Size {
			return r, errors.New("file-write: SHA256 is not a sha256 in hex")
		}
	case "file-read":
		if len(a) != 4 {
			return r, errors.New("file-read: expected PATH SIZE OFFSET LENGTH")
		}
		r.Right, r.Path = "read", a[0]
		if r.Size, err = num(a[1]); err != nil {
			return r, err
		}
		if r.Offset, err = num(a[2]); err != nil {
			return r, err
		}
		if r.Length, err = num(a[3]); err != nil {
			return r, err
		}
	default:
		return r, fmt.Errorf("%s: not a file action", req.Action)
	}
	return r, nil
}

// Limits bound what uploads in progress hold.
const (
	// maxUploads is how many files may be half-written at once, and
	// maxUploadsPerCaller how many of them one caller's: one holder of a
	// files capability cannot take every slot from the others.
	maxUploads          = 64
	maxUploadsPerCaller = 16
	// uploadIdle is how long an upload waits for its next chunk before
	// it is dropped and its temporary file removed.
	uploadIdle = time.Minute
	// maxHashed bounds the files file-stat reads for a checksum. A file
	// larger than capability.DefaultMaxSize is read only when the
	// caller's capability would let it read or write that many bytes:
	// a checksum it could not use would cost the host a read of the
	// whole file on every call.
	maxHashed = 4 << 30
)

// Server serves the file actions. Its zero value is not ready: use
// NewServer.
type Server struct {
	// Audit records events (the daemon's history writer).
	Audit func(...history.Event)

	mu      sync.Mutex
	uploads map[string]*upload // guarded by mu
	now     func() time.Time
}

// NewServer makes a Server.
func NewServer(audit func(...history.Event)) *Server {
	return &Server{Audit: audit, uploads: map[string]*upload{}, now: time.Now}
}

type upload struct {
	mu       sync.Mutex // held while a chunk is written
	dir      *os.File
	name     string // the file's, in dir
	tmp      string // the temporary file's, in dir
	f        *os.File
	h        hash.Hash
	received int64
	size     int64
	sum      string
	mode     uint32
	owner    *unix.Stat_t // the file replaced, kept when root
	last     time.Time
	gone     bool
	who      string // the caller, as the history names it
}

// Refused is the one answer to a path the caller may not use.
func Refused(req wire.Request) *wire.Error {
	target := capability.FilesTarget
	if req.Service == capability.ReadTarget {
		target = capability.ReadTarget
	}
	return wire.Errorf(wire.PermissionDenied, "permission denied: no capability for '%s' on '%s'", req.Action, target)
}

// Serve answers one file request whose capability the caller checked
// for r.Right, r.Path and r.Size. who names the caller in the history.
//
// The path is resolved from the root without following any symlink: the
// capability matched the path as written, so the file must be exactly
// there (a pattern must name real directories, /run rather than
// /var/run).
//
// hashable says whether file-stat may read a file of n bytes (more than
// capability.DefaultMaxSize) for its checksum; nil: any up to maxHashed.
func (s *Server) Serve(req wire.Request, r Request, who string, hashable func(n int64) bool) wire.Reply {
	return s.serve(req, r, "/", who, hashable)
}

// serve resolves r.Path beneath base (tests use a directory of theirs).
func (s *Server) serve(req wire.Request, r Request, base, who string, hashable func(int64) bool) wire.Reply {
	rel, ok := relative(base, r.Path)
	if !ok {
		return wire.ErrReply(req.ID, Refused(req))
	}
	var res any
	var err error
	switch r.Action {
	case "file-stat":
		res, err = s.stat(base, rel, hashable)
	case "file-read":
		res, err = s.read(base, rel, r)
	case "file-write":
		res, err = s.write(base, rel, r, who)
	}
	var werr *wire.Error
	switch {
	case errors.Is(err, errRefused):
		return wire.ErrReply(req.ID, Refused(req))
	case errors.As(err, &werr):
		return wire.ErrReply(req.ID, werr)
	case err != nil:
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%s %s: %v", r.Action, r.Path, err))
	}
	if r.Action == "file-read" && r.Offset+r.Length >= r.Size {
		target := capability.FilesTarget
		if req.Service == capability.ReadTarget {
			target = capability.ReadTarget
		}
		s.Audit(history.Event{Kind: history.KindAction, Service: target, Who: who, Action: "read " + r.Path, Result: fmt.Sprintf("%d bytes", r.Size)})
	}
	return wire.OKReply(req.ID, res)
}

// relative is p below base, or false when p is not strictly beneath it
// or not absolute and clean (no "." or ".." component, no "//").
func relative(base, p string) (string, bool) {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.ContainsRune(p, 0) {
		return "", false
	}
	if base == "/" {
		return p[1:], len(p) > 1
	}
	if len(p) <= len(base)+1 || p[:len(base)] != base || p[len(base)] != '/' {
		return "", false
	}
	return p[len(base)+1:], true
}

func (s *Server) stat(base, rel string, hashable func(int64) bool) (wire.FileStat, error) {
	f, err := openBeneath(base, rel, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return wire.FileStat{}, nil
	}
	if err != nil {
		return wire.FileStat{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return wire.FileStat{}, err
	}
	if !st.Mode().IsRegular() || linked(st) {
		return wire.FileStat{}, errRefused
	}
	out := wire.FileStat{Exists: true, Size: st.Size(), Mode: uint32(st.Mode().Perm())}
	n := st.Size()
	if n <= capability.DefaultMaxSize || n <= maxHashed && (hashable == nil || hashable(n)) {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return wire.FileStat{}, err
		}
		out.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	return out, nil
}

// linked says whether a file has other names: a hard link someone made
// in an allowed directory to a file elsewhere (where the kernel's
// protected_hardlinks does not stop it) is not read through.
func linked(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && sys.Nlink > 1
}

func (s *Server) read(base, rel string, r Request) (wire.FileData, error) {
	if r.Length > wire.FileReadChunk {
		return wire.FileData{}, fmt.Errorf("chunks are at most %d bytes", wire.FileReadChunk)
	}
	f, err := openBeneath(base, rel, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return wire.FileData{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return wire.FileData{}, err
	}
	if !st.Mode().IsRegular() || linked(st) {
		return wire.FileData{}, errRefused
	}
	if st.Size() != r.Size {
		return wire.FileData{}, fmt.Errorf("the file changed while it was read (now %d bytes); pull it again", st.Size())
	}
	n := min(r.Length, max(0, r.Size-r.Offset))
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, r.Offset); err != nil && !errors.Is(err, io.EOF) {
		return wire.FileData{}, err
	}
	return wire.FileData{Data: buf}, nil
}

func (s *Server) write(base, rel string, r Request, who string) (wire.FileWritten, error) {
	if r.Size-r.Offset > 0 && base64.StdEncoding.DecodedLen(len(r.Data)) > wire.FileChunk+3 {
		return wire.FileWritten{}, fmt.Errorf("chunks are at most %d bytes", wire.FileChunk)
	}
	data, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return wire.FileWritten{}, errors.New("DATA is not base64")
	}
	key := who + "\x00" + r.Path + "\x00" + r.SHA256 + "\x00" + strconv.FormatInt(r.Size, 10)
	u, err := s.upload(key, base, rel, r, who)
	if err != nil {
		return wire.FileWritten{}, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	fail := func(err error) (wire.FileWritten, error) {
		s.drop(key, u)
		return wire.FileWritten{}, err
	}
	if u.gone {
		return wire.FileWritten{}, errors.New("the upload was dropped (idle too long); push again")
	}
	if r.Offset != u.received {
		return fail(fmt.Errorf("chunk at %d, expected %d; push again", r.Offset, u.received))
	}
	if u.received+int64(len(data)) > u.size {
		return fail(errRefused)
	}
	if _, err := u.f.Write(data); err != nil {
		return fail(err)
	}
	u.h.Write(data)
	u.received += int64(len(data))
	u.last = s.now()
	if u.received < u.size {
		return wire.FileWritten{Received: u.received}, nil
	}
	if got := hex.EncodeToString(u.h.Sum(nil)); got != u.sum {
		return fail(fmt.Errorf("the file arrived with sha256 %s, not the %s announced; push again", got, u.sum))
	}
	if err := u.commit(); err != nil {
		return fail(err)
	}
	s.drop(key, u)
	s.Audit(history.Event{Kind: history.KindAction, Service: capability.FilesTarget, Who: who, Action: "write " + r.Path,
		Result: fmt.Sprintf("%d bytes, mode %04o, sha256 %s", u.size, u.mode, u.sum)})
	return wire.FileWritten{Received: u.received, Done: true}, nil
}

// upload finds the upload of key, or at offset 0 starts it (replacing
// one that started before).
func (s *Server) upload(key, base, rel string, r Request, who string) (*upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	u := s.uploads[key]
	if r.Offset > 0 {
		if u == nil {
			return nil, errors.New("no upload of this file is in progress (it was dropped or never started); push again")
		}
		return u, nil
	}
	if u != nil {
		// As sweepLocked: a chunk of it may be being written (u.mu
		// held), and dropping it then would close its files under it.
		if !u.mu.TryLock() {
			return nil, wire.Errorf(wire.Timeout, "this file is being written already; push again once that ends")
		}
		s.dropLocked(key, u)
		u.mu.Unlock()
	}
	if len(s.uploads) >= maxUploads {
		return nil, wire.Errorf(wire.Timeout, "%d files are being written here already; try again later", maxUploads)
	}
	mine := 0
	for _, o := range s.uploads {
		if o.who == who {
			mine++
		}
	}
	if mine >= maxUploadsPerCaller {
		return nil, wire.Errorf(wire.Timeout, "%d files of yours are being written here already; try again once they end", maxUploadsPerCaller)
	}
	u, err := start(base, rel, r, who)
	if err != nil {
		return nil, err
	}
	u.last = s.now()
	s.uploads[key] = u
	return u, nil
}

// start opens the file's directory beneath base and a new temporary
// file in it.
func start(base, rel string, r Request, who string) (*upload, error) {
	dirRel, name := path.Split(rel)
	var dir *os.File
	var err error
	if dirRel == "" {
		dir, err = os.OpenFile(base, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	} else {
		dir, err = openBeneath(base, path.Clean(dirRel), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("directory %s does not exist on the host; create it first", path.Dir(r.Path))
	}
	if err != nil {
		return nil, err
	}
	u := &upload{dir: dir, name: name, h: sha256.New(), size: r.Size, sum: r.SHA256, mode: r.Mode, who: who}
	var st unix.Stat_t
	switch err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG:
		dir.Close()
		return nil, errRefused // a symlink, a directory, a device
	case err == nil:
		u.owner = &st
	case !errors.Is(err, unix.ENOENT):
		dir.Close()
		return nil, err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	u.tmp = "." + name + ".herd-" + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(int(dir.Fd()), u.tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		dir.Close()
		return nil, err
	}
	u.f = os.NewFile(uintptr(fd), u.tmp)
	return u, nil
}

// commit gives the complete temporary file its mode (and owner), syncs
// it and renames it over the file. Held: u.mu.
func (u *upload) commit() error {
	if err := u.f.Chmod(os.FileMode(u.mode)); err != nil {
		return err
	}
	if u.owner != nil && os.Geteuid() == 0 {
		if err := u.f.Chown(int(u.owner.Uid), int(u.owner.Gid)); err != nil {
			return err
		}
	}
	if err := u.f.Sync(); err != nil {
		return err
	}
	if err := u.f.Close(); err != nil {
		return err
	}
	u.f = nil
	dfd := int(u.dir.Fd())
	// The file may have become a symlink or a directory since the start:
	// rename would replace a symlink itself, never its target, but say no
	// all the same.
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, u.name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errRefused
	}
	if err := unix.Renameat(dfd, u.tmp, dfd, u.name); err != nil {
		return err
	}
	u.tmp = ""
	return u.dir.Sync()
}

func (s *Server) drop(key string, u *upload) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked(key, u)
}

// dropLocked ends an upload: its temporary file is removed unless it was
// renamed into place. Held: s.mu (u.mu may be held too: the fields it
// touches are only touched under s.mu once gone is set).
func (s *Server) dropLocked(key string, u *upload) {
	if s.uploads[key] == u {
		delete(s.uploads, key)
	}
	if u.gone {
		return
	}
	u.gone = true
	if u.f != nil {
		u.f.Close()
	}
	if u.tmp != "" {
		unix.Unlinkat(int(u.dir.Fd()), u.tmp, 0)
	}
	u.dir.Close()
}

// sweepLocked drops uploads idle for longer than uploadIdle. Held: s.mu.
func (s *Server) sweepLocked() {
	now := s.now()
	for k, u := range s.uploads {
		if u.mu.TryLock() {
			if now.Sub(u.last) > uploadIdle {
				s.dropLocked(k, u)
			}
			u.mu.Unlock()
		}
	}
}

// Close drops every upload in progress. Lock order: an upload's mu,
// then s.mu (sweepLocked only tries an upload's).
func (s *Server) Close() {
	s.mu.Lock()
	all := make(map[string]*upload, len(s.uploads))
	for k, u := range s.uploads {
		all[k] = u
	}
	s.mu.Unlock()
	for k, u := range all {
		u.mu.Lock()
		s.drop(k, u)
		u.mu.Unlock()
	}
}

// Handles says whether req is a file request: service files, or a read
// of service read (capability.ReadTarget: file-stat and file-read only,
// never a write; the capability check asks the right "read" of both).
func (s *Server) Handles(req wire.Request) bool {
	if req.Service == capability.ReadTarget {
		return req.Action == "file-stat" || req.Action == "file-read"
	}
	return req.Service == capability.FilesTarget && IsFileAction(req.Action)
}

// Subject is what a request asks of a file capability: the right, the
// path and the size (zero for requests that are not file actions; a
// malformed one asks for a right no grant has, and ServeRequest refuses
// it anyway).
func (s *Server) Subject(req wire.Request) capability.FileSubject {
	if !IsFileAction(req.Action) {
		return capability.FileSubject{}
	}
	r, err := Parse(req)
	if err != nil {
		return capability.FileSubject{Right: "malformed"}
	}
	return capability.FileSubject{Right: r.Right, Path: r.Path, Size: r.Size}
}

// ServeRequest parses and serves a file request whose capability the
// daemon checked (Subject); hashable is Serve's.
func (s *Server) ServeRequest(req wire.Request, who string, hashable func(n int64) bool) wire.Reply {
	r, err := Parse(req)
	if err != nil {
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err))
	}
	if req.Service == capability.ReadTarget && r.Right != capability.ReadAction {
		return wire.ErrReply(req.ID, Refused(req))
	}
	return s.Serve(req, r, who, hashable)
}
