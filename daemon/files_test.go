package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/internal/tail"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestFileStatHashesWithinTheGrantsSize: file-stat of a file larger than
// the default size limit gives a capability holder its checksum only
// when its grant's --max-size covers the file; otherwise the host does
// not read the file at all (a caller could make it read gigabytes on
// every call for a checksum it cannot use).
func TestFileStatHashesWithinTheGrantsSize(t *testing.T) {
	d, _ := startDaemon(t, "services: []\n")
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	size := capability.DefaultMaxSize + 1
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	grant := func(maxSize int64) string {
		t.Helper()
		var info wire.CapInfo
		args := fmt.Sprintf(`{"service":"files","actions":["read"],"paths":[%q],"max_size":%d,"user":"nobody"}`, dir+"/**", maxSize)
		if e := call(t, d, wire.Request{Action: "cap-grant", Args: []string{args}}, &info); e != nil {
			t.Fatal(e)
		}
		return info.Ref
	}
	a := &api{d: d}
	stat := func(ref string) wire.FileStat {
		t.Helper()
		out := &collect{}
		a.ServeRequest(context.Background(), local.Peer{UID: 65534}, wire.Request{ID: 1, Service: "files", Action: "file-stat", Args: []string{"read", big}, Cap: ref}, out)
		out.mu.Lock()
		defer out.mu.Unlock()
		var st wire.FileStat
		if len(out.replies) != 1 || !out.replies[0].OK || json.Unmarshal(out.replies[0].Result, &st) != nil {
			t.Fatalf("file-stat: %+v", out.replies)
		}
		return st
	}
	if st := stat(grant(0)); st.Size != size || st.SHA256 != "" {
		t.Fatalf("within the default limit: %+v, want the size and no checksum", st)
	}
	if st := stat(grant(2 * capability.DefaultMaxSize)); st.Size != size || len(st.SHA256) != 64 {
		t.Fatalf("a grant of 128 MiB: %+v, want the checksum", st)
	}
}

// holdAfterFirst collects a stream's lines; its first reply waits for
// release, so that a test can change the file between two reads.
type holdAfterFirst struct {
	mu      sync.Mutex
	lines   []string
	n       int
	first   chan struct{}
	release chan struct{}
}

func (h *holdAfterFirst) Send(r wire.Reply) bool {
	var l tail.Lines
	if !r.OK || json.Unmarshal(r.Result, &l) != nil {
		return false
	}
	h.mu.Lock()
	h.lines = append(h.lines, l.Lines...)
	h.n++
	n := h.n
	h.mu.Unlock()
	if n == 1 {
		close(h.first)
		<-h.release
	}
	return true
}

func (h *holdAfterFirst) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lines)
}

// TestTailReadsTheCopyTheGrantAllows: a tail through a read capability
// reads a copytruncate copy (app.log.1) for the lines it had not read
// when the file was truncated, only when the grant's allow-list covers
// the copy too.
func TestTailReadsTheCopyTheGrantAllows(t *testing.T) {
	oldPoll := tail.Poll
	tail.Poll = 10 * time.Millisecond
	defer func() { tail.Poll = oldPoll }()
	d, _ := startDaemon(t, "services: []\n")
	a := &api{d: d}
	for _, tt := range []struct {
		name, allow string
		want        []string
	}{
		{"the grant covers the copy", "/**", []string{"first", "second", "third"}},
		{"the grant names the file alone", "/app.log", []string{"first", "third"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			os.WriteFile(log, []byte("first\n"), 0o644)
			var info wire.CapInfo
			if e := call(t, d, wire.Request{Action: "cap-grant", Args: []string{fmt.Sprintf(`{"service":"read","allow":[%q],"user":"nobody"}`, dir+tt.allow)}}, &info); e != nil {
				t.Fatal(e)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &holdAfterFirst{first: make(chan struct{}), release: make(chan struct{})}
			done := make(chan struct{})
			go func() {
				defer close(done)
				a.ServeRequest(ctx, local.Peer{UID: 65534}, wire.Request{ID: 1, Service: "read", Action: tail.Action, Args: tail.Args{Path: log, Lines: 1}.Encode(), Cap: info.Ref}, out)
			}()
			select {
			case <-out.first:
			case <-time.After(10 * time.Second):
				t.Fatal("no first reply")
			}
			f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("second\n")
			f.Close()
			data, _ := os.ReadFile(log)
			os.WriteFile(log+tail.CopySuffix, data, 0o644)
			os.Truncate(log, 0)
			close(out.release)
			// The truncation is seen at the next read; what is written
			// after it is read from the new start.
			for end := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				out.mu.Lock()
				n := out.n
				out.mu.Unlock()
				if n >= 2 {
					break
				}
				if time.Now().After(end) {
					t.Fatalf("the truncation was not reported: %q", out.got())
				}
			}
			os.WriteFile(log, []byte("third\n"), 0o644)
			for end := time.Now().Add(10 * time.Second); !slices.Equal(out.got(), tt.want); time.Sleep(5 * time.Millisecond) {
				if time.Now().After(end) {
					t.Fatalf("got %q, want %q", out.got(), tt.want)
				}
			}
			cancel()
			<-done
		})
	}
}
