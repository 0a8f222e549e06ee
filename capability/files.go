package capability

import (
	"fmt"
	"path"
	"strings"
)

// FilesTarget is the built-in target of file capabilities (herd fleet
// push and pull): the actions "write" and "read" on the paths that the
// grant's patterns match, up to its size limit.
const FilesTarget = "files"

// DefaultMaxSize is the size limit of a file grant that sets none.
const DefaultMaxSize int64 = 64 << 20

// CheckPathPattern validates a file grant's path pattern: an absolute,
// clean path whose components are path.Match patterns, the last of which
// may be "**" (anything beneath the directory before it).
func CheckPathPattern(p string) error {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" {
		return fmt.Errorf("--path %q: expected an absolute, clean path such as /srv/app/** or /etc/motd", p)
	}
	dir, last := path.Split(p)
	if strings.Contains(dir, "**") {
		return fmt.Errorf("--path %q: ** may only be the last component", p)
	}
	if last != "**" {
		if _, err := path.Match(p, p); err != nil {
			return fmt.Errorf("--path %q: %v", p, err)
		}
		return nil
	}
	if _, err := path.Match(dir, dir); err != nil {
		return fmt.Errorf("--path %q: %v", p, err)
	}
	return nil
}

// PathAllowed reports whether the file path p is matched by one of the
// patterns. p must be absolute and clean (no "..", no "//", no trailing
// slash): anything else is refused, whatever the patterns.
func PathAllowed(patterns []string, p string) bool {
	return MatchingPattern(patterns, p) != ""
}

// MatchingPattern is the first pattern that matches p ("" for none).
func MatchingPattern(patterns []string, p string) string {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" || strings.ContainsRune(p, 0) {
		return ""
	}
	for _, pat := range patterns {
		if patternMatches(pat, p) {
			return pat
		}
	}
	return ""
}

func patternMatches(pat, p string) bool {
	if CheckPathPattern(pat) != nil {
		return false
	}
	if dir, ok := strings.CutSuffix(pat, "/**"); ok {
		// Some directory components of p match dir's, one for one.
		pc, dc := strings.Split(p, "/"), strings.Split(dir, "/")
		if len(pc) <= len(dc) {
			return false
		}
		ok, _ := path.Match(dir, strings.Join(pc[:len(dc)], "/"))
		return ok
	}
	ok, _ := path.Match(pat, p)
	return ok
}

// BaseDir is the directory a pattern is rooted at: its longest leading
// run of components without wildcards. A host resolves a file beneath it
// and never outside it.
func BaseDir(pat string) string {
	comps := strings.Split(pat, "/")
	base := "/"
	for _, c := range comps[1 : len(comps)-1] {
		if strings.ContainsAny(c, `*?[\`) {
			break
		}
		base = path.Join(base, c)
	}
	return base
}

// patternNarrows reports whether every path that pattern child matches
// is matched by one of the parent's patterns. It is conservative: a
// child it cannot prove narrower is refused (a check walks the chain, so
// a parent's patterns hold anyway).
func patternNarrows(parent []string, child string) bool {
	if CheckPathPattern(child) != nil {
		return false
	}
	for _, p := range parent {
		if p == child {
			return true
		}
		if strings.ContainsAny(child, `*?[\`) {
			// A wildcard child narrows DIR/** when its fixed directory
			// lies beneath a fixed DIR.
			dir, ok := strings.CutSuffix(p, "/**")
			if ok && !strings.ContainsAny(dir, `*?[\`) && strings.HasPrefix(BaseDir(child)+"/", dir+"/") {
				return true
			}
			continue
		}
		if patternMatches(p, child) {
			return true
		}
	}
	return false
}

// fileAllowed is the file part of a grant's check.
func (g Grant) fileAllowed(req FileSubject) bool {
	limit := g.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	return req.Size >= 0 && req.Size <= limit && PathAllowed(g.Paths, req.Path)
}

// FileSubject is what a file request asks: the right (write or read),
// the path, the size.
type FileSubject struct {
	Right string
	Path  string
	Size  int64
}
