package actors

// fanOut sends v to every follower without blocking. A follower whose
// buffer is full is dropped and its channel closed: a slow reader never
// slows down the actor that feeds it, and it learns it missed something.
func fanOut[T any](followers map[chan T]bool, v T) {
	for ch := range followers {
		select {
		case ch <- v:
		default:
			delete(followers, ch)
			close(ch)
		}
	}
}

// unfollow removes ch, closing it, if it still follows.
func unfollow[T any](followers map[chan T]bool, ch chan T) {
	if followers[ch] {
		delete(followers, ch)
		close(ch)
	}
}
