package config

import "testing"

func TestLeftoversKey(t *testing.T) {
	specs, errs := Parse("s.yaml", []byte(`services:
  - name: a
    command: [sleep, "1"]
  - name: b
    command: [sleep, "1"]
    leftovers: stop
  - name: c
    command: [sleep, "1"]
    leftovers: adopt
`), testAccounts)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	for i, want := range []bool{false, true, false} {
		if got := specs[i].StopLeftovers; got != want {
			t.Errorf("%s: StopLeftovers %v, want %v", specs[i].Name, got, want)
		}
	}
	_, errs = Parse("s.yaml", []byte(`services:
  - name: a
    command: [sleep, "1"]
    leftovers: kill
`), testAccounts)
	if len(errs) != 1 || errs[0].Error() != `s.yaml:4:16: leftovers: expected adopt or stop, got "kill"` {
		t.Errorf("errors %q", errs)
	}
}
