package httpapi

import (
	"testing"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestStatusOfEveryKind(t *testing.T) {
	want := map[wire.ErrorKind]int{
		wire.ServiceNotFound: 404, wire.ActionNotFound: 404, wire.DependencyFailed: 409, wire.StartFailed: 409,
		wire.PermissionDenied: 403, wire.CapabilityRevoked: 401, wire.CapabilityExpired: 401, wire.Unreachable: 503,
		wire.Timeout: 503, wire.InvalidConfig: 409, wire.BadRequest: 400,
	}
	for k, code := range want {
		if !wire.KnownKind(k) || statusOf(k) != code {
			t.Errorf("%s: %d, want %d", k, statusOf(k), code)
		}
	}
	if statusOf("no-such-kind") != 500 {
		t.Error("an unknown kind is not 500")
	}
}

func TestOptionsCheck(t *testing.T) {
	for _, c := range []struct {
		o  Options
		ok bool
	}{
		{Options{}, true},
		{Options{Addr: "127.0.0.1:8080"}, true},
		{Options{Addr: "[::1]:8080"}, true},
		{Options{Addr: "localhost:0"}, true},
		{Options{Addr: "0.0.0.0:8080"}, false},
		{Options{Addr: ":8080"}, false},
		{Options{Addr: "10.0.0.5:8080"}, false},
		{Options{Addr: "10.0.0.5:8080", CertFile: "c", KeyFile: "k"}, true},
		{Options{Addr: "127.0.0.1:8080", CertFile: "c"}, false},
		{Options{CertFile: "c", KeyFile: "k"}, false},
		{Options{Addr: "nonsense"}, false},
	} {
		if err := c.o.Check(); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.o, err)
		}
	}
}
