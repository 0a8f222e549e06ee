package relay

import (
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestParseStream(t *testing.T) {
	h := Host{Name: "node02", Ref: "ocapn://x"}
	tests := []struct {
		name  string
		inner wire.Request
		args  []string // instead of StreamArgs(h, inner)
		want  string   // "" parsed, else part of the error
	}{
		{"a file's tail", wire.Request{Service: "read", Action: "tail", Args: []string{"--follow", "--path", "/var/log/x"}}, nil, ""},
		{"a service's log -f", wire.Request{Action: "log", Args: []string{"-n", "10", "-f"}}, nil, ""},
		{"a log without -f", wire.Request{Action: "log", Args: []string{"-n", "10"}}, nil, `not "log" on ""`},
		{"an exec", wire.Request{Service: "exec", Action: "exec", Args: []string{"--", "rm", "-rf", "/"}}, nil, `not "exec" on "exec"`},
		{"a start", wire.Request{Service: "web", Action: "start"}, nil, `not "start" on "web"`},
		{"a tail of another target", wire.Request{Service: "files", Action: "tail"}, nil, `not "tail" on "files"`},
		{"no --follow", wire.Request{}, []string{`{"name":"a","ref":"b"}`, `{"action":"log"}`, "x"}, "expected --follow HOST REQUEST"},
		{"a host that is not JSON", wire.Request{}, []string{"--follow", "node02", `{"action":"log"}`}, "the host is not a JSON {name, ref}"},
		{"a host without its ref", wire.Request{}, []string{"--follow", `{"name":"a"}`, `{"action":"log"}`}, "the host is not a JSON {name, ref}"},
		{"a request that is not JSON", wire.Request{}, []string{"--follow", `{"name":"a","ref":"b"}`, `log`}, "the request is not a JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args == nil {
				args = StreamArgs(h, tt.inner)
			}
			gotHost, inner, err := ParseStream(wire.Request{Service: Target, Action: StreamAction, Args: args})
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The host is asked with the holder's sturdyref, marked relayed,
			// and nothing of the caller's request beyond what it names.
			if gotHost != h || inner.Cap != h.Ref || !inner.Relayed || inner.Service != tt.inner.Service || inner.Action != tt.inner.Action || strings.Join(inner.Args, " ") != strings.Join(tt.inner.Args, " ") {
				t.Fatalf("parsed %+v %+v", gotHost, inner)
			}
		})
	}
}

func FuzzParseStream(f *testing.F) {
	f.Add("--follow", `{"name":"a","ref":"b"}`, `{"service":"read","action":"tail","args":["--follow"]}`)
	f.Add("--follow", `{"name":"a","ref":"b"}`, `{"action":"log","args":["-f"]}`)
	f.Fuzz(func(t *testing.T, a, b, c string) {
		_, inner, err := ParseStream(wire.Request{Args: []string{a, b, c}})
		if err != nil {
			return
		}
		if !(inner.Service == "read" && inner.Action == "tail") && !(inner.Service == "" && inner.Action == "log") || !inner.Relayed || inner.Cap == "" {
			t.Fatalf("relayed %+v", inner)
		}
	})
}
