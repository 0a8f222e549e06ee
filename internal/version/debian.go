package version

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// The patterns are compiled on first use: herd links this package, and
// compiling them at its start-up took most of its package
// initialisation.
var (
	// describeRE is `git describe --tags` past a tag: TAG-N-gHASH.
	describeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.+)-([0-9]+)-g([0-9a-f]{4,40})$`) })
	// hashRE is `git describe --always` where there is no tag: HASH.
	hashRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{4,40}$`) })
	// debianRE is a Debian upstream version without epoch or revision
	// (deb-version(7)): a digit first, then alphanumerics and . + ~.
	debianRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`) })
)

// Debian turns a version as the Makefile has it (`git describe --tags
// --always --dirty`, or the VERSION file) into a Debian version that
// dpkg orders as the releases go (deb-version(7)):
//
//	v1.2.3                  1.2.3
//	v1.2.3-rc1              1.2.3~rc1            (before 1.2.3)
//	v1.2.3-4-gabc1234       1.2.3+4.gabc1234     (after 1.2.3, before 1.2.4)
//	v1.2.3-4-gabc1234-dirty 1.2.3+4.gabc1234.dirty
//	0.0.0-311-gabc1234      0.0.0+311.gabc1234   (the Makefile's form before the first tag)
//	abc1234                 0~gabc1234           (a bare commit: before any release)
//
// A version it cannot place ("devel", "unknown", a tag without a digit
// first) is an error that says what to do.
func Debian(v string) (string, error) {
	in := v
	v = strings.TrimSpace(v)
	v, dirty := strings.CutSuffix(v, "-dirty")
	var out string
	switch m := describeRE().FindStringSubmatch(v); {
	case m != nil:
		out = upstream(m[1]) + "+" + m[2] + ".g" + m[3]
	case hashRE().MatchString(v) && len(v) >= 7 && strings.ContainsAny(v, "abcdef"):
		out = "0~g" + v
	default:
		out = upstream(v)
	}
	if dirty {
		if strings.Contains(out, "+") {
			out += ".dirty"
		} else {
			out += "+dirty"
		}
	}
	if !debianRE().MatchString(out) {
		return "", fmt.Errorf("version %q cannot be made a Debian version (it must start with a digit and hold only letters, digits and . + ~ -): tag a release (git tag v0.1.0) or write the version in the file VERSION", in)
	}
	return out, nil
}

// upstream drops a tag's leading "v" and makes a pre-release's "-" a "~",
// which sorts before the release.
func upstream(tag string) string {
	if len(tag) > 1 && tag[0] == 'v' && tag[1] >= '0' && tag[1] <= '9' {
		tag = tag[1:]
	}
	return strings.ReplaceAll(tag, "-", "~")
}
