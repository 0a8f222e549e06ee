package relay

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestArgsRoundTrip(t *testing.T) {
	hosts := []Host{{Name: "a", Ref: "ocapn://x"}, {Name: "b", Ref: "ocapn://y"}}
	req := wire.Request{Action: Action, Args: Args(hosts, []string{"echo", "--", "hi"}, 5*time.Second)}
	got, err := Parse(req)
	if err != nil || !reflect.DeepEqual(got, hosts) {
		t.Fatalf("Parse: %v, %v", got, err)
	}
	if want := []string{"--timeout", "5s", "--", "echo", "--", "hi"}; !reflect.DeepEqual(ExecArgs(req), want) {
		t.Fatalf("ExecArgs: %q, want %q", ExecArgs(req), want)
	}
	if ExecArgs(wire.Request{Action: "exec", Args: []string{"x"}}) != nil {
		t.Fatal("ExecArgs of another action")
	}
}

func TestParseRefuses(t *testing.T) {
	many := make([]Host, MaxHosts+1)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no args", nil, "expected HOSTS"},
		{"not json", []string{"nope", "--"}, "not a JSON list"},
		{"no hosts", []string{"[]", "--"}, "0 hosts"},
		{"too many", Args(many, []string{"true"}, time.Second), "2501 hosts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(wire.Request{Action: Action, Args: tc.args})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFold(t *testing.T) {
	big := strings.Repeat("x", MaxOutput+10)
	for _, tc := range []struct {
		name string
		in   []Answer
		want []Group
	}{
		{"alike", []Answer{{Host: "b"}, {Host: "a"}}, []Group{{Hosts: []string{"a", "b"}}}},
		{"refusal word for word", []Answer{{Host: "a", ExitCode: -1, Kind: "permission-denied", Err: `permission denied: no exec capability allows "id"`}, {Host: "b"}},
			[]Group{{Hosts: []string{"a"}, ExitCode: -1, Kind: "permission-denied", Err: `permission denied: no exec capability allows "id"`}, {Hosts: []string{"b"}}}},
		{"exit codes apart", []Answer{{Host: "a", ExitCode: 1}, {Host: "b"}, {Host: "c", ExitCode: 1}},
			[]Group{{Hosts: []string{"a", "c"}, ExitCode: 1}, {Hosts: []string{"b"}}}},
		{"long output cut", []Answer{{Host: "a", Output: big}},
			[]Group{{Hosts: []string{"a"}, Output: big[:MaxOutput] + "\n[relay: output cut at 65536 of 65546 bytes]\n"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Fold(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
