package httpapi

import (
	"strconv"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestThrottle(t *testing.T) {
	now := time.Unix(1e9, 0)
	th := newThrottle(func() time.Time { return now })
	th.accepted("good")
	for i := range strikes - 1 {
		if th.strike("a") {
			t.Fatalf("shut out after %d strikes", i+1)
		}
	}
	// Strikes older than the span do not count.
	now = now.Add(strikeSpan + time.Second)
	if th.strike("a") || !th.banned("a", "x").IsZero() {
		t.Fatal("old strikes counted")
	}
	for range strikes - 1 {
		th.strike("a")
	}
	if th.banned("a", "x").IsZero() || th.banned("a", "").IsZero() {
		t.Fatal("not shut out after strikes within the span")
	}
	if !th.banned("b", "x").IsZero() {
		t.Fatal("another address shut out")
	}
	if !th.banned("a", "good").IsZero() {
		t.Fatal("a token accepted before is shut out")
	}
	now = now.Add(banFor)
	if !th.banned("a", "x").IsZero() {
		t.Fatal("still shut out after banFor")
	}
	// Bounded: a flood of addresses keeps the tables within maxTracked.
	for i := range 3 * maxTracked {
		th.strike(string(rune(i)))
	}
	if len(th.times) > maxTracked {
		t.Fatalf("%d addresses tracked", len(th.times))
	}
	// Addresses shut out one after another (a banned one leaves times,
	// so times never fills): the bans are bounded too.
	for i := range 3 * maxTracked {
		for range strikes {
			th.strike("ban" + strconv.Itoa(i))
		}
	}
	if len(th.until) > maxTracked {
		t.Fatalf("%d addresses shut out", len(th.until))
	}
}

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
