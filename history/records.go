package history

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// EachRecord calls fn with the records of kind whose keys are in [from,
// to), in key order; an empty to means up to the last one. fn's key and
// value are only valid during the call. An error of fn ends the scan and
// is returned. Owners of many records (facts, with retention) read
// ranges of them with it rather than all of them at once.
func (s *Store) EachRecord(kind, from, to string, fn func(key string, value []byte) error) error {
	lower := recordKey(kind, from)
	upper := append(append([]byte{prefixRecord}, kind...), 1)
	if to != "" {
		upper = recordKey(kind, to)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("history store %s: %w", s.path, err)
	}
	defer it.Close()
	prefix := len(recordKey(kind, ""))
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(string(it.Key()[prefix:]), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}
