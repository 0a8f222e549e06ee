package httpguard

import (
	"strconv"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	now := time.Unix(1e9, 0)
	th := NewThrottle(func() time.Time { return now })
	th.Accepted("good")
	for i := range Strikes - 1 {
		if th.Strike("a") {
			t.Fatalf("shut out after %d Strikes", i+1)
		}
	}
	// Strikes older than the span do not count.
	now = now.Add(StrikeSpan + time.Second)
	if th.Strike("a") || !th.Banned("a", "x").IsZero() {
		t.Fatal("old Strikes counted")
	}
	for range Strikes - 1 {
		th.Strike("a")
	}
	if th.Banned("a", "x").IsZero() || th.Banned("a", "").IsZero() {
		t.Fatal("not shut out after Strikes within the span")
	}
	if !th.Banned("b", "x").IsZero() {
		t.Fatal("another address shut out")
	}
	if !th.Banned("a", "good").IsZero() {
		t.Fatal("a token accepted before is shut out")
	}
	now = now.Add(BanFor)
	if !th.Banned("a", "x").IsZero() {
		t.Fatal("still shut out after BanFor")
	}
	// Bounded: a flood of addresses keeps the tables within maxTracked.
	for i := range 3 * maxTracked {
		th.Strike(string(rune(i)))
	}
	if len(th.times) > maxTracked {
		t.Fatalf("%d addresses tracked", len(th.times))
	}
	// Addresses shut out one after another (a banned one leaves times,
	// so times never fills): the bans are bounded too.
	for i := range 3 * maxTracked {
		for range Strikes {
			th.Strike("ban" + strconv.Itoa(i))
		}
	}
	if len(th.until) > maxTracked {
		t.Fatalf("%d addresses shut out", len(th.until))
	}
}
