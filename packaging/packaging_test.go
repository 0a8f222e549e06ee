package packaging

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/internal/version"
)

// deadline bounds every wait: generous for a loaded CI machine.
const deadline = 60 * time.Second

// need skips the test without a program, except in CI, which installs it
// (.ci/run).
func need(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed, and CI installs it (.ci/run)", p)
			}
			t.Skipf("needs %s", p)
		}
	}
}

// run runs a command and fails the test, with its output, if it fails.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// repo is the source tree's root, where the Makefile is.
func repo(t *testing.T) string {
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// makeIn runs make in the source tree with the build's outputs in tmp:
// the tests never write into the source tree.
// A source tree without git history nor a VERSION file (an export) gets
// a version here, so that make deb can name the package.
func makeIn(t *testing.T, tmp string, args ...string) string {
	t.Helper()
	args = append([]string{"-C", repo(t), "--no-print-directory", "BIN=" + tmp + "/bin", "BUILDDIR=" + tmp + "/build"}, args...)
	_, noVersionFile := os.Stat(filepath.Join(repo(t), "VERSION"))
	if exec.Command("git", "-C", repo(t), "rev-parse", "HEAD").Run() != nil && noVersionFile != nil {
		t.Log("no git history and no VERSION file: make VERSION=0.0.0-test")
		args = append(args, "VERSION=0.0.0-test")
	}
	return run(t, nil, "make", args...)
}

// herdPages are some of the manual pages make man must make: herd's own,
// one per command and subcommand, the daemon's.
var herdPages = []string{"herd.1", "herd-start.1", "herd-status.1", "herd-log.1", "herd-cap-grant.1", "herd-fleet-exec.1", "herd-import-systemd.1", "shepherd.1"}

// TestMakeInstall: make install PREFIX DESTDIR lays out the binaries, the
// gzip'd manual pages, the units (with their paths filled in), the
// documentation; systemd-analyze finds nothing to say of the units; make
// uninstall takes it all away again.
func TestMakeInstall(t *testing.T) {
	need(t, "make", "go", "gzip", "systemd-analyze")
	tmp := t.TempDir()
	dest := filepath.Join(tmp, "dest")
	makeIn(t, tmp, "install", "PREFIX=/usr/local", "DESTDIR="+dest)

	pre := filepath.Join(dest, "usr/local")
	for _, f := range []string{"bin/shepherd", "bin/herd"} {
		if st, err := os.Stat(filepath.Join(pre, f)); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: want an executable (0755): %v", f, err)
		}
	}
	pages, _ := filepath.Glob(filepath.Join(pre, "share/man/man1/*.1.gz"))
	names := map[string]bool{}
	for _, p := range pages {
		names[strings.TrimSuffix(filepath.Base(p), ".gz")] = true
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: not gzip'd (%v)", p, err)
		}
	}
	for _, p := range herdPages {
		if !names[p] {
			t.Errorf("no manual page %s among %v", p, names)
		}
	}
	if len(names) < 30 {
		t.Errorf("%d manual pages; herd has more commands than that", len(names))
	}
	for _, u := range []string{"lib/systemd/system/shepherd.service", "lib/systemd/user/shepherd.service"} {
		b, err := os.ReadFile(filepath.Join(pre, u))
		if err != nil {
			t.Fatal(err)
		}
		checkUnit(t, u, string(b), "/usr/local/bin/shepherd")
	}
	for _, d := range []string{"README.md", "docs/config.md", "docs/herd.md", "docs/packaging.md", "examples/services.yaml"} {
		if _, err := os.Stat(filepath.Join(pre, "share/doc/shepherd-go", d)); err != nil {
			t.Error(err)
		}
	}
	// Completion files come with herd's completion command: all three or
	// none.
	comp := []string{"share/bash-completion/completions/herd", "share/zsh/site-functions/_herd", "share/fish/vendor_completions.d/herd.fish"}
	haveCompletion := exec.Command(filepath.Join(tmp, "bin/herd"), "-s", "/nonexistent/socket", "completion", "bash").Run() == nil
	for _, c := range comp {
		if _, err := os.Stat(filepath.Join(pre, c)); (err == nil) != haveCompletion {
			t.Errorf("%s: installed %v, but herd has a completion command: %v", c, err == nil, haveCompletion)
		}
	}
	// Nothing but that: no file outside the prefix.
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(p, pre+"/") {
			t.Errorf("make install wrote %s, outside PREFIX", p)
		}
		return nil
	})

	// The units as installed without DESTDIR (into a temporary PREFIX, so
	// that ExecStart= names a real file): systemd-analyze verify says
	// nothing, not even a warning about an unknown key.
	real := filepath.Join(tmp, "prefix")
	makeIn(t, tmp, "install", "PREFIX="+real)
	xdg := filepath.Join(tmp, "xdg")
	os.Mkdir(xdg, 0o700)
	for _, v := range [][]string{
		{"verify", "--man=no", filepath.Join(real, "lib/systemd/system/shepherd.service")},
		{"--user", "verify", "--man=no", filepath.Join(real, "lib/systemd/user/shepherd.service")},
	} {
		cmd := exec.Command("systemd-analyze", v...)
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+xdg)
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze %s: %v\n%s", strings.Join(v, " "), err, out)
		}
	}

	makeIn(t, tmp, "uninstall", "PREFIX=/usr/local", "DESTDIR="+dest)
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("make uninstall left %s", p)
		}
		return nil
	})
}

// checkUnit checks the settings docs/packaging.md explains.
func checkUnit(t *testing.T, name, text, shepherd string) {
	t.Helper()
	for _, want := range []string{"Type=notify", "ExecStart=" + shepherd + "\n", "ExecReload=kill -HUP $MAINPID", "Delegate=yes", "KillMode=mixed"} {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q:\n%s", name, want, text)
		}
	}
	if strings.Contains(text, "@") {
		t.Errorf("%s: a placeholder was not filled in:\n%s", name, text)
	}
}

// TestDeb builds the Debian package with make deb, installs it with dpkg
// into a temporary root (never the real one: dpkg --root, its maintainer
// scripts run with $DPKG_ROOT, which they and deb-systemd-helper honour),
// runs the installed shepherd and herd, opens every manual page with man
// -l, starts the installed daemon as systemd would (Type=notify), then
// removes and purges the package.
func TestDeb(t *testing.T) {
	need(t, "make", "go", "gzip", "dpkg", "dpkg-deb", "man")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI runs the tests as root: dpkg --root needs it")
		}
		t.Skip("dpkg --root runs as root")
	}
	tmp := t.TempDir()
	out := makeIn(t, tmp, "deb")
	debs, _ := filepath.Glob(filepath.Join(tmp, "build", "shepherd-go_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v\n%s", debs, out)
	}
	deb := debs[0]

	// What the real system has before, to see that it is left alone.
	realFiles := []string{"/usr/bin/shepherd", "/usr/bin/herd", "/usr/bin/herd-tools", "/usr/share/man/man1/herd-start.1.gz",
		"/usr/lib/systemd/system/shepherd.service", "/etc/systemd/system/multi-user.target.wants/shepherd.service",
		"/var/lib/systemd/deb-systemd-helper-enabled/shepherd.service.dsh-also", "/etc/shepherd/services.yaml"}
	before := map[string]bool{}
	for _, f := range realFiles {
		_, err := os.Lstat(f)
		before[f] = err == nil
	}

	root := filepath.Join(tmp, "root")
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	dpkg := func(args ...string) string {
		// --force-depends: the temporary root has no libc6 package (the
		// binaries run on the machine's); --force-script-chrootless: it
		// has no /bin/sh to chroot into either; --path-include=*: a
		// machine whose dpkg.cfg.d leaves out /usr/share/man and doc
		// (Debian's slim container images) must not leave them out here.
		return run(t, nil, "dpkg", append([]string{"--root=" + root, "--log=" + filepath.Join(tmp, "dpkg.log"),
			"--force-script-chrootless", "--force-depends", "--path-include=*"}, args...)...)
	}
	dpkg("-i", deb)

	// The package's fields: a Debian version made from the binaries' own.
	sv := run(t, nil, filepath.Join(root, "usr/bin/shepherd"), "--version")
	m := regexp.MustCompile(`^shepherd (\S+)\ncommit: ([0-9a-f]{40}|unknown)( \(modified\))?\ngo: go1\.\S+ \S+\n$`).FindStringSubmatch(sv)
	if m == nil {
		t.Fatalf("installed shepherd --version:\n%s", sv)
	}
	if strings.HasPrefix(m[1], "devel") || m[1] == "unknown" {
		t.Errorf("installed shepherd --version says %q: the Makefile did not stamp the version", m[1])
	}
	hv := run(t, nil, filepath.Join(root, "usr/bin/herd"), "--version")
	if want := strings.Replace(sv, "shepherd ", "herd ", 1); hv != want {
		t.Errorf("installed herd --version:\n%s\nwant:\n%s", hv, want)
	}
	// herd runs the herd-tools installed beside it (of its own build).
	svc, inv := filepath.Join(tmp, "valid.yaml"), filepath.Join(tmp, "inventory.yaml")
	os.WriteFile(svc, []byte("services: [{name: one}]\n"), 0o644)
	os.WriteFile(inv, []byte("hosts: {}\n"), 0o644)
	if out := run(t, []string{"PATH=/usr/bin:/bin"}, filepath.Join(root, "usr/bin/herd"), "config", "validate", "--inventory", inv, svc); out != inv+": 0 hosts, valid.\n"+svc+": 1 services, valid.\n" {
		t.Errorf("installed herd config validate: %q", out)
	}
	wantVer, err := version.Debian(m[1])
	if err != nil {
		t.Fatal(err)
	}
	fields := run(t, nil, "dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends", "Conflicts")
	for _, want := range []string{"Package: shepherd-go\n", "Version: " + wantVer + "\n", "Architecture: " + debArch(t) + "\n", "Depends: libc6 (>= 2.", "Conflicts: shepherd\n"} {
		if !strings.Contains(fields, want) {
			t.Errorf("the package's control lacks %q:\n%s", want, fields)
		}
	}
	if conf := run(t, nil, "dpkg-deb", "-I", deb, "conffiles"); conf != "/etc/shepherd/services.yaml\n" {
		t.Errorf("conffiles: %q", conf)
	}
	if st := dpkg("-s", "shepherd-go"); !strings.Contains(st, "Status: install ok installed") {
		t.Errorf("dpkg -s:\n%s", st)
	}

	// Every manual page opens with man -l, without a warning from groff.
	pages, _ := filepath.Glob(filepath.Join(root, "usr/share/man/man1/*.1.gz"))
	var names []string
	for _, p := range pages {
		name := strings.TrimSuffix(filepath.Base(p), ".1.gz")
		names = append(names, name+".1")
		cmd := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", p)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil || e.Len() > 0 {
			t.Errorf("man -l %s: %v\n%s", p, err, e.String())
			continue
		}
		if !regexp.MustCompile(`(?m)^NAME\n\s+` + regexp.QuoteMeta(name) + `\s+-\s+\S`).MatchString(o.String()) {
			t.Errorf("man -l %s: no NAME section for %s:\n%.400s", p, name, o.String())
		}
		if name != "shepherd" && !strings.Contains(o.String(), "SYNOPSIS") {
			t.Errorf("man -l %s: no SYNOPSIS", p)
		}
	}
	for _, p := range herdPages {
		if !slices.Contains(names, p) {
			t.Errorf("the package lacks the manual page %s (has %v)", p, names)
		}
	}

	// The unit, enabled in the temporary root by deb-systemd-helper as
	// postinst asks.
	unit, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/shepherd.service"))
	if err != nil {
		t.Fatal(err)
	}
	checkUnit(t, "shepherd.service", string(unit), "/usr/bin/shepherd")
	wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants/shepherd.service")
	if _, err := exec.LookPath("deb-systemd-helper"); err == nil {
		if l, err := os.Readlink(wants); err != nil || l != "/usr/lib/systemd/system/shepherd.service" {
			t.Errorf("postinst did not enable shepherd.service in the root: %q %v", l, err)
		}
	} else if os.Getenv("CI") != "" {
		t.Error("deb-systemd-helper (init-system-helpers) is not installed, and CI installs it")
	}

	// The installed daemon runs as shepherd.service runs it: with
	// NOTIFY_SOCKET, it says READY=1 once herd can reach it.
	runInstalled(t, root, tmp)

	// Installing again (an upgrade to the same version: postinst gets the
	// old version as $2) keeps the administrator's conffile.
	conffile := filepath.Join(root, "etc/shepherd/services.yaml")
	os.WriteFile(conffile, []byte("services: [{name: mine}]\n"), 0o644)
	dpkg("-i", deb)
	if b, _ := os.ReadFile(conffile); string(b) != "services: [{name: mine}]\n" {
		t.Errorf("reinstalling replaced the edited conffile: %q", b)
	}

	dpkg("-r", "shepherd-go")
	for _, f := range []string{"usr/bin/shepherd", "usr/bin/herd", "usr/share/man/man1/herd.1.gz", "usr/lib/systemd/system/shepherd.service"} {
		if _, err := os.Lstat(filepath.Join(root, f)); err == nil {
			t.Errorf("dpkg -r left %s", f)
		}
	}
	if _, err := os.Stat(conffile); err != nil {
		t.Errorf("dpkg -r removed the conffile (only a purge does): %v", err)
	}
	dpkg("-P", "shepherd-go")
	for _, f := range []string{"etc/shepherd/services.yaml", "etc/systemd/system/multi-user.target.wants/shepherd.service", "etc/systemd/system/shepherd.service"} {
		if _, err := os.Lstat(filepath.Join(root, f)); err == nil {
			t.Errorf("dpkg -P left %s", f)
		}
	}

	for _, f := range realFiles {
		if _, err := os.Lstat(f); (err == nil) != before[f] {
			t.Errorf("the real system's %s changed (existed %v, now %v)", f, before[f], err == nil)
		}
	}
}

// debArch is the machine's Debian architecture.
func debArch(t *testing.T) string {
	return strings.TrimSpace(run(t, nil, "dpkg", "--print-architecture"))
}

// runInstalled starts ROOT/usr/bin/shepherd on the package's
// /etc/shepherd/services.yaml with a NOTIFY_SOCKET, waits for READY=1,
// asks ROOT/usr/bin/herd for its status, stops it with SIGTERM (as
// systemctl stop does, KillMode=mixed) and waits for STOPPING=1 and its
// exit.
func runInstalled(t *testing.T, root, tmp string) {
	t.Helper()
	rundir := filepath.Join(tmp, "run")
	os.Mkdir(rundir, 0o700)
	notify := filepath.Join(rundir, "notify")
	sink, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	sock := filepath.Join(rundir, "shepherd", "socket")
	d := exec.Command(filepath.Join(root, "usr/bin/shepherd"), "--no-cgroup",
		"-c", filepath.Join(root, "etc/shepherd/services.yaml"), "-s", sock, "--state", filepath.Join(tmp, "state"))
	d.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify)
	// A file, not a pipe: Wait then never waits for whoever else holds it.
	logPath := filepath.Join(tmp, "daemon.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d.Stderr = logf
	daemonLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = d.Wait(); close(done) }()
	defer func() {
		select {
		case <-done:
		default:
			d.Process.Kill()
			<-done
		}
	}()
	read := func(want string) {
		t.Helper()
		sink.SetReadDeadline(time.Now().Add(deadline))
		buf := make([]byte, 4096)
		n, err := sink.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("from NOTIFY_SOCKET: %q, %v; want %q\ndaemon log:\n%s", buf[:n], err, want, daemonLog())
		}
	}
	read("READY=1")
	st := exec.Command(filepath.Join(root, "usr/bin/herd"), "-s", sock, "status")
	if out, err := st.CombinedOutput(); err != nil {
		t.Fatalf("installed herd status: %v\n%s", err, out)
	}
	d.Process.Signal(syscall.SIGTERM)
	read("STOPPING=1")
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("the installed shepherd exited with %v\n%s", waitErr, daemonLog())
		}
	case <-time.After(deadline):
		t.Errorf("the installed shepherd did not stop in %v", deadline)
	}
}
