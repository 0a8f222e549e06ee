package insight

import (
	"slices"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/fleet"
)

func TestCompare(t *testing.T) {
	c := NewCopies()
	conf := []byte("a\nb\nc\nd\n")
	other := []byte("a\nb\nX\nd\n")
	bin := []byte("a\x00b")
	res := func(host string, data []byte) fleet.Result {
		r := fetched(c, data)
		r.Host = host
		return r
	}
	for _, tc := range []struct {
		name     string
		results  []fleet.Result
		majority []string
		outliers [][]string
		differ   int
		failed   int
	}{
		{"all alike", []fleet.Result{res("a", conf), res("b", conf)}, []string{"a", "b"}, nil, 0, 0},
		{"one outlier", []fleet.Result{res("a", conf), res("b", other), res("c", conf)}, []string{"a", "c"}, [][]string{{"b"}}, 1, 0},
		{"a tie: the first host's", []fleet.Result{res("a", other), res("b", conf)}, []string{"a"}, [][]string{{"b"}}, 1, 0},
		{"a failure is not compared", []fleet.Result{res("a", conf), {Host: "b", Err: "refused", Kind: "permission-denied", ExitCode: -1}}, []string{"a"}, nil, 0, 1},
		{"binary", []fleet.Result{res("a", conf), res("b", conf), res("c", bin)}, []string{"a", "b"}, [][]string{{"c"}}, 1, 0},
		{"nothing fetched", []fleet.Result{{Host: "a", Err: "gone", Kind: "unreachable", ExitCode: -1}}, nil, nil, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Compare("/etc/x", tc.results, c)
			if tc.majority == nil {
				if d.Majority != nil {
					t.Fatalf("majority %v", d.Majority.Hosts)
				}
			} else if d.Majority == nil || !slices.Equal(d.Majority.Hosts, tc.majority) {
				t.Fatalf("majority %+v, want %v", d.Majority, tc.majority)
			}
			var outs [][]string
			for _, o := range d.Outliers {
				outs = append(outs, o.Hosts)
			}
			if !slices.EqualFunc(outs, tc.outliers, slices.Equal) {
				t.Errorf("outliers %v, want %v", outs, tc.outliers)
			}
			if d.Differ != tc.differ || len(d.Failed) != tc.failed {
				t.Errorf("differ %d failed %d", d.Differ, len(d.Failed))
			}
		})
	}
	d := Compare("/etc/x", []fleet.Result{res("a", conf), res("b", conf), res("c", other)}, c)
	want := "--- /etc/x (a,b)\n+++ /etc/x (c)\n@@ -1,4 +1,4 @@\n a\n b\n-c\n+X\n d\n"
	if got := d.Outliers[0].Diff; got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	if d := Compare("/etc/x", []fleet.Result{res("a", conf), res("c", bin)}, c); !d.Outliers[0].Binary || strings.Contains(d.Outliers[0].Diff, "@@") {
		t.Errorf("binary: %+v", d.Outliers[0])
	}
}
