package filexfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"golang.org/x/sys/unix"
)

func newTestServer(t *testing.T) (*Server, *[]history.Event) {
	var evs []history.Event
	s := NewServer(func(e ...history.Event) { evs = append(evs, e...) })
	t.Cleanup(s.Close)
	return s, &evs
}

func call(t *testing.T, s *Server, action string, args ...string) wire.Reply {
	t.Helper()
	req := wire.Request{ID: 1, Service: "files", Action: action, Args: args}
	r, err := Parse(req)
	if err != nil {
		t.Fatalf("%s %q: %v", action, args, err)
	}
	return s.Serve(req, r, "uid 0", nil)
}

// push sends data in chunks of n bytes and returns the last reply.
func push(t *testing.T, s *Server, p string, mode string, data []byte, n int) wire.Reply {
	t.Helper()
	sum := sha256.Sum256(data)
	var rep wire.Reply
	for off := 0; off == 0 || off < len(data); off += n {
		end := min(off+n, len(data))
		rep = call(t, s, "file-write", p, mode, strconv.Itoa(len(data)), hex.EncodeToString(sum[:]), strconv.Itoa(off), base64.StdEncoding.EncodeToString(data[off:end]))
		if !rep.OK {
			return rep
		}
	}
	return rep
}

func leftovers(t *testing.T, dir string) []string {
	var names []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".herd-") {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestWriteReadStat(t *testing.T) {
	s, evs := newTestServer(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "app.conf")
	data := bytes.Repeat([]byte("0123456789"), 1000)
	rep := push(t, s, p, "0640", data, 3000)
	if !rep.OK {
		t.Fatalf("push: %+v", rep.Error)
	}
	var w wire.FileWritten
	json.Unmarshal(rep.Result, &w)
	if !w.Done || w.Received != int64(len(data)) {
		t.Fatalf("written: %+v", w)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file: %v (%d bytes)", err, len(got))
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode())
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("temporary files left: %v", l)
	}
	if len(*evs) != 1 || !strings.HasPrefix((*evs)[0].Action, "write ") {
		t.Errorf("history: %+v", *evs)
	}
	rep = call(t, s, "file-stat", "read", p)
	var st wire.FileStat
	json.Unmarshal(rep.Result, &st)
	sum := sha256.Sum256(data)
	if !st.Exists || st.Size != int64(len(data)) || st.SHA256 != hex.EncodeToString(sum[:]) || st.Mode != 0o640 {
		t.Errorf("stat: %+v", st)
	}
	rep = call(t, s, "file-read", p, strconv.Itoa(len(data)), "9000", "5000")
	var d wire.FileData
	json.Unmarshal(rep.Result, &d)
	if !bytes.Equal(d.Data, data[9000:]) {
		t.Errorf("read: %d bytes", len(d.Data))
	}
	rep = call(t, s, "file-stat", "write", filepath.Join(dir, "none"))
	json.Unmarshal(rep.Result, &st)
	if !rep.OK || st.Exists {
		t.Errorf("stat of a missing file: %+v %+v", rep.Error, st)
	}
	// An empty file is one chunk of nothing.
	if rep := push(t, s, filepath.Join(dir, "empty"), "0600", nil, 10); !rep.OK {
		t.Errorf("empty: %+v", rep.Error)
	}
}

// TestRefusals attacks the host side: symlinks as the file or as a
// parent, "..", too much data, a bad checksum. Every refusal reads the
// same, and nothing is left behind or changed.
func TestRefusals(t *testing.T) {
	s, _ := newTestServer(t)
	dir := t.TempDir()
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	os.WriteFile(secret, []byte("keep"), 0o600)
	os.Symlink(secret, filepath.Join(dir, "link"))
	os.Symlink(outside, filepath.Join(dir, "linkdir"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "ok"), []byte("old"), 0o644)

	want := Refused(wire.Request{Action: "file-write"}).Message
	for name, p := range map[string]string{
		"symlinked file":                      filepath.Join(dir, "link"),
		"symlinked parent":                    filepath.Join(dir, "linkdir", "secret"),
		"new file through a symlinked parent": filepath.Join(dir, "linkdir", "new"),
		"a directory":                         filepath.Join(dir, "sub"),
	} {
		rep := push(t, s, p, "0644", []byte("evil"), 10)
		if rep.OK || rep.Error.Kind != wire.PermissionDenied || rep.Error.Message != want {
			t.Errorf("%s: %+v", name, rep.Error)
		}
	}
	for name, p := range map[string]string{
		"dot-dot":      dir + "/sub/../link",
		"dot-dot out":  dir + "/../" + filepath.Base(outside) + "/secret",
		"not absolute": "tmp/x",
	} {
		req := wire.Request{ID: 1, Action: "file-write", Args: []string{p, "0644", "4", strings.Repeat("00", 32), "0", "ZXZpbA=="}}
		r, _ := Parse(req)
		rep := s.Serve(req, r, "uid 0", nil)
		if rep.OK || rep.Error.Message != want {
			t.Errorf("%s: %+v", name, rep.Error)
		}
	}
	if b, _ := os.ReadFile(secret); string(b) != "keep" {
		t.Fatalf("the file outside was changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Fatal("a file was created outside")
	}
	// A hard link to a file elsewhere is not read through.
	os.Link(secret, filepath.Join(dir, "hard"))
	if rep := call(t, s, "file-stat", "read", filepath.Join(dir, "hard")); rep.OK {
		t.Error("a hard link was read")
	}
	// Reads through symlinks are refused alike.
	for _, p := range []string{filepath.Join(dir, "link"), filepath.Join(dir, "linkdir", "secret")} {
		for _, action := range []string{"file-stat", "file-read"} {
			args := []string{"read", p}
			if action == "file-read" {
				args = []string{p, "4", "0", "4"}
			}
			rep := call(t, s, action, args...)
			if rep.OK || rep.Error.Message != Refused(wire.Request{Action: action}).Message {
				t.Errorf("%s %s: %+v", action, p, rep.Error)
			}
		}
	}

	// More bytes than announced: refused, the old file kept, nothing left.
	ok := filepath.Join(dir, "sub", "ok")
	sum := sha256.Sum256([]byte("new"))
	rep := call(t, s, "file-write", ok, "0644", "3", hex.EncodeToString(sum[:]), "0", base64.StdEncoding.EncodeToString([]byte("new and more")))
	if rep.OK || rep.Error.Message != want {
		t.Errorf("oversized: %+v", rep.Error)
	}
	// A checksum that does not hold.
	bad := sha256.Sum256([]byte("other"))
	rep = call(t, s, "file-write", ok, "0644", "3", hex.EncodeToString(bad[:]), "0", base64.StdEncoding.EncodeToString([]byte("new")))
	if rep.OK || !strings.Contains(rep.Error.Message, "not the") {
		t.Errorf("bad checksum: %+v", rep.Error)
	}
	// A chunk out of order.
	rep = call(t, s, "file-write", ok, "0644", "3", hex.EncodeToString(sum[:]), "1", base64.StdEncoding.EncodeToString([]byte("ew")))
	if rep.OK {
		t.Error("a chunk without its start was taken")
	}
	if b, _ := os.ReadFile(ok); string(b) != "old" {
		t.Errorf("the file was changed: %q", b)
	}
	if l := leftovers(t, filepath.Join(dir, "sub")); len(l) > 0 {
		t.Errorf("temporary files left: %v", l)
	}
	// A chunk larger than wire.FileChunk is refused before it is decoded.
	big := base64.StdEncoding.EncodeToString(make([]byte, wire.FileChunk+10))
	rep = call(t, s, "file-write", ok, "0644", strconv.Itoa(wire.FileChunk+10), strings.Repeat("00", 32), "0", big)
	if rep.OK {
		t.Error("an oversized chunk was taken")
	}
}

func TestParse(t *testing.T) {
	for _, args := range [][]string{
		{"/x", "9999", "1", strings.Repeat("00", 32), "0", ""},
		{"/x", "0644", "-1", strings.Repeat("00", 32), "0", ""},
		{"/x", "0644", "1", "zz", "0", ""},
		{"/x", "0644"},
	} {
		if _, err := Parse(wire.Request{Action: "file-write", Args: args}); err == nil {
			t.Errorf("%q: parsed", args)
		}
	}
	if _, err := Parse(wire.Request{Action: "file-stat", Args: []string{"exec", "/x"}}); err == nil {
		t.Error("file-stat with right exec parsed")
	}
}

// TestIdleUploadsDropped: an upload that stops is dropped and its
// temporary file removed.
func TestIdleUploadsDropped(t *testing.T) {
	s, _ := newTestServer(t)
	dir := t.TempDir()
	data := make([]byte, 100)
	sum := sha256.Sum256(data)
	rep := call(t, s, "file-write", filepath.Join(dir, "f"), "0644", "100", hex.EncodeToString(sum[:]), "0", base64.StdEncoding.EncodeToString(data[:50]))
	if !rep.OK || len(leftovers(t, dir)) != 1 {
		t.Fatalf("%+v %v", rep.Error, leftovers(t, dir))
	}
	now := s.now()
	s.now = func() time.Time { return now.Add(2 * uploadIdle) }
	rep = call(t, s, "file-write", filepath.Join(dir, "f"), "0644", "100", hex.EncodeToString(sum[:]), "50", base64.StdEncoding.EncodeToString(data[50:]))
	if rep.OK {
		t.Error("a dropped upload went on")
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Errorf("left: %v", l)
	}
}

// TestWalkBeneath: the fallback for kernels without openat2 refuses
// symlinks as openat2 does.
func TestWalkBeneath(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), nil, 0o600)
	os.Symlink(outside, filepath.Join(dir, "linkdir"))
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "f"), nil, 0o600)
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	for _, rel := range []string{"linkdir/secret", "link"} {
		if fd, err := walkBeneath(dfd, rel, unix.O_RDONLY, 0); err == nil {
			unix.Close(fd)
			t.Errorf("%s: opened", rel)
		}
	}
	fd, err := walkBeneath(dfd, "sub/f", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
}

// TestConcurrentRestartsOfOneUpload: a first chunk of a file whose upload
// is being written, sent by another request at that moment, does not
// close the upload's files under the writer (the race detector sees it
// if it does); each push ends written, dropped or refused as busy, and no
// temporary file is left.
func TestConcurrentRestartsOfOneUpload(t *testing.T) {
	s, _ := newTestServer(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	data := bytes.Repeat([]byte("0123456789abcdef"), 8)
	sum := sha256.Sum256(data)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				for off := 0; off < len(data); off += 16 {
					req := wire.Request{ID: 1, Service: "files", Action: "file-write", Args: []string{p, "0644", strconv.Itoa(len(data)),
						hex.EncodeToString(sum[:]), strconv.Itoa(off), base64.StdEncoding.EncodeToString(data[off : off+16])}}
					r, err := Parse(req)
					if err != nil {
						t.Error(err)
						return
					}
					if rep := s.Serve(req, r, "uid 0", nil); !rep.OK {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	if got, err := os.ReadFile(p); err == nil && !bytes.Equal(got, data) {
		t.Fatalf("the file holds %q", got)
	}
	s.Close()
	if l := leftovers(t, dir); len(l) > 0 {
		t.Fatalf("left behind: %v", l)
	}
}

// file-stat reads a file for its checksum only when the caller could use
// it: up to capability.DefaultMaxSize always, beyond it only when
// hashable (the caller's capability, asked with the real size) says so.
func TestStatHashesOnlyWhatTheCallerMayTransfer(t *testing.T) {
	s, _ := newTestServer(t)
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small"), filepath.Join(dir, "big")
	if err := os.WriteFile(small, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	size := capability.DefaultMaxSize + 1
	if err := f.Truncate(size); err != nil { // sparse: nothing is written
		t.Fatal(err)
	}
	f.Close()
	stat := func(p string, hashable func(int64) bool) wire.FileStat {
		t.Helper()
		req := wire.Request{ID: 1, Service: "files", Action: "file-stat", Args: []string{"read", p}}
		r, err := Parse(req)
		if err != nil {
			t.Fatal(err)
		}
		rep := s.Serve(req, r, "uid 1000", hashable)
		var st wire.FileStat
		if !rep.OK || json.Unmarshal(rep.Result, &st) != nil {
			t.Fatalf("file-stat %s: %+v", p, rep)
		}
		return st
	}
	var asked []int64
	no := func(n int64) bool { asked = append(asked, n); return false }
	if st := stat(small, no); st.SHA256 != "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" || len(asked) != 0 {
		t.Fatalf("a small file: %+v, asked %v", st, asked)
	}
	if st := stat(big, no); st.SHA256 != "" || st.Size != size || !slices.Equal(asked, []int64{size}) {
		t.Fatalf("a file past what the caller may read: %+v, asked %v; want its size and no checksum, and one question with its size", st, asked)
	}
	if st := stat(big, func(int64) bool { return true }); len(st.SHA256) != 64 {
		t.Fatalf("a file the caller may read whole: %+v, want its checksum", st)
	}
}

// One caller's half-written files take at most maxUploadsPerCaller of
// the slots: another caller can still push.
func TestUploadsPerCallerAreBounded(t *testing.T) {
	s, _ := newTestServer(t)
	dir := t.TempDir()
	data := bytes.Repeat([]byte("x"), 2*wire.FileChunk)
	sum := sha256.Sum256(data)
	begin := func(who string, i int) wire.Reply {
		req := wire.Request{ID: 1, Service: "files", Action: "file-write", Args: []string{filepath.Join(dir, fmt.Sprintf("%s-%d", who, i)), "0644",
			strconv.Itoa(len(data)), hex.EncodeToString(sum[:]), "0", base64.StdEncoding.EncodeToString(data[:wire.FileChunk])}}
		r, err := Parse(req)
		if err != nil {
			t.Fatal(err)
		}
		return s.Serve(req, r, who, nil)
	}
	for i := range maxUploadsPerCaller {
		if rep := begin("mallory", i); !rep.OK {
			t.Fatalf("mallory's upload %d: %+v", i, rep)
		}
	}
	rep := begin("mallory", maxUploadsPerCaller)
	if rep.OK || rep.Error.Message != "16 files of yours are being written here already; try again once they end" {
		t.Fatalf("mallory's upload past the bound: %+v", rep)
	}
	if rep := begin("alice", 0); !rep.OK {
		t.Fatalf("alice, while mallory holds his share: %+v", rep)
	}
}
