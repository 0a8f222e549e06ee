// Package follow keeps the followers of a stream (events, log lines): an
// actor sends to all of them without ever blocking on a slow one.
package follow

// Set is the followers of a stream, each a buffered channel.
type Set[T any] map[chan T]bool

// Send sends v to every follower without blocking. A follower whose
// buffer is full is dropped and its channel closed: a slow reader never
// slows down the actor that feeds it, and it learns it missed something.
func (s Set[T]) Send(v T) {
	for ch := range s {
		select {
		case ch <- v:
		default:
			delete(s, ch)
			close(ch)
		}
	}
}

// Remove removes ch, closing it, if it still follows.
func (s Set[T]) Remove(ch chan T) {
	if s[ch] {
		delete(s, ch)
		close(ch)
	}
}
