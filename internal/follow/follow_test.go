package follow

import "testing"

func TestSlowFollowerIsDroppedNotWaitedFor(t *testing.T) {
	s := Set[int]{}
	fast, slow := make(chan int, 2), make(chan int, 1)
	s[fast], s[slow] = true, true
	s.Send(1)
	s.Send(2) // slow is full: dropped and closed
	if len(s) != 1 || !s[fast] {
		t.Fatalf("followers %v", s)
	}
	if <-slow != 1 {
		t.Fatal("the slow follower lost what it had")
	}
	if _, open := <-slow; open {
		t.Fatal("the dropped follower's channel is open")
	}
	s.Remove(fast)
	s.Remove(fast) // twice is fine
	if len(s) != 0 {
		t.Fatalf("followers %v", s)
	}
}
