package main

import (
	"crypto/md5"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// debArch is the Debian architecture of an ELF machine (dpkg-architecture
// -L). Only the ones Go builds for that Debian has.
func debArch(f *elf.File) (string, error) {
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_386:
		return "i386", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	case elf.EM_ARM:
		// Go's GOARM=7 with hard float, Debian's armhf; armel binaries
		// are not told apart here.
		return "armhf", nil
	case elf.EM_RISCV:
		return "riscv64", nil
	case elf.EM_PPC64:
		if f.ByteOrder.String() == "LittleEndian" {
			return "ppc64el", nil
		}
		return "ppc64", nil
	case elf.EM_S390:
		return "s390x", nil
	case elf.EM_LOONGARCH:
		return "loong64", nil
	case elf.EM_MIPS:
		if f.Class == elf.ELFCLASS64 {
			return "mips64el", nil
		}
		return "mipsel", nil
	}
	return "", fmt.Errorf("no Debian architecture for ELF machine %v", f.Machine)
}

// glibcDepends is the Depends: value a binary needs: the C library at the
// highest GLIBC_ symbol version it imports, or "" for a static binary.
func glibcDepends(imported []elf.ImportedSymbol) string {
	best := ""
	for _, s := range imported {
		v, ok := strings.CutPrefix(s.Version, "GLIBC_")
		if !ok || !isVersion(v) {
			continue
		}
		if best == "" || versionLess(best, v) {
			best = v
		}
	}
	if best == "" {
		return ""
	}
	return "libc6 (>= " + best + ")"
}

func isVersion(v string) bool {
	for p := range strings.SplitSeq(v, ".") {
		if _, err := strconv.Atoi(p); err != nil {
			return false
		}
	}
	return v != ""
}

// versionLess compares dotted numbers: 2.9 < 2.17 < 2.34.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// binaryNeeds reads a binary's architecture and Depends: value.
func binaryNeeds(path string) (arch, depends string, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w (run make install first)", path, err)
	}
	defer f.Close()
	if arch, err = debArch(f); err != nil {
		return "", "", fmt.Errorf("%s: %w", path, err)
	}
	syms, err := f.ImportedSymbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return "", "", fmt.Errorf("%s: %w", path, err)
	}
	return arch, glibcDepends(syms), nil
}

// tree is what DEBIAN/ says of the files of a staged root.
type tree struct {
	sizeKiB   int64
	md5sums   string // "HASH  usr/bin/herd\n" for every file but the conffiles
	conffiles string // "/etc/shepherd/services.yaml\n" for every file under etc/
}

// scan reads the staged root (but its DEBIAN directory). Installed-Size
// counts each file's size rounded up to KiB, and 1 KiB for each directory
// and link, as dpkg-gencontrol does.
func scan(root string) (tree, error) {
	var t tree
	var sums, conf []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "DEBIAN" {
			return filepath.SkipDir
		}
		if rel == "." {
			return nil
		}
		if !d.Type().IsRegular() {
			t.sizeKiB++
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		t.sizeKiB += (info.Size() + 1023) / 1024
		if strings.HasPrefix(rel, "etc/") {
			conf = append(conf, "/"+rel+"\n")
			return nil
		}
		sum, err := md5File(path)
		if err != nil {
			return err
		}
		sums = append(sums, sum+"  "+rel+"\n")
		return nil
	})
	slices.Sort(sums)
	slices.Sort(conf)
	t.md5sums, t.conffiles = strings.Join(sums, ""), strings.Join(conf, "")
	return t, err
}

func md5File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// moduleLicenses is the license text of every module the packages link
// (go list -deps), and of Go's standard library, for the copyright file.
func moduleLicenses(pkgs ...string) ([]byte, error) {
	cmd := exec.Command("go", append([]string{"list", "-deps", "-json=Module,Standard"}, pkgs...)...)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	type module struct {
		Path, Version, Dir string
		Main               bool
		Replace            *module
	}
	seen := map[string]module{}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	for {
		var p struct {
			Standard bool
			Module   *module
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if p.Module == nil || p.Module.Main || p.Standard {
			continue
		}
		m := *p.Module
		if m.Replace != nil {
			m.Dir = m.Replace.Dir
		}
		seen[m.Path] = m
	}
	paths := make([]string, 0, len(seen))
	for p := range seen {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var out strings.Builder
	env, err := exec.Command("go", "env", "GOROOT", "GOVERSION").Output()
	goenv := strings.Fields(string(env))
	if err != nil || len(goenv) != 2 {
		return nil, fmt.Errorf("go env GOROOT GOVERSION: %q, %v", env, err)
	}
	text, err := licenseText(goenv[0])
	if err != nil {
		return nil, fmt.Errorf("the Go standard library: %w", err)
	}
	section(&out, "Go standard library ("+goenv[1]+")", text)
	for _, p := range paths {
		m := seen[p]
		text, err := licenseText(m.Dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		section(&out, m.Path+" "+m.Version, text)
	}
	return []byte(out.String()), nil
}

func section(b *strings.Builder, title, text string) {
	b.WriteString("\n" + strings.Repeat("-", 72) + "\n" + title + "\n\n" + strings.TrimSpace(text) + "\n")
}

// licenseText reads a module's license files (LICENSE, COPYING, NOTICE
// and their variants), in name order.
func licenseText(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, e := range ents {
		n := strings.ToUpper(e.Name())
		if e.Type().IsRegular() && (strings.HasPrefix(n, "LICENSE") || strings.HasPrefix(n, "LICENCE") || strings.HasPrefix(n, "COPYING") || strings.HasPrefix(n, "NOTICE")) {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return "", err
			}
			parts = append(parts, strings.TrimSpace(string(b)))
		}
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("no LICENSE or COPYING file in %s", dir)
	}
	return strings.Join(parts, "\n\n"), nil
}
