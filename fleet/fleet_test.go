package fleet

import (
	"strings"
	"testing"
)

const inventory = `hosts:
  web1:
    address: ssh://admin@10.0.0.1:2222
    tags: {role: web, env: prod}
    groups: [eu]
  web2:
    address: ssh://10.0.0.2
    tags: {role: web, env: staging}
    groups: [us]
  web3:
    address: ssh://admin@10.0.0.3
    tags: {role: web, env: prod}
    groups: [us]
  db1:
    address: ssh://admin@10.0.0.9:22
    tags: {role: db, env: prod}
    groups: [eu]
`

func TestSelectors(t *testing.T) {
	inv, err := ParseInventory("inv.yaml", []byte(inventory))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sel  Selector
		want string
	}{
		{Selector{}, "web1 web2 web3 db1"},
		{Selector{Groups: []string{"web"}}, "web1 web2 web3"},
		{Selector{Groups: []string{"web", "eu"}}, "web1"},
		{Selector{Tags: []string{"env=prod"}}, "web1 web3 db1"},
		{Selector{Tags: []string{"!env=staging"}}, "web1 web3 db1"},
		{Selector{Groups: []string{"web"}, Tags: []string{"!env=staging"}}, "web1 web3"},
		{Selector{Hosts: []string{"db1", "web2"}}, "web2 db1"},
		{Selector{Groups: []string{"nowhere"}}, ""},
	} {
		var names []string
		for _, h := range tc.sel.Select(inv) {
			names = append(names, h.Name)
		}
		if got := strings.Join(names, " "); got != tc.want {
			t.Errorf("%+v selects %q, want %q", tc.sel, got, tc.want)
		}
	}
	if a := inv.Hosts[0].SSH; a.User != "admin" || a.Port != 2222 || a.Host != "10.0.0.1" {
		t.Errorf("web1's address: %+v", a)
	}
	if err := (Selector{Tags: []string{"colour"}}).Check(inv); err == nil || !strings.Contains(err.Error(), "no host of inv.yaml has the tag or tag key colour") {
		t.Errorf("-t colour: %v", err)
	}
	if err := (Selector{Hosts: []string{"web9"}}).Check(inv); err == nil || !strings.Contains(err.Error(), "inv.yaml") {
		t.Errorf("-H web9: %v", err)
	}
}

func TestInventoryErrorsNameTheirPlace(t *testing.T) {
	_, err := ParseInventory("inv.yaml", []byte(`hosts:
  web1:
    address: http://example.com
    colour: blue
  web1:
    address: ssh://a@b:99999
  bad/name:
    address: ocapn://nope
  nothing:
    tags: a
`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`inv.yaml:3:14: host web1: address "http://example.com": expected`,
		`inv.yaml:4:5: host web1: unknown key "colour"`,
		`inv.yaml:5:3: host web1 is listed twice`,
		`inv.yaml:6:14: host web1: "ssh://a@b:99999": bad port`,
		`inv.yaml:7:3: host name "bad/name"`,
		`inv.yaml:8:14: host bad/name:`,
		`inv.yaml:9:3: host nothing: address is required`,
		`inv.yaml:10:11: host nothing: tags: expected a mapping such as {role: web} or a list`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

func TestFold(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"web1 web2 web3 web5 web7", "web[1-3,5,7]"},
		{"web3 web1 web2", "web[1-3]"},
		{"node01 node02 node03 node10", "node[01-03,10]"},
		{"db1", "db1"},
		{"alpha web1 db1 db2", "alpha,db[1-2],web1"},
		{"web9 web10 web11", "web[9-11]"},
	} {
		if got := Fold(strings.Fields(tc.in)); got != tc.want {
			t.Errorf("Fold(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGroupResultsAndSummary(t *testing.T) {
	rs := []Result{
		{Host: "web1", Output: "Linux\n"}, {Host: "web2", Output: "Linux\n"}, {Host: "web3", Output: "Linux\n"},
		{Host: "db1", Output: "oops\n", ExitCode: 2},
		{Host: "db2", Err: "connection refused", Kind: "unreachable", ExitCode: -1},
		{Host: "web4", Output: "Linux\n"},
	}
	gs := GroupResults(rs)
	if len(gs) != 3 || Fold(gs[0].Hosts) != "web[1-4]" || gs[1].Hosts[0] != "db1" || gs[2].Hosts[0] != "db2" {
		t.Fatalf("groups %+v", gs)
	}
	if got := Summary(rs); got != "4 ok, 1 failed, 1 unreachable" {
		t.Errorf("summary %q", got)
	}
	if got := Summary(rs[:1]); got != "1 ok" {
		t.Errorf("summary %q", got)
	}
}

func TestDiff(t *testing.T) {
	a := []Result{
		{Host: "n1", Output: "v1\n"}, {Host: "n2", Output: "v1\n"}, {Host: "n3", Output: "v1\n"},
		{Host: "n4", Output: "v1\n"}, {Host: "gone", Output: "v1\n"},
	}
	b := []Result{
		{Host: "n1", Output: "v1\n"}, {Host: "n2", Output: "v2\n"}, {Host: "n3", Output: "v2\n"},
		{Host: "n4", Err: "connection refused", Kind: "unreachable", ExitCode: -1}, {Host: "new", Output: "v2\n", ExitCode: 1},
	}
	changes, same := Diff(a, b)
	if same != 1 || len(changes) != 4 {
		t.Fatalf("same %d, changes %+v", same, changes)
	}
	c := changes[0]
	if Fold(c.Hosts) != "n[2-3]" || c.From != "ok" || c.To != "ok" || c.Diff != "@@ -1 +1 @@\n-v1\n+v2\n" {
		t.Errorf("first change %+v", c)
	}
	var rest []string
	for _, c := range changes[1:] {
		rest = append(rest, c.Hosts[0]+":"+c.From+"->"+c.To)
	}
	if got := strings.Join(rest, " "); got != "gone:ok->absent n4:ok->unreachable new:absent->exit 1" {
		t.Errorf("other changes %s", got)
	}
}

func TestDiffIsAUnifiedDiffInOrder(t *testing.T) {
	a := []Result{{Host: "n1", Output: "a\nb\nc\nd\ne\nf\ng\nh\n"}, {Host: "n2", Output: "x\ny\n"}}
	b := []Result{{Host: "n1", Output: "a\nb\nc\nD\ne\nf\ng\nh\n"}, {Host: "n2", Output: "y\nx\n"}}
	changes, same := Diff(a, b)
	if same != 0 || len(changes) != 2 {
		t.Fatalf("same %d, changes %+v", same, changes)
	}
	want := map[string]string{
		"n1": "@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n",
		// The same lines in another order: a change.
		"n2": "@@ -1,2 +1,2 @@\n+y\n x\n-y\n",
	}
	for _, c := range changes {
		if c.Diff != want[c.Hosts[0]] {
			t.Errorf("%s: diff\n%s\nwant\n%s", c.Hosts[0], c.Diff, want[c.Hosts[0]])
		}
	}
}

// FuzzParseInventory: any bytes give hosts or errors with positions, never
// a panic, and every host it accepts has exactly one way to be reached.
func FuzzParseInventory(f *testing.F) {
	f.Add([]byte(inventory))
	f.Add([]byte("hosts:\n  a:\n    address: ocapn://12D3KooWxyz.libp2p/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"))
	f.Add([]byte("hosts: [1, 2]\n"))
	f.Add([]byte("hosts:\n  a:\n    address: ssh://[::1]:22\n    tags: {a: [b]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseInventory("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml:") {
				t.Fatalf("error without its place: %v", err)
			}
			return
		}
		for _, h := range inv.Hosts {
			if (h.Ref == nil) == (h.SSH == nil) {
				t.Fatalf("host %s: address %q gives ref %v and ssh %v", h.Name, h.Address, h.Ref, h.SSH)
			}
		}
	})
}

func TestInventoryVia(t *testing.T) {
	const relayRef = "ocapn://12D3KooWCweZpwBMEdH22AjEvgYMRMiQDyME9D5cjcd2Yfup6gPX.libp2p/s/Tg3KCl7BQIuUaIUjNdpApOXRnAr3Oz31XnL2Fwr0NLQ?addr=/ip4/127.0.0.1/tcp/1"
	const hostRef = "ocapn://12D3KooWCweZpwBMEdH22AjEvgYMRMiQDyME9D5cjcd2Yfup6gPX.libp2p/s/3UaDaQjBbK9eaXQozPR_SeOWlDM0Nr9N0sBsRDmsbnk?addr=/ip4/127.0.0.1/tcp/2"
	inv, err := ParseInventory("inv.yaml", []byte("hosts:\n  r1:\n    address: "+relayRef+"\n  h1:\n    address: "+hostRef+"\n    via: r1\n  h2:\n    address: "+hostRef+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if h1, h2 := inv.Hosts[1], inv.Hosts[2]; h1.Relay != inv.Hosts[0] || h1.Via != "r1" || h2.Relay != nil {
		t.Fatalf("h1 via %q relay %v, h2 relay %v", h1.Via, h1.Relay, h2.Relay)
	}
	for _, tc := range []struct{ inv, want string }{
		{"hosts:\n  h1:\n    address: " + hostRef + "\n    via: nope\n", `inv.yaml:4:10: host h1: via: no host "nope" in the inventory`},
		{"hosts:\n  r1:\n    address: ssh://root@r1\n  h1:\n    address: " + hostRef + "\n    via: r1\n", "host h1: via: relay r1 needs an ocapn:// address"},
		{"hosts:\n  r0:\n    address: " + relayRef + "\n  r1:\n    address: " + relayRef + "\n    via: r0\n  h1:\n    address: " + hostRef + "\n    via: r1\n", "relay r1 is itself behind relay r0"},
		{"hosts:\n  r1:\n    address: " + relayRef + "\n  h1:\n    address: ssh://root@h1\n    via: r1\n", "host h1: via: a host behind a relay needs an ocapn:// address"},
	} {
		if _, err := ParseInventory("inv.yaml", []byte(tc.inv)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.inv, err, tc.want)
		}
	}
}

func TestInventoryServices(t *testing.T) {
	const ref = "ocapn://12D3KooWCweZpwBMEdH22AjEvgYMRMiQDyME9D5cjcd2Yfup6gPX.libp2p/s/3UaDaQjBbK9eaXQozPR_SeOWlDM0Nr9N0sBsRDmsbnk?addr=/ip4/127.0.0.1/tcp/2"
	inv, err := ParseInventory("inv.yaml", []byte("hosts:\n  h1:\n    address: "+ref+"\n    services: {web: \""+ref+"\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.Hosts[0].Services["web"]; got != ref {
		t.Fatalf("services: %v", inv.Hosts[0].Services)
	}
	for _, tc := range []struct{ inv, want string }{
		{"hosts:\n  h1:\n    address: " + ref + "\n    services: [web]\n", "inv.yaml:4:15: host h1: services: expected a mapping of service names to capabilities"},
		{"hosts:\n  h1:\n    address: " + ref + "\n    services: {web: nope}\n", "inv.yaml:4:21: host h1: services: web: "},
	} {
		if _, err := ParseInventory("inv.yaml", []byte(tc.inv)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.inv, err, tc.want)
		}
	}
}
