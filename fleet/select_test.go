package fleet

import (
	"fmt"
	"strings"
	"testing"
)

func TestExpandHosts(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"web1", "web1"},
		{"web[01-03]", "web01 web02 web03"},
		{"db[1-3,7]", "db1 db2 db3 db7"},
		{"web[08-10]", "web08 web09 web10"},
		{"web[9-11]", "web9 web10 web11"},
		{"a,b[1-2],c", "a b1 b2 c"},
		{"r[1-2]n[1-2]", "r1n1 r1n2 r2n1 r2n2"},
		{"n[1-2].example.com", "n1.example.com n2.example.com"},
		{"web[3-1]", "error: goes backwards"},
		{"web[a-c]", "error: expected numbers"},
		{"web[1-2", "error: unbalanced"},
		{"web1-2]", "error: unbalanced"},
		{"a,,b", "error: an empty name"},
		{"x[1-999999999]", "error: more than"},
		{"x[[1]]", "error: nested"},
	} {
		got, err := ExpandHosts(tc.in)
		s := strings.Join(got, " ")
		if err != nil {
			s = "error: " + err.Error()
		}
		if !strings.HasPrefix(s, tc.want) && !(strings.HasPrefix(tc.want, "error: ") && strings.Contains(s, strings.TrimPrefix(tc.want, "error: "))) {
			t.Errorf("ExpandHosts(%q) = %q, want %q", tc.in, s, tc.want)
		}
	}
}

const rangedInventory = `hosts:
  web[01-04]:
    address: ssh://admin@%h:22
    tags: [debian12, arm64, role=web]
    groups: [eu]
  db[1-3,7]:
    address: ssh://%h
    tags: {role: db}
    groups: [us]
  lone:
    address: ssh://lone
    tags: [debian12]
`

func TestSelectionAsClushDoesIt(t *testing.T) {
	inv, err := ParseInventory("inv.yaml", []byte(rangedInventory))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Hosts) != 9 || inv.Hosts[1].Name != "web02" || inv.Hosts[1].SSH.Host != "web02" || inv.Hosts[1].SSH.User != "admin" || inv.Hosts[7].Name != "db7" {
		t.Fatalf("hosts: %v", names(inv.Hosts))
	}
	if h := inv.Hosts[0]; h.Tags["role"] != "web" || strings.Join(h.Labels, ",") != "debian12,arm64" {
		t.Errorf("web01's tags %v, labels %v", h.Tags, h.Labels)
	}
	for _, tc := range []struct {
		sel  Selector
		want string
	}{
		{Selector{Hosts: []string{"web[02-03]"}}, "web02 web03"},
		{Selector{Hosts: []string{"web01,db[2-3]"}}, "web01 db2 db3"},
		{Selector{Tags: []string{"debian12"}}, "web01 web02 web03 web04 lone"},
		{Selector{Tags: []string{"debian12,arm64"}}, "web01 web02 web03 web04"},
		{Selector{Tags: []string{"debian12,!arm64"}}, "lone"},
		{Selector{Tags: []string{"debian12", "role=web"}}, "web01 web02 web03 web04"},
		{Selector{Tags: []string{"role"}}, "web01 web02 web03 web04 db1 db2 db3 db7"},
		{Selector{Groups: []string{"!eu"}}, "db1 db2 db3 db7 lone"},
		{Selector{Groups: []string{"!web", "!db"}}, "lone"},
		{Selector{Groups: []string{"db"}, Exclude: []string{"db[2-3]"}}, "db1 db7"},
		{Selector{Exclude: []string{"web[01-04],lone"}}, "db1 db2 db3 db7"},
		{Selector{Hosts: []string{"web[01-04]"}, Exclude: []string{"web02"}}, "web01 web03 web04"},
	} {
		if err := tc.sel.Check(inv); err != nil {
			t.Errorf("%+v: %v", tc.sel, err)
		}
		if got := strings.Join(names(tc.sel.Select(inv)), " "); got != tc.want {
			t.Errorf("%+v selects %q, want %q", tc.sel, got, tc.want)
		}
	}
	for _, tc := range []struct {
		sel  Selector
		want string
	}{
		{Selector{Groups: []string{"nowhere"}}, "-g nowhere: no host of inv.yaml is in group nowhere (groups: db, eu, us, web)"},
		{Selector{Groups: []string{"!nowhere"}}, "-g !nowhere: no host of inv.yaml is in group nowhere"},
		{Selector{Tags: []string{"debian13"}}, "-t debian13: no host of inv.yaml has the tag or tag key debian13 (tags: arm64, debian12, role, role=db, role=web)"},
		{Selector{Tags: []string{"role=cache"}}, "-t role=cache: no host of inv.yaml has the tag role=cache"},
		{Selector{Tags: []string{"!!x"}}, "expected KEY=VALUE"},
		{Selector{Hosts: []string{"web[01-05]"}}, "-H web05: no such host in inv.yaml"},
		{Selector{Exclude: []string{"db9"}}, "-x db9: no such host"},
		{Selector{Hosts: []string{"web[1-"}}, "-H \"web[1-\": unbalanced brackets"},
	} {
		err := tc.sel.Check(inv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.sel, err, tc.want)
		}
	}
	if got := fmt.Sprint(CountTags(inv.Hosts)); got != "[{debian12 5} {arm64 4} {role=db 4} {role=web 4}]" {
		t.Errorf("tag counts %s", got)
	}
}

func TestRangedInventoryErrors(t *testing.T) {
	_, err := ParseInventory("inv.yaml", []byte(`hosts:
  web[01-02]:
    address: ssh://%h
  web01:
    address: ssh://x
  db[3-1]:
    address: ssh://%h
  box:
    address: ssh://box
    tags: [ok, "bad tag", a=]
`))
	for _, want := range []string{
		"inv.yaml:4:3: host web01 is listed twice",
		`inv.yaml:6:3: host names "db[3-1]": [3-1]: 3-1 goes backwards`,
		"inv.yaml:10:16: host box: tags: expected words",
		"inv.yaml:10:27: host box: tags: expected words",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

func names(hs []*Host) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

func TestInventoryIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("hosts:\n")
	for i := range 3 {
		fmt.Fprintf(&b, "  r%d-[1-50000]:\n    address: ssh://%%h\n", i)
	}
	_, err := ParseInventory("inv.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "inv.yaml:6:3: more than 100000 hosts in the inventory") {
		t.Errorf("150000 hosts: %v", err)
	}
}
