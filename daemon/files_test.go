package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/shepherd-go/shepherd/capability"
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
