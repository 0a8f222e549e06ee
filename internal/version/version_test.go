package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestDebian(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "v1.2.3", want: "1.2.3"},
		{in: "1.2.3\n", want: "1.2.3"},
		{in: "v1.2.3-rc1", want: "1.2.3~rc1"},
		{in: "v1.2.3-4-gabc1234", want: "1.2.3+4.gabc1234"},
		{in: "v1.2.3-rc.1-4-gabc1234", want: "1.2.3~rc.1+4.gabc1234"},
		{in: "v1.2.3-4-gabc1234-dirty", want: "1.2.3+4.gabc1234.dirty"},
		{in: "v1.2.3-dirty", want: "1.2.3+dirty"},
		{in: "0.0.0-311-g4b8a789", want: "0.0.0+311.g4b8a789"},
		{in: "0.0.0-311-g4b8a789-dirty", want: "0.0.0+311.g4b8a789.dirty"},
		{in: "4b8a789", want: "0~g4b8a789"},
		{in: "4b8a789-dirty", want: "0~g4b8a789+dirty"},
		{in: "2024.1", want: "2024.1"},
		{in: "devel", err: "tag a release"},
		{in: "unknown", err: "tag a release"},
		{in: "", err: "tag a release"},
		{in: "v1.2.3_beta", err: `"v1.2.3_beta" cannot be made a Debian version`},
		{in: "1.2.3;rm -rf /", err: "cannot be made"},
		{in: "1.0\nDepends: evil", err: "cannot be made"},
	} {
		got, err := Debian(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Debian(%q) = %q, %v; want error with %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("Debian(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestDebianOrder checks that dpkg's order is the order of the releases,
// with dpkg's own comparison when it is installed.
func TestDebianOrder(t *testing.T) {
	order := []string{"4b8a789", "0.0.0-311-g4b8a789", "0.0.0-312-g0000aaa", "v0.1.0-rc1", "v0.1.0-rc1-2-gabc1234", "v0.1.0", "v0.1.0-1-gabc1234", "v0.1.0-1-gabc1234-dirty", "v0.1.1", "v0.10.0"}
	deb := make([]string, len(order))
	for i, v := range order {
		var err error
		if deb[i], err = Debian(v); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < len(deb); i++ {
		if !dpkgLess(t, deb[i-1], deb[i]) {
			t.Errorf("%s (%s) does not sort before %s (%s)", deb[i-1], order[i-1], deb[i], order[i])
		}
	}
}

func TestGet(t *testing.T) {
	bi := func(version string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: version}, Settings: settings}, true
		}
	}
	none := func() (*debug.BuildInfo, bool) {
		t.Error("build info read though the linker set both")
		return nil, false
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "4b8a789c0ffee"}
	mod := debug.BuildSetting{Key: "vcs.modified", Value: "true"}
	for _, tc := range []struct {
		name, version, commit string
		read                  func() (*debug.BuildInfo, bool)
		want                  Info
	}{
		{"make", "0.0.0-311-g4b8a789", "4b8a789c0ffee", none, Info{Version: "0.0.0-311-g4b8a789", Commit: "4b8a789c0ffee"}},
		{"go build with vcs", "", "", bi("(devel)", rev, mod), Info{Version: "devel", Commit: "4b8a789c0ffee", Modified: true}},
		{"go install module@v1.2.3", "", "", bi("v1.2.3"), Info{Version: "v1.2.3", Commit: "unknown"}},
		{"go build -buildvcs=false", "", "", bi("(devel)"), Info{Version: "devel", Commit: "unknown"}},
		{"no build info", "", "", func() (*debug.BuildInfo, bool) { return nil, false }, Info{Version: "devel", Commit: "unknown"}},
		{"version from the linker only", "v2", "", bi("(devel)", rev), Info{Version: "v2", Commit: "4b8a789c0ffee"}},
	} {
		got := get(tc.version, tc.commit, tc.read)
		got.Go = ""
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	got := Info{Version: "v1.2.3", Commit: "abc", Modified: true, Go: "go1.26.8 linux/amd64"}.Text("herd")
	want := "herd v1.2.3\ncommit: abc (modified)\ngo: go1.26.8 linux/amd64\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
