package snapshot

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParsers(t *testing.T) {
	if got := ParseOSRelease([]string{`NAME="Debian GNU/Linux"`, `VERSION_ID="12"`, `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"`}); got != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("os-release: %q", got)
	}
	if got := ParseOSRelease([]string{`NAME=Fedora`, `VERSION_ID=40`}); got != "Fedora 40" {
		t.Errorf("os-release without PRETTY_NAME: %q", got)
	}
	for in, want := range map[string]int64{"12345.67 2345.00": 12345, "": 0, "x y": 0, "-5 1": 0} {
		if got := ParseUptime([]string{in}); got != want {
			t.Errorf("uptime %q: %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]int{"4": 4, " 8 ": 8, "x": 0, "-1": 0} {
		if got := ParseCPUs([]string{in}); got != want {
			t.Errorf("cpus %q: %d, want %d", in, got, want)
		}
	}
	total, avail := ParseMeminfo([]string{"MemTotal:        8000000 kB", "MemFree: 100 kB", "MemAvailable:    4000000 kB", "garbage"})
	if total != 8000000*1024 || avail != 4000000*1024 {
		t.Errorf("meminfo: %d %d", total, avail)
	}
	for _, tc := range []struct {
		name  string
		lines []string
		want  []Disk
	}{
		{"df -P -k", []string{
			"Filesystem     1024-blocks     Used Available Capacity Mounted on",
			"/dev/vdb1 100 10 90 10% /srv",
			"/dev/vda1 200 84 116 42% /",
			"//nas/share 1000 500 500 50% /mnt/my share",
		}, []Disk{
			{Mount: "/", Device: "/dev/vda1", Size: 200 * 1024, Used: 84 * 1024, UsePercent: 42},
			{Mount: "/mnt/my share", Device: "//nas/share", Size: 1000 * 1024, Used: 500 * 1024, UsePercent: 50},
			{Mount: "/srv", Device: "/dev/vdb1", Size: 100 * 1024, Used: 10 * 1024, UsePercent: 10},
		}},
		{"garbage and a duplicate", []string{"x y z", "/dev/a 1 1 0 - /", "/dev/a 10 5 5 50% /", "/dev/b 10 6 4 60% /"},
			[]Disk{{Mount: "/", Device: "/dev/a", Size: 10240, Used: 5120, UsePercent: 50}}},
		{"none", nil, []Disk{}},
	} {
		if got := ParseDF(tc.lines); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	pkgs := ParsePackages([]string{"nginx\t1.24.0", "bash\t5.2.15-2+b7", "bad line", "two words\t1", "bash\t5.2.15-2+b7", "\t1"})
	if want := []Package{{"bash", "5.2.15-2+b7"}, {"nginx", "1.24.0"}}; !slices.Equal(pkgs, want) {
		t.Errorf("packages: %+v", pkgs)
	}
	units := ParseUnits([]string{"ssh.service loaded active running OpenBSD Secure Shell server", "nginx.service loaded failed failed A high performance web server", "junk"})
	if want := []Unit{{"nginx.service", "failed", "failed"}, {"ssh.service", "active", "running"}}; !slices.Equal(units, want) {
		t.Errorf("units: %+v", units)
	}
}

func TestParseScriptOutput(t *testing.T) {
	out := "@@os\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n@@kernel\nLinux 6.1.0-18-amd64\n@@uptime\n3600.5 10.0\n@@cpus\n2\n" +
		"@@meminfo\nMemTotal: 1048576 kB\nMemAvailable: 524288 kB\n@@df\nFilesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda1 100 42 58 42% /\n" +
		"@@dpkg\nnginx\t1.24.0\n@@systemd\nnginx.service loaded active running nginx\n"
	h := Parse([]byte(out))
	want := Host{OS: "Debian GNU/Linux 12 (bookworm)", Kernel: "Linux 6.1.0-18-amd64", UptimeSeconds: 3600, CPUs: 2,
		MemTotal: 1 << 30, MemAvailable: 1 << 29, Disks: []Disk{{"/", "/dev/vda1", 102400, 43008, 42}},
		PackageManager: "dpkg", Packages: []Package{{"nginx", "1.24.0"}}, Services: []Service{}, Units: []Unit{{"nginx.service", "active", "running"}}}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got  %+v\nwant %+v", h, want)
	}
	// rpm when there is no dpkg; no package manager at all.
	if h := Parse([]byte("@@rpm\nbash\t5.1.8-6.el9\n")); h.PackageManager != "rpm" || len(h.Packages) != 1 {
		t.Errorf("rpm: %+v", h)
	}
	if h := Parse([]byte("@@os\n")); h.PackageManager != "" || h.Packages == nil || h.Disks == nil || h.Units == nil {
		t.Errorf("nothing: %+v", h)
	}
	// Hostile output: long lines are cut, nothing before a section counts.
	h = Parse([]byte("PRETTY_NAME=evil\n@@kernel\n" + strings.Repeat("k", 100000) + "\n"))
	if h.OS != "" || len(h.Kernel) != maxField {
		t.Errorf("hostile: os %q, kernel of %d bytes", h.OS, len(h.Kernel))
	}
}

func TestChanges(t *testing.T) {
	base := Host{OS: "Debian 12", Kernel: "Linux 6.1", UptimeSeconds: 1000, CPUs: 2, MemTotal: 2 << 30,
		Disks:    []Disk{{Mount: "/", UsePercent: 42}, {Mount: "/srv", UsePercent: 10}},
		Packages: []Package{{"bash", "5.2"}, {"nginx", "1.24.0"}},
		Services: []Service{{"web", "running"}},
		Units:    []Unit{{"nginx.service", "active", "running"}}}
	mod := func(f func(*Host)) Host {
		h := base
		h.Disks = slices.Clone(base.Disks)
		h.Packages = slices.Clone(base.Packages)
		h.Services = slices.Clone(base.Services)
		h.Units = slices.Clone(base.Units)
		h.UptimeSeconds += 500
		f(&h)
		return h
	}
	for _, tc := range []struct {
		name string
		b    Host
		want []string
	}{
		{"nothing but uptime", mod(func(h *Host) {}), nil},
		{"a disk filling", mod(func(h *Host) { h.Disks[0].UsePercent = 93 }), []string{"disk /: 42% → 93%"}},
		{"a disk mounted and one gone", mod(func(h *Host) { h.Disks = []Disk{{Mount: "/", UsePercent: 42}, {Mount: "/data", UsePercent: 1}} }),
			[]string{"disk /data: new, 1%", "disk /srv: gone"}},
		{"an upgrade and an install", mod(func(h *Host) { h.Packages = []Package{{"bash", "5.2"}, {"curl", "7.88"}, {"nginx", "1.26.0"}} }),
			[]string{"packages: +curl 7.88, +nginx 1.26.0, -nginx 1.24.0"}},
		{"a removal", mod(func(h *Host) { h.Packages = h.Packages[:1] }), []string{"packages: -nginx 1.24.0"}},
		{"a reboot into a new kernel", mod(func(h *Host) { h.Kernel, h.UptimeSeconds = "Linux 6.12", 120 }),
			[]string{"kernel: Linux 6.1 → Linux 6.12", "rebooted (up 2m)"}},
		{"services and units", mod(func(h *Host) {
			h.Services = []Service{{"web", "stopped"}, {"db", "running"}}
			h.Units = nil
		}), []string{"service web: running → stopped", "service db: new, running", "unit nginx.service: gone"}},
		{"memory and cpus", mod(func(h *Host) { h.CPUs, h.MemTotal = 4, 4<<30 }), []string{"cpus: 2 → 4", "memory: 2.0 GiB → 4.0 GiB"}},
	} {
		if got := Changes(base, tc.b); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
