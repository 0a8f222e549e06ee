package exectarget

import (
	"reflect"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		argv    []string
		timeout time.Duration
		err     bool
	}{
		{[]string{"--timeout", "5s", "--", "echo", "--", "x"}, []string{"echo", "--", "x"}, 5 * time.Second, false},
		{[]string{"--", "true"}, []string{"true"}, DefaultTimeout, false},
		{[]string{"true"}, []string{"true"}, DefaultTimeout, false},
		{[]string{"--timeout", "soon", "--", "true"}, nil, 0, true},
		{[]string{"--timeout", "-1s", "--", "true"}, nil, 0, true},
		{nil, nil, DefaultTimeout, false},
	} {
		argv, timeout, err := Args(tc.args)
		if (err != nil) != tc.err || !reflect.DeepEqual(argv, tc.argv) || timeout != tc.timeout {
			t.Errorf("Args(%q) = %q, %v, %v", tc.args, argv, timeout, err)
		}
	}
	if Argv(wire.Request{Action: "start", Args: []string{"x"}}) != nil {
		t.Error("Argv of a start")
	}
	if got := Denied([]string{"rm", "-rf", "/"}).Message; got != `permission denied: no exec capability allows "rm -rf /"` {
		t.Errorf("Denied: %s", got)
	}
	if got := Quote([]string{"a b", "c"}); got != `"a b" "c"` {
		t.Errorf("Quote: %s", got)
	}
}
