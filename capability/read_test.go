package capability

import (
	"errors"
	"testing"
	"time"
)

func TestReadGrantCheck(t *testing.T) {
	now := time.Now()
	g := Grant{Target: ReadTarget, Actions: []string{ReadAction}, Paths: []string{"/etc/nginx/**"}}
	lookup := func(Swiss) (Grant, bool) { return Grant{}, false }
	read := func(action, right, p string) Request {
		return Request{Target: ReadTarget, Action: action, File: FileSubject{Right: right, Path: p, Size: 10}}
	}
	for _, req := range []Request{read("file-stat", "read", "/etc/nginx/nginx.conf"), read("file-read", "read", "/etc/nginx/sites/a")} {
		if err := Check(g, lookup, req, now); err != nil {
			t.Errorf("%+v: %v", req, err)
		}
	}
	for name, req := range map[string]Request{
		"/etc/shadow":          read("file-read", "read", "/etc/shadow"),
		"dot-dot":              read("file-read", "read", "/etc/nginx/../shadow"),
		"the directory itself": read("file-stat", "read", "/etc/nginx"),
		"a write":              read("file-write", "write", "/etc/nginx/nginx.conf"),
		"a write stat":         read("file-stat", "write", "/etc/nginx/nginx.conf"),
		"a snapshot":           {Target: ReadTarget, Action: SnapshotAction},
		"another action":       read("exec", "read", "/etc/nginx/nginx.conf"),
		"as the files target":  {Target: FilesTarget, Action: "file-read", File: FileSubject{Right: "read", Path: "/etc/nginx/a"}},
		"too large":            {Target: ReadTarget, Action: "file-read", File: FileSubject{Right: "read", Path: "/etc/nginx/a", Size: DefaultMaxSize + 1}},
	} {
		if err := Check(g, lookup, req, now); !errors.Is(err, ErrDenied) {
			t.Errorf("%s: %v, want denied", name, err)
		}
	}
	// A files grant reads nothing as a read grant, and a read grant
	// nothing as a files grant.
	fg := Grant{Target: FilesTarget, Actions: []string{"read"}, Paths: []string{"/etc/nginx/**"}}
	if err := Check(fg, lookup, read("file-read", "read", "/etc/nginx/a"), now); !errors.Is(err, ErrDenied) {
		t.Errorf("a files grant read as read: %v", err)
	}
	// A capability without read (snapshot only) fetches no file.
	sg := Grant{Target: ReadTarget, Actions: []string{SnapshotAction}, Paths: []string{"/etc/nginx/**"}}
	if err := Check(sg, lookup, read("file-read", "read", "/etc/nginx/a"), now); !errors.Is(err, ErrDenied) {
		t.Errorf("snapshot-only read a file: %v", err)
	}
	if err := Check(sg, lookup, Request{Target: ReadTarget, Action: SnapshotAction}, now); err != nil {
		t.Errorf("snapshot: %v", err)
	}
}

func TestCheckReadGrant(t *testing.T) {
	if err := CheckReadGrant([]string{"read"}, []string{"/etc/nginx/**"}); err != nil {
		t.Error(err)
	}
	if err := CheckReadGrant([]string{"snapshot"}, nil); err != nil {
		t.Error(err)
	}
	for _, c := range []struct{ actions, paths []string }{
		{[]string{"read"}, nil},
		{[]string{"write"}, []string{"/etc/**"}},
		{[]string{"read"}, []string{"etc/**"}},
		{[]string{"read"}, []string{"/etc/../root/**"}},
	} {
		if err := CheckReadGrant(c.actions, c.paths); err == nil {
			t.Errorf("%v %v: accepted", c.actions, c.paths)
		}
	}
}

func TestAttenuateRead(t *testing.T) {
	now := time.Now()
	parent := Grant{Swiss: Swiss{1}, Target: ReadTarget, Actions: []string{ReadAction, SnapshotAction}, Paths: []string{"/etc/nginx/**"}}
	child, err := Attenuate(parent, Attenuation{Allow: []string{"/etc/nginx/sites/**"}, Actions: []string{ReadAction}}, Swiss{2}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(child.Paths) != 1 || child.Paths[0] != "/etc/nginx/sites/**" || len(child.Allow) != 0 {
		t.Fatalf("child %+v", child)
	}
	for _, a := range []Attenuation{
		{Allow: []string{"/etc/**"}},
		{Allow: []string{"/etc/shadow"}},
		{Allow: []string{"/etc/nginx/../shadow"}},
		{Allow: []string{"/etc/*/x"}},
		{Actions: []string{"write"}},
		{Allow: []string{"/etc/nginx/a"}, Paths: []string{"/etc/nginx/a"}},
	} {
		if _, err := Attenuate(parent, a, Swiss{2}, now); err == nil {
			t.Errorf("%+v: widened", a)
		}
	}
	// A snapshot-only grant gains no path.
	snap := Grant{Swiss: Swiss{3}, Target: ReadTarget, Actions: []string{SnapshotAction}}
	if _, err := Attenuate(snap, Attenuation{Allow: []string{"/etc/nginx/a"}}, Swiss{4}, now); err == nil {
		t.Error("a snapshot-only grant gained a path")
	}
}

// FuzzReadAllowListNarrows: whenever Attenuate accepts a read grant's
// child allow-list, every request the child allows, its parent allows.
func FuzzReadAllowListNarrows(f *testing.F) {
	f.Add("/etc/nginx/**", "/etc/nginx/sites/**", "", "/etc/nginx/sites/a")
	f.Add("/etc/nginx/**", "/etc/nginx/*.conf", "/etc/nginx/x", "/etc/nginx/a.conf")
	f.Add("/etc/*", "/etc/motd", "", "/etc/motd")
	f.Add("/srv/*/conf/**", "/srv/a/conf/b", "/srv/a/conf/**", "/srv/a/conf/b")
	f.Add("/etc/nginx/**", "/etc/nginx/../shadow", "", "/etc/shadow")
	f.Fuzz(func(t *testing.T, parentPat, childPat, childPat2, p string) {
		parent := Grant{Swiss: Swiss{1}, Target: ReadTarget, Actions: []string{ReadAction}, Paths: []string{parentPat}}
		allow := []string{childPat}
		if childPat2 != "" {
			allow = append(allow, childPat2)
		}
		child, err := Attenuate(parent, Attenuation{Allow: allow}, Swiss{2}, time.Now())
		if err != nil {
			return
		}
		lookup := func(s Swiss) (Grant, bool) { return parent, s == parent.Swiss }
		req := Request{Target: ReadTarget, Action: "file-read", File: FileSubject{Right: ReadAction, Path: p}}
		// The child alone (as if its parent's check were skipped) must
		// allow nothing the parent does not.
		alone := child
		alone.Parent = nil
		if Check(alone, lookup, req, time.Now()) == nil && Check(parent, lookup, req, time.Now()) != nil {
			t.Fatalf("child %q allows %q, parent %q does not", allow, p, parentPat)
		}
		if PathAllowed(child.Paths, p) && !PathAllowed(parent.Paths, p) {
			t.Fatalf("child %q allows %q, parent %q does not", allow, p, parentPat)
		}
	})
}
