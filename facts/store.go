package facts

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/history"
)

// Record kinds in the history store. Values are Encode's JSON lines, so
// what is stored is the documented format, versioned.
const (
	// KindSample holds every sample, keyed by host, time, subject and
	// name (SampleKey): one host's samples are a range in time order,
	// and retention deletes a prefix of each host's range.
	KindSample = "fact"
	// KindLatest holds the latest value of each host, subject and name
	// (LatestKey): herd facts and the query's facts table read it.
	KindLatest = "fact-latest"
)

// SampleKey is the store key of a sample: host (empty for the local
// host), then the time as 16 hex digits, subject and name, each after a
// NUL.
func SampleKey(f Fact) string {
	return fmt.Sprintf("%s\x00%016x\x00%s\x00%s", f.Host, uint64(f.Time.UnixNano()), f.Subject, f.Name)
}

// LatestKey is the store key of a latest value.
func LatestKey(host, subject, name string) string { return host + "\x00" + subject + "\x00" + name }

// Records are the store records of a batch of samples: each sample, and
// the latest value of each subject and name it names (the last one of the
// batch wins, so the batch must be in time order). A fact that does not
// encode is left out.
func Records(fs []Fact) []history.Record {
	out := make([]history.Record, 0, 2*len(fs))
	latest := map[string]int{}
	for _, f := range fs {
		v, err := Encode(f)
		if err != nil {
			continue
		}
		out = append(out, history.Record{Kind: KindSample, Key: SampleKey(f), Value: v})
		k := LatestKey(f.Host, f.Subject, f.Name)
		if i, ok := latest[k]; ok {
			out[i].Value = v
			continue
		}
		latest[k] = len(out)
		out = append(out, history.Record{Kind: KindLatest, Key: k, Value: v})
	}
	return out
}

// Reader reads facts from a store.
type Reader struct{ Store *history.Store }

// Latest returns the latest value of every subject and name, of every
// host (host "" is the local one), in key order; with name not empty,
// only the facts whose name is name or starts with name and a dot
// ("memory" selects "memory.total" and "memory.available").
func (r Reader) Latest(name string) ([]Fact, error) {
	var out []Fact
	err := r.Store.EachRecord(KindLatest, "", "", func(_ string, v []byte) error {
		f, err := Decode(bytes.TrimSpace(v), time.Time{})
		if err != nil {
			return nil // an unreadable record is skipped, never fatal
		}
		if name == "" || f.Name == name || strings.HasPrefix(f.Name, name+".") || f.Subject == name {
			out = append(out, f)
		}
		return nil
	})
	return out, err
}

// Samples calls fn with the samples of host from since on, in time
// order; an error of fn ends the walk.
func (r Reader) Samples(host string, since time.Time, fn func(Fact) error) error {
	from := fmt.Sprintf("%s\x00%016x", host, uint64(max(since.UnixNano(), 0)))
	to := host + "\x01"
	return r.Store.EachRecord(KindSample, from, to, func(_ string, v []byte) error {
		f, err := Decode(bytes.TrimSpace(v), time.Time{})
		if err != nil {
			return nil
		}
		return fn(f)
	})
}

// Expired returns the deletions (records with a nil value) of host's
// samples older than before, at most limit of them: retention deletes in
// bounded batches.
func (r Reader) Expired(host string, before time.Time, limit int) ([]history.Record, error) {
	from := host + "\x00"
	to := fmt.Sprintf("%s\x00%016x", host, uint64(max(before.UnixNano(), 0)))
	var out []history.Record
	stop := fmt.Errorf("enough")
	err := r.Store.EachRecord(KindSample, from, to, func(k string, _ []byte) error {
		if len(out) >= limit {
			return stop
		}
		out = append(out, history.Record{Kind: KindSample, Key: k})
		return nil
	})
	if err == stop {
		err = nil
	}
	return out, err
}
