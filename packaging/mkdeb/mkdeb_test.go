package main

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFill(t *testing.T) {
	tmpl := "Package: p\nVersion: @VERSION@\nDepends: @DEPENDS@\nMaintainer: a <m@example.org>\nDescription: d\n mail me@example.org\n"
	got, err := fill(tmpl, map[string]string{"VERSION": "1.0", "DEPENDS": ""})
	if want := "Package: p\nVersion: 1.0\nMaintainer: a <m@example.org>\nDescription: d\n mail me@example.org\n"; err != nil || got != want {
		t.Errorf("fill = %q, %v; want %q", got, err, want)
	}
	if _, err := fill("Version: @VERSION@\nArchitecture: @ARCH@\n", map[string]string{"VERSION": "1"}); err == nil || !strings.Contains(err.Error(), "@ARCH@") {
		t.Errorf("a placeholder without a value: %v", err)
	}
	if _, err := fill("Version: @VERSION@\n", map[string]string{"VERSION": "1\nDepends: evil"}); err == nil {
		t.Error("a value with a newline was taken: it would add a field")
	}
}

func TestDebArch(t *testing.T) {
	for _, tc := range []struct {
		m     elf.Machine
		class elf.Class
		order binary.ByteOrder
		want  string
	}{
		{elf.EM_X86_64, elf.ELFCLASS64, binary.LittleEndian, "amd64"},
		{elf.EM_AARCH64, elf.ELFCLASS64, binary.LittleEndian, "arm64"},
		{elf.EM_386, elf.ELFCLASS32, binary.LittleEndian, "i386"},
		{elf.EM_ARM, elf.ELFCLASS32, binary.LittleEndian, "armhf"},
		{elf.EM_RISCV, elf.ELFCLASS64, binary.LittleEndian, "riscv64"},
		{elf.EM_PPC64, elf.ELFCLASS64, binary.LittleEndian, "ppc64el"},
		{elf.EM_S390, elf.ELFCLASS64, binary.BigEndian, "s390x"},
		{elf.EM_SPARCV9, elf.ELFCLASS64, binary.BigEndian, ""},
	} {
		f := &elf.File{FileHeader: elf.FileHeader{Machine: tc.m, Class: tc.class, ByteOrder: tc.order}}
		got, err := debArch(f)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("%v: %q, %v; want %q", tc.m, got, err, tc.want)
		}
	}
}

func TestGlibcDepends(t *testing.T) {
	syms := []elf.ImportedSymbol{
		{Name: "pthread_create", Version: "GLIBC_2.34"},
		{Name: "stat", Version: "GLIBC_2.2.5"},
		{Name: "x", Version: "GLIBC_2.4"},
		{Name: "y", Version: "GLIBC_PRIVATE"},
		{Name: "z", Version: "OTHER_9.9"},
	}
	if got := glibcDepends(syms); got != "libc6 (>= 2.34)" {
		t.Errorf("got %q", got)
	}
	if got := glibcDepends(syms[1:]); got != "libc6 (>= 2.4)" {
		t.Errorf("2.4 > 2.2.5: got %q", got)
	}
	if got := glibcDepends(nil); got != "" {
		t.Errorf("a static binary needs nothing: %q", got)
	}
}

// TestScan: Installed-Size, md5sums of every file but the conffiles, the
// conffiles (everything under etc/), DEBIAN left out.
func TestScan(t *testing.T) {
	root := t.TempDir()
	for path, size := range map[string]int{"usr/bin/a": 2049, "usr/share/doc/x/b": 10, "etc/x/c.yaml": 1, "DEBIAN/control": 5000} {
		p := filepath.Join(root, path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, make([]byte, size), 0o644)
	}
	os.Symlink("a", filepath.Join(root, "usr/bin/l"))
	tr, err := scan(root)
	if err != nil {
		t.Fatal(err)
	}
	// files 3+1+1 KiB; dirs usr usr/bin usr/share usr/share/doc usr/share/doc/x etc etc/x; the link.
	if tr.sizeKiB != 5+7+1 {
		t.Errorf("Installed-Size %d", tr.sizeKiB)
	}
	if tr.conffiles != "/etc/x/c.yaml\n" {
		t.Errorf("conffiles %q", tr.conffiles)
	}
	lines := strings.Split(strings.TrimSpace(tr.md5sums), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "  usr/bin/a") || lines[1] != "a63c90cc3684ad8b0a2176a6a8fe9005  usr/share/doc/x/b" {
		t.Errorf("md5sums %q", tr.md5sums)
	}
}
