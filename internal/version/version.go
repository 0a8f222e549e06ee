package version

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// Set by the linker (see the Makefile's LDFLAGS); empty in a plain build.
var (
	version string
	commit  string
)

// Info is what `shepherd --version` and `herd --version` print.
type Info struct {
	// Version: the Makefile's (git describe, or the VERSION file), else
	// the module version `go install MODULE@VERSION` recorded, else
	// "devel".
	Version string
	// Commit: the full commit hash the Makefile gave, else the one the Go
	// toolchain recorded (vcs.revision, with -buildvcs), else "unknown".
	Commit string
	// Modified: the work tree had uncommitted changes (vcs.modified), as
	// far as the toolchain knows; the Makefile's version says "-dirty".
	Modified bool
	// Go is the toolchain that built the binary, with its target.
	Go string
}

// Get returns the running binary's Info. It reads the build information
// only when the linker did not stamp both the version and the commit.
var Get = sync.OnceValue(func() Info { return get(version, commit, debug.ReadBuildInfo) })

func get(version, commit string, read func() (*debug.BuildInfo, bool)) Info {
	i := Info{Version: version, Commit: commit, Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if i.Version == "" || i.Commit == "" {
		if bi, ok := read(); ok {
			fromBuildInfo(&i, bi)
		}
	}
	if i.Version == "" {
		i.Version = "devel"
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	return i
}

// fromBuildInfo fills what the linker left empty from the toolchain's
// record.
func fromBuildInfo(i *Info, bi *debug.BuildInfo) {
	if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		i.Version = bi.Main.Version
	}
	if i.Commit != "" {
		return
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Commit = s.Value
		case "vcs.modified":
			i.Modified, _ = strconv.ParseBool(s.Value)
		}
	}
}

// Text is the --version output of program prog: three lines, the first
// "PROG VERSION" as GNU programs print it.
func (i Info) Text(prog string) string {
	var b strings.Builder
	b.WriteString(prog + " " + i.Version + "\n")
	b.WriteString("commit: " + i.Commit)
	if i.Modified {
		b.WriteString(" (modified)")
	}
	b.WriteString("\ngo: " + i.Go + "\n")
	return b.String()
}
