package fleetshell

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/fleet"
)

// fakeFleet answers each command from a table: host -> result.
type fakeFleet struct {
	answers map[string]func(host string) fleet.Result
	ran     []string // "cmd on hosts"
	earlier map[string][]fleet.Result
}

func (f *fakeFleet) exec(ctx context.Context, hosts []*fleet.Host, argv []string, selector string) (Ran, error) {
	cmd := strings.Join(argv, " ")
	f.ran = append(f.ran, cmd+" on "+foldHosts(hosts)+" ["+selector+"]")
	var out Ran
	for _, h := range hosts {
		r := fleet.Result{Host: h.Name}
		if a := f.answers[cmd]; a != nil {
			r = a(h.Name)
			r.Host = h.Name
		}
		out.Results = append(out.Results, r)
	}
	out.Earlier = f.earlier[cmd]
	if f.earlier == nil {
		f.earlier = map[string][]fleet.Result{}
	}
	f.earlier[cmd] = out.Results
	return out, nil
}

func TestScriptRunsLinesOnTheirHosts(t *testing.T) {
	inv := testInventory(t)
	ff := &fakeFleet{answers: map[string]func(string) fleet.Result{
		"check": func(h string) fleet.Result {
			if h == "web2" || h == "db1" {
				return fleet.Result{ExitCode: 3}
			}
			return fleet.Result{Output: "fine\n"}
		},
		"version": func(h string) fleet.Result {
			if h == "web3" {
				return fleet.Result{Output: "1.1\n"}
			}
			return fleet.Result{Output: "1.2\n"}
		},
		"broken": func(string) fleet.Result { return fleet.Result{ExitCode: 1} },
	}}
	for _, tc := range []struct {
		name   string
		script string
		ran    []string
		out    string // in the shell's own output
		errOut string
		code   int
	}{{
		name:   "@failed, then @differs, and the last line's status",
		script: "check\n@failed fix\nversion\n@differs upgrade\n",
		ran: []string{"check on db1,web[1-3] [shell -g x]", "fix on db1,web2 [shell -g x @failed]",
			"version on db1,web[1-3] [shell -g x]", "upgrade on web3 [shell -g x @differs]"},
	}, {
		name:   "a failing last line: exit 1",
		script: "version\nbroken\n",
		ran:    []string{"version on db1,web[1-3] [shell -g x]", "broken on db1,web[1-3] [shell -g x]"},
		code:   1,
	}, {
		name:   "a refused last line: exit 1; the shell went on before it",
		script: "@nope x\nversion\n@tag:role=cache x\n",
		ran:    []string{"version on db1,web[1-3] [shell -g x]"},
		errOut: "herd: error: @nope: no such selector",
		code:   1,
	}, {
		name:   "a line that picks no host: exit 0",
		script: "broken\n@tag:role=db @exclude:db1 x\n",
		ran:    []string{"broken on db1,web[1-3] [shell -g x]"},
		out:    "No host to run on: @tag:role=db @exclude:db1 selects none of this shell's hosts.",
	}, {
		name:   "@changed against the command's earlier run",
		script: "version\nversion\n@changed x\n",
		ran:    []string{"version on db1,web[1-3] [shell -g x]", "version on db1,web[1-3] [shell -g x]"},
		out:    "@changed selects none of this shell's hosts (every host answered version as the time before).",
	}, {
		name:   ":quit stops reading; :hosts and :last print",
		script: ":hosts @group:eu\ncheck\n:last\n:quit\nbroken\n",
		ran:    []string{"check on db1,web[1-3] [shell -g x]"},
		out:    "web[1-2] (2)\nLast line: check, on 4 hosts.\n  @failed: db1,web2 (2)\n  @changed (its first recorded run: every host): db1,web[1-3] (4)\n  @differs: web[1,3] (2)\n", // a tie: the first group by name stays
	}, {
		name:   ":use narrows every line after it, until :use alone",
		script: ":use @group:eu\ncheck\n@failed fix\n:use @tag:role=db\ncheck\n:use @host:web9\n:use\ncheck\n",
		ran: []string{"check on web[1-2] [shell -g x :use @group:eu ;]", "fix on web2 [shell -g x :use @group:eu ; @failed]",
			"check on db1 [shell -g x :use @tag:role=db ;]", "check on db1,web[1-3] [shell -g x]"},
		out:    "The lines now run on web[1-2] (2).\n",
		errOut: "herd: error: @host:web9: no such host in inv.yaml",
		code:   1,
	}, {
		name:   ":use that selects nothing is refused",
		script: "version\n:use @failed\nversion\n",
		ran:    []string{"version on db1,web[1-3] [shell -g x]", "version on db1,web[1-3] [shell -g x]"},
		errOut: "herd: error: :use: @failed selects none of this shell's hosts (no host failed version); the lines still run on db1,web[1-3] (4)",
	}, {
		name:   "@failed before any line",
		script: "@failed x\n",
		errOut: "herd: error: @failed: no line has run yet in this shell",
		code:   1,
	}} {
		ff.ran, ff.earlier = nil, nil
		var out, errOut bytes.Buffer
		code := Run(Config{In: strings.NewReader(tc.script), Out: &out, Err: &errOut, Term: &out,
			Inventory: inv, Hosts: inv.Hosts, Selector: "-g x", Exec: ff.exec})
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tc.name, code, tc.code, errOut.String())
		}
		if strings.Join(ff.ran, "\n") != strings.Join(tc.ran, "\n") {
			t.Errorf("%s: ran\n  %s\nwant\n  %s", tc.name, strings.Join(ff.ran, "\n  "), strings.Join(tc.ran, "\n  "))
		}
		if !strings.Contains(out.String(), tc.out) {
			t.Errorf("%s: output %q lacks %q", tc.name, out.String(), tc.out)
		}
		if !strings.Contains(errOut.String(), tc.errOut) {
			t.Errorf("%s: stderr %q lacks %q", tc.name, errOut.String(), tc.errOut)
		}
		if tc.errOut == "" && errOut.Len() > 0 {
			t.Errorf("%s: stderr %q", tc.name, errOut.String())
		}
	}
}
