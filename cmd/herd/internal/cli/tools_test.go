package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
)

// TestFindTools: herd-tools is taken from $PATH when it is not beside
// herd's executable (the test binary here), and its absence is said with
// what to do.
func TestFindTools(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	_, err := findTools()
	if err == nil || !strings.Contains(err.Error(), "herd-tools runs this command, and it is neither in ") || !strings.Contains(err.Error(), "make install") {
		t.Fatalf("no herd-tools: %v", err)
	}
	dir := t.TempDir()
	want := filepath.Join(dir, ToolsProgram)
	if err := os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", empty+":"+dir)
	if got, err := findTools(); err != nil || got != want {
		t.Fatalf("findTools() = %q, %v; want %q", got, err, want)
	}
	// Not through a relative entry: the working directory is whoever's.
	t.Chdir(dir)
	t.Setenv("PATH", ".::"+empty)
	if got, err := findTools(); err == nil {
		t.Fatalf("found %q through a relative $PATH entry", got)
	}
}

// TestCheckToolsCaller: herd-tools runs for the herd of its own build
// only, and does not pass the variable on.
func TestCheckToolsCaller(t *testing.T) {
	os.Unsetenv(ToolsCallerEnv)
	if err := CheckToolsCaller(); err != nil {
		t.Fatalf("run directly: %v", err)
	}
	t.Setenv(ToolsCallerEnv, build())
	if err := CheckToolsCaller(); err != nil {
		t.Fatalf("same build: %v", err)
	}
	if _, ok := os.LookupEnv(ToolsCallerEnv); ok {
		t.Fatalf("%s is passed on", ToolsCallerEnv)
	}
	t.Setenv(ToolsCallerEnv, "v9.9.9 (commit 0123abc)")
	err := CheckToolsCaller()
	if err == nil || !strings.Contains(err.Error(), "but herd is v9.9.9 (commit 0123abc): install both from the same build") {
		t.Fatalf("another build: %v", err)
	}
}

// TestBuiltins: each built-in is named as the command it builds, and a
// command line gets the one it names (the first word that is no flag, nor
// a global flag's value), or the whole tree.
func TestBuiltins(t *testing.T) {
	for _, b := range builtins {
		if got := b.build(&cmdutil.Factory{}).Name(); got != b.name {
			t.Errorf("builtin %q builds %q", b.name, got)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "web"}, "status"},
		{[]string{"-s", "start", "stop", "web"}, "stop"},
		{[]string{"--json", "--cap", "x", "is-active", "web"}, "is-active"},
		{[]string{"--socket=/s", "kill", "-s", "HUP", "web"}, "kill"},
		{[]string{"rotate", "web"}, ""},        // a custom action: routed by the whole tree
		{[]string{"statsu"}, ""},               // a typo: suggestions need every name
		{[]string{"help", "status"}, ""},       // help lists commands
		{[]string{"__complete", "status"}, ""}, // completions too
		{[]string{"fleet", "exec"}, ""},        // herd-tools'
		{[]string{"--version"}, ""},
		{nil, ""},
		{[]string{"--", "status"}, ""},
	} {
		b, ok := builtinFor(tc.args)
		if got := map[bool]string{true: b.name}[ok]; got != tc.want {
			t.Errorf("builtinFor(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
