package fleetshell

import (
	"reflect"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/fleet"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Line
		err  string
	}{
		{in: "", want: Line{}},
		{in: "   ", want: Line{}},
		{in: "# a comment", want: Line{}},
		{in: "uname -n", want: Line{Argv: []string{"uname", "-n"}}},
		{in: `sh -c 'echo a; exit 3'`, want: Line{Argv: []string{"sh", "-c", "echo a; exit 3"}}},
		{in: "@failed systemctl restart nginx", want: Line{Sels: []Sel{{Kind: Failed}}, Argv: []string{"systemctl", "restart", "nginx"}}},
		{in: "@changed @differs uptime", want: Line{Sels: []Sel{{Kind: Changed}, {Kind: Differs}}, Argv: []string{"uptime"}}},
		{in: "@tag:role=web @group:!eu @host:web[01-03] @exclude:web02 uptime", want: Line{
			Sels: []Sel{{Tag, "role=web"}, {Group, "!eu"}, {Hosts, "web[01-03]"}, {Exclude, "web02"}},
			Argv: []string{"uptime"}}},
		{in: "@failed -- @weird arg", want: Line{Sels: []Sel{{Kind: Failed}}, Argv: []string{"@weird", "arg"}}},
		{in: "-- @weird", want: Line{Argv: []string{"@weird"}}},
		{in: "exit", want: Line{Builtin: ":quit"}},
		{in: " quit ", want: Line{Builtin: ":quit"}},
		{in: ":quit", want: Line{Builtin: ":quit"}},
		{in: ":help", want: Line{Builtin: ":help"}},
		{in: ":last", want: Line{Builtin: ":last"}},
		{in: ":hosts", want: Line{Builtin: ":hosts"}},
		{in: ":hosts @tag:db @failed", want: Line{Builtin: ":hosts", Sels: []Sel{{Tag, "db"}, {Kind: Failed}}}},
		{in: ":hosts uname", err: ":hosts uname: expected selectors only"},
		{in: ":use @failed", want: Line{Builtin: ":use", Sels: []Sel{{Kind: Failed}}}},
		{in: ":use", want: Line{Builtin: ":use"}},
		{in: ":use web1", err: ":use web1: expected selectors only"},
		{in: ":help me", err: ":help takes no argument"},
		{in: ":nope", err: ":nope: no such shell command"},
		{in: "@failed", err: "@failed: give the command to run after the selectors (@failed uname -r)"},
		{in: "@tag:a @failed", err: "@failed: give the command to run after the selectors (@tag:a uname -r)"},
		{in: "@fail uname", err: "@fail: no such selector"},
		{in: "@tag: uname", err: "@tag:: give what to select: @tag:role=web"},
		{in: "@failed:x uname", err: "@failed:x: no such selector"},
		{in: "echo 'open", err: "unterminated ' quote"},
	} {
		got, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %+v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestSelString(t *testing.T) {
	for _, s := range []string{"@failed", "@changed", "@differs", "@tag:a,b", "@group:!eu", "@host:w[1-2]", "@exclude:w1"} {
		l, err := Parse(s + " x")
		if err != nil || len(l.Sels) != 1 || l.Sels[0].String() != s {
			t.Errorf("%s: parsed as %+v, %v", s, l.Sels, err)
		}
	}
}

func res(host, out string, code int, errMsg string) fleet.Result {
	r := fleet.Result{Host: host, Output: out, ExitCode: code, Err: errMsg}
	if errMsg != "" {
		r.Kind, r.ExitCode = "unreachable", -1
	}
	return r
}

func names(set map[string]bool) string {
	var n []string
	for k := range set {
		n = append(n, k)
	}
	return fleet.Fold(n)
}

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		results, earlier         []fleet.Result
		failed, changed, differs string
		fresh                    bool
	}{{
		name:    "all the same, nothing earlier",
		results: []fleet.Result{res("w1", "a", 0, ""), res("w2", "a", 0, "")},
		changed: "w[1-2]", fresh: true,
	}, {
		name:    "a failure and an unreachable host differ from the majority",
		results: []fleet.Result{res("w1", "a", 0, ""), res("w2", "a", 0, ""), res("w3", "a", 0, ""), res("w4", "", 3, ""), res("w5", "", 0, "refused")},
		earlier: []fleet.Result{res("w1", "a", 0, ""), res("w2", "a", 0, ""), res("w3", "a", 0, ""), res("w4", "", 3, ""), res("w5", "", 0, "refused")},
		failed:  "w[4-5]", differs: "w[4-5]",
	}, {
		name:    "changed: output, exit, error, or absent the time before",
		results: []fleet.Result{res("w1", "a", 0, ""), res("w2", "b", 0, ""), res("w3", "a", 1, ""), res("w4", "", 0, "down"), res("w5", "a", 0, "")},
		earlier: []fleet.Result{res("w1", "a", 0, ""), res("w2", "a", 0, ""), res("w3", "a", 0, ""), res("w4", "a", 0, ""), res("w9", "a", 0, "")},
		failed:  "w[3-4]", changed: "w[2-5]", differs: "w[2-4]",
	}, {
		name:    "a tie for the largest group: the first by name stays",
		results: []fleet.Result{res("w1", "x", 0, ""), res("w2", "y", 0, ""), res("w3", "x", 0, ""), res("w4", "y", 0, "")},
		earlier: []fleet.Result{res("w1", "x", 0, ""), res("w2", "y", 0, ""), res("w3", "x", 0, ""), res("w4", "y", 0, "")},
		differs: "w[2,4]",
	}} {
		l := Outcome("cmd", tc.results, tc.earlier)
		if got := names(l.Failed); got != tc.failed {
			t.Errorf("%s: failed %q, want %q", tc.name, got, tc.failed)
		}
		if got := names(l.Changed); got != tc.changed {
			t.Errorf("%s: changed %q, want %q", tc.name, got, tc.changed)
		}
		if got := names(l.Differs); got != tc.differs {
			t.Errorf("%s: differs %q, want %q", tc.name, got, tc.differs)
		}
		if l.Fresh != tc.fresh || l.Hosts != len(tc.results) {
			t.Errorf("%s: fresh %v, hosts %d", tc.name, l.Fresh, l.Hosts)
		}
	}
}

func testInventory(t *testing.T) *fleet.Inventory {
	t.Helper()
	inv, err := fleet.ParseInventory("inv.yaml", []byte(`hosts:
  web1: {address: "ssh://a@10.0.0.1", tags: {role: web, env: prod}, groups: [eu]}
  web2: {address: "ssh://a@10.0.0.2", tags: {role: web, env: staging}, groups: [eu]}
  web3: {address: "ssh://a@10.0.0.3", tags: [debian12], groups: [us]}
  db1: {address: "ssh://a@10.0.0.4", tags: {role: db, env: prod}}
`))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestResolve(t *testing.T) {
	inv := testInventory(t)
	all := inv.Hosts
	webs := (fleet.Selector{Hosts: []string{"web[1-3]"}}).Select(inv)
	last := &Last{Command: "uptime", Failed: map[string]bool{"web2": true, "db1": true}, Changed: map[string]bool{"web1": true, "web2": true},
		Differs: map[string]bool{"db1": true}}
	for _, tc := range []struct {
		line string
		base []*fleet.Host
		last *Last
		want string
		err  string
	}{
		{line: "x", base: all, want: "db1,web[1-3]"},
		{line: "x", base: webs, want: "web[1-3]"},
		{line: "@failed x", base: all, last: last, want: "db1,web2"},
		{line: "@failed x", base: webs, last: last, want: "web2"},
		{line: "@changed x", base: all, last: last, want: "web[1-2]"},
		{line: "@differs x", base: all, last: last, want: "db1"},
		{line: "@differs x", base: webs, last: last, want: ""},
		{line: "@failed @changed x", base: all, last: last, want: "web2"},
		{line: "@tag:role=web x", base: all, want: "web[1-2]"},
		{line: "@tag:debian12 x", base: all, want: "web3"},
		{line: "@tag:env x", base: all, want: "db1,web[1-2]"},
		{line: "@tag:!env=prod x", base: all, want: "web[2-3]"},
		{line: "@tag:role=web,env=prod x", base: all, want: "web1"},
		{line: "@tag:role=web @tag:env=prod x", base: all, want: "web1"},
		{line: "@group:eu x", base: all, want: "web[1-2]"},
		{line: "@group:!eu x", base: all, want: "db1,web3"},
		{line: "@host:web[2-3] x", base: all, want: "web[2-3]"},
		{line: "@host:web1 @host:db1 x", base: all, want: "db1,web1"},
		{line: "@exclude:web[1-2] x", base: all, want: "db1,web3"},
		{line: "@host:db1 x", base: webs, want: ""},
		{line: "@failed @tag:role=db x", base: all, last: last, want: "db1"},
		{line: "@failed x", base: all, err: "@failed: no line has run yet in this shell"},
		{line: "@differs x", base: all, err: "@differs: no line has run yet"},
		{line: "@tag:role=cache x", base: all, err: "@tag:role=cache: no host of inv.yaml has the tag role=cache (tags: "},
		{line: "@group:asia x", base: all, err: "@group:asia: no host of inv.yaml is in group asia"},
		{line: "@host:web9 x", base: all, err: "@host:web9: no such host in inv.yaml"},
		{line: "@exclude:web[1-x] x", base: all, err: "@exclude:web[1-x]: "},
	} {
		l, err := Parse(tc.line)
		if err != nil {
			t.Fatalf("%s: %v", tc.line, err)
		}
		hosts, err := Resolve(l.Sels, tc.base, inv, tc.last)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want error %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if got := foldHosts(hosts); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	none := &Last{Command: "uptime", Failed: map[string]bool{}, Changed: map[string]bool{}, Differs: map[string]bool{}}
	for _, tc := range []struct {
		sels []Sel
		want string
	}{
		{[]Sel{{Kind: Failed}}, "No host to run on: @failed selects none of this shell's hosts (no host failed uptime)."},
		{[]Sel{{Kind: Changed}}, "No host to run on: @changed selects none of this shell's hosts (every host answered uptime as the time before)."},
		{[]Sel{{Kind: Differs}}, "No host to run on: @differs selects none of this shell's hosts (every host answered uptime the same)."},
		{[]Sel{{Tag, "db"}}, "No host to run on: @tag:db selects none of this shell's hosts."},
	} {
		if got := Describe(tc.sels, none); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.sels, got, tc.want)
		}
	}
}
