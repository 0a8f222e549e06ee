package capability

import (
	"errors"
	"testing"
	"time"
)

func TestPathAllowed(t *testing.T) {
	patterns := []string{"/srv/app/**", "/etc/motd", "/opt/*/conf.yaml"}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/srv/app/a", true},
		{"/srv/app/sub/dir/b", true},
		{"/srv/app", false},
		{"/srv/apple/a", false},
		{"/srv/app/../etc/passwd", false},
		{"/srv/app/./a", false},
		{"/srv/app//a", false},
		{"/srv/app/a/", false},
		{"srv/app/a", false},
		{"/etc/motd", true},
		{"/etc/motd2", false},
		{"/opt/x/conf.yaml", true},
		{"/opt/x/y/conf.yaml", false},
		{"/opt/../conf.yaml", false},
		{"/srv/app/a\x00b", false},
		{"", false},
		{"/", false},
	} {
		if got := PathAllowed(patterns, tc.path); got != tc.want {
			t.Errorf("PathAllowed(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestCheckPathPattern(t *testing.T) {
	for _, p := range []string{"/srv/**", "/etc/motd", "/opt/*/x"} {
		if err := CheckPathPattern(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range []string{"srv/**", "/srv/../etc", "/", "/srv/**/x", "/srv/[", "/srv/"} {
		if err := CheckPathPattern(p); err == nil {
			t.Errorf("%s: accepted", p)
		}
	}
}

func TestBaseDir(t *testing.T) {
	for pat, want := range map[string]string{"/srv/app/**": "/srv/app", "/etc/motd": "/etc", "/opt/*/x": "/opt", "/a": "/"} {
		if got := BaseDir(pat); got != want {
			t.Errorf("BaseDir(%s) = %s, want %s", pat, got, want)
		}
	}
}

func TestFileGrantCheck(t *testing.T) {
	now := time.Now()
	g := Grant{Target: FilesTarget, Actions: []string{"write"}, Paths: []string{"/srv/app/**"}, MaxSize: 1000}
	lookup := func(Swiss) (Grant, bool) { return Grant{}, false }
	ok := Request{Target: FilesTarget, Action: "file-write", File: FileSubject{Right: "write", Path: "/srv/app/x", Size: 1000}}
	if err := Check(g, lookup, ok, now); err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string]Request{
		"read with a write right":     {Target: FilesTarget, Action: "file-read", File: FileSubject{Right: "read", Path: "/srv/app/x", Size: 10}},
		"too large":                   {Target: FilesTarget, Action: "file-write", File: FileSubject{Right: "write", Path: "/srv/app/x", Size: 1001}},
		"outside":                     {Target: FilesTarget, Action: "file-write", File: FileSubject{Right: "write", Path: "/etc/passwd", Size: 10}},
		"dot-dot":                     {Target: FilesTarget, Action: "file-write", File: FileSubject{Right: "write", Path: "/srv/app/../../etc/passwd", Size: 10}},
		"a write right asked as read": {Target: FilesTarget, Action: "file-write", File: FileSubject{Right: "read", Path: "/srv/app/x", Size: 10}},
		"negative size":               {Target: FilesTarget, Action: "file-write", File: FileSubject{Right: "write", Path: "/srv/app/x", Size: -1}},
	} {
		if err := Check(g, lookup, req, now); !errors.Is(err, ErrDenied) {
			t.Errorf("%s: %v, want denied", name, err)
		}
	}
	// The default limit holds when a grant sets none.
	g.MaxSize = 0
	if err := Check(g, lookup, Request{Target: FilesTarget, Action: "file-write", File: FileSubject{Right: "write", Path: "/srv/app/x", Size: DefaultMaxSize + 1}}, now); !errors.Is(err, ErrDenied) {
		t.Errorf("over the default limit: %v", err)
	}
}

func TestAttenuateFiles(t *testing.T) {
	now := time.Now()
	parent := Grant{Swiss: Swiss{1}, Target: FilesTarget, Actions: []string{"write", "read"}, Paths: []string{"/srv/app/**", "/etc/motd"}, MaxSize: 1 << 20}
	for _, a := range []Attenuation{
		{Paths: []string{"/srv/app/conf/**"}},
		{Paths: []string{"/srv/app/x.conf", "/etc/motd"}},
		{Paths: []string{"/srv/app/*.conf"}},
		{MaxSize: 1000},
		{Actions: []string{"read"}},
	} {
		if _, err := Attenuate(parent, a, Swiss{2}, now); err != nil {
			t.Errorf("%+v: %v", a, err)
		}
	}
	for _, a := range []Attenuation{
		{Paths: []string{"/srv/**"}},
		{Paths: []string{"/srv/app/../etc/**"}},
		{Paths: []string{"/srv/*/x"}},
		{Paths: []string{"/etc/*"}},
		{MaxSize: 2 << 20},
		{Actions: []string{"exec"}},
	} {
		if _, err := Attenuate(parent, a, Swiss{2}, now); err == nil {
			t.Errorf("%+v: widened", a)
		}
	}
	// A child's check still walks its parent: a pattern that slipped by
	// would be refused there.
	child := Grant{Swiss: Swiss{2}, Target: FilesTarget, Actions: []string{"write"}, Paths: []string{"/**"}, Parent: &parent.Swiss}
	p := parent
	p.Paths = []string{"/srv/app/**"}
	lookup := func(s Swiss) (Grant, bool) { return p, s == p.Swiss }
	if err := Check(child, lookup, Request{Target: FilesTarget, Action: "file-write", File: FileSubject{Right: "write", Path: "/etc/passwd"}}, now); !errors.Is(err, ErrDenied) {
		t.Errorf("a child wider than its parent: %v", err)
	}
	// Exec grants take no paths.
	if _, err := Attenuate(Grant{Target: ExecTarget, Actions: []string{"exec"}}, Attenuation{Paths: []string{"/srv/**"}}, Swiss{3}, now); err == nil {
		t.Error("an exec grant took --path")
	}
}

// FuzzFilePatternsNarrow: whenever Attenuate accepts a child pattern, a
// path the child allows is one its parent allows.
func FuzzFilePatternsNarrow(f *testing.F) {
	f.Add("/srv/app/**", "/srv/app/x/**", "/srv/app/x/y")
	f.Add("/srv/app/**", "/srv/app/*.conf", "/srv/app/a.conf")
	f.Add("/etc/*", "/etc/motd", "/etc/motd")
	f.Add("/srv/*/conf/**", "/srv/a/conf/b", "/srv/a/conf/b")
	f.Fuzz(func(t *testing.T, parentPat, childPat, p string) {
		parent := Grant{Swiss: Swiss{1}, Target: FilesTarget, Actions: []string{"write"}, Paths: []string{parentPat}}
		child, err := Attenuate(parent, Attenuation{Paths: []string{childPat}}, Swiss{2}, time.Now())
		if err != nil {
			return
		}
		if PathAllowed(child.Paths, p) && !PathAllowed(parent.Paths, p) {
			t.Fatalf("child %q allows %q, parent %q does not", childPat, p, parentPat)
		}
	})
}
