// Command mkdeb turns the tree `make install DESTDIR=ROOT PREFIX=/usr`
// staged into a Debian package, for `make deb`, without debhelper:
//
//	go run ./packaging/mkdeb -root ROOT -scripts packaging/debian -version V -o DIR
//
// It writes ROOT/DEBIAN (control from control.in, conffiles: every file
// under ROOT/etc, md5sums, the maintainer scripts postinst, prerm and
// postrm), the copyright file with the licenses of every Go module linked
// into the binaries, then runs dpkg-deb, and prints the package's path,
// DIR/shepherd-go_DEBVERSION_ARCH.deb. The Debian version is made from V
// by version.Debian; the architecture and the libc6 dependency are read
// from ROOT/usr/bin/shepherd itself, so that a cross-built tree gets its
// own.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/shepherd-go/shepherd/internal/version"
)

func main() {
	root := flag.String("root", "", "the staged tree (make install DESTDIR=ROOT PREFIX=/usr)")
	scripts := flag.String("scripts", "packaging/debian", "directory of control.in, copyright and the maintainer scripts")
	ver := flag.String("version", "", "the version, as the Makefile has it (git describe, VERSION)")
	out := flag.String("o", ".", "directory of the .deb")
	compress := flag.String("compress", "xz", "dpkg-deb's compressor (-Z): xz, gzip, zstd, none")
	licenses := flag.Bool("licenses", true, "append the licenses of the Go modules linked into shepherd and herd (go list) to the copyright file")
	flag.Parse()
	if *root == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: mkdeb -root ROOT [-scripts DIR] -version V [-o DIR]")
		os.Exit(2)
	}
	path, err := run(*root, *scripts, *ver, *out, *compress, *licenses)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkdeb:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

func run(root, scripts, ver, out, compress string, licenses bool) (string, error) {
	debVer, err := version.Debian(ver)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, "usr/bin/shepherd")
	arch, depends, err := binaryNeeds(bin)
	if err != nil {
		return "", err
	}
	copyright, err := os.ReadFile(filepath.Join(scripts, "copyright"))
	if err != nil {
		return "", err
	}
	if licenses {
		more, err := moduleLicenses("./cmd/shepherd", "./cmd/herd", "./cmd/herd/herd-tools")
		if err != nil {
			return "", fmt.Errorf("the modules' licenses: %w", err)
		}
		copyright = append(copyright, more...)
	}
	doc := filepath.Join(root, "usr/share/doc/shepherd-go")
	if err := os.MkdirAll(doc, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(doc, "copyright"), copyright, 0o644); err != nil {
		return "", err
	}

	debian := filepath.Join(root, "DEBIAN")
	if err := os.RemoveAll(debian); err != nil {
		return "", err
	}
	if err := os.Mkdir(debian, 0o755); err != nil {
		return "", err
	}
	t, err := scan(root)
	if err != nil {
		return "", err
	}
	in, err := os.ReadFile(filepath.Join(scripts, "control.in"))
	if err != nil {
		return "", err
	}
	control, err := fill(string(in), map[string]string{
		"VERSION": debVer, "ARCH": arch, "DEPENDS": depends, "INSTALLED_SIZE": fmt.Sprint(t.sizeKiB),
	})
	if err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(scripts, "control.in"), err)
	}
	files := map[string]string{"control": control, "md5sums": t.md5sums}
	if t.conffiles != "" {
		files["conffiles"] = t.conffiles
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(debian, name), []byte(text), 0o644); err != nil {
			return "", err
		}
	}
	for _, name := range []string{"postinst", "prerm", "postrm"} {
		b, err := os.ReadFile(filepath.Join(scripts, name))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(debian, name), b, 0o755); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	deb := filepath.Join(out, "shepherd-go_"+debVer+"_"+arch+".deb")
	cmd := exec.Command("dpkg-deb", "--root-owner-group", "-Z"+compress, "--build", root, deb)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("dpkg-deb (apt-get install dpkg): %w", err)
	}
	return deb, nil
}

var placeholder = regexp.MustCompile(`@[A-Z_]+@`)

// fill replaces each @KEY@ of a control template; a field whose value
// is empty is left out (Depends: of a static binary).
func fill(tmpl string, vals map[string]string) (string, error) {
	var b strings.Builder
	for _, line := range strings.SplitAfter(tmpl, "\n") {
		for k, v := range vals {
			if strings.ContainsAny(v, "\n") {
				return "", fmt.Errorf("@%s@: a value with a newline: %q", k, v)
			}
			if strings.Contains(line, "@"+k+"@") && v == "" {
				line = ""
			}
			line = strings.ReplaceAll(line, "@"+k+"@", v)
		}
		if m := placeholder.FindString(line); m != "" {
			return "", fmt.Errorf("no value for %s", m)
		}
		b.WriteString(line)
	}
	return b.String(), nil
}
