package historian

import (
	"time"

	"github.com/shepherd-go/shepherd/internal/tally"
)

// Stats asks the history writer for its tallies (for the metrics).
type Stats struct{ Reply chan<- WriterStats }

// WriterStats is what the history writer counts of its own work.
type WriterStats struct {
	// Lag is how long the oldest event not yet in the store has waited
	// (0: none waits). Pending counts the events waiting for a commit,
	// InFlight those of the commit under way.
	Lag               time.Duration
	Pending, InFlight int
	// Commits counts the commits that reached the store; Batches the
	// events and records of each commit; CommitTime how long each took.
	Commits    uint64
	Batches    tally.Histogram
	CommitTime tally.Histogram
	// Degraded: the store cannot be written now; Dropped counts the
	// events dropped since it degraded.
	Degraded bool
	Dropped  int
}

// writerTally is kept by the writer alone and copied out on Stats.
type writerTally struct {
	// waitingSince is when the oldest event not yet stored came (zero:
	// none); writingSince, the oldest of the commit in flight;
	// began, when that commit began.
	waitingSince, writingSince, began time.Time
	inFlight                          int
	commits                           uint64
	batches, commitTime               tally.Histogram
}

func newWriterTally() writerTally {
	return writerTally{batches: tally.New(tally.Sizes...), commitTime: tally.New(tally.Durations...)}
}

// held notes that events now wait, at now.
func (t *writerTally) held(now time.Time) {
	if t.waitingSince.IsZero() {
		t.waitingSince = now
	}
}

// began notes a commit of n events and records taking what waited.
func (t *writerTally) begin(n int, now time.Time) {
	t.writingSince, t.waitingSince, t.began, t.inFlight = t.waitingSince, time.Time{}, now, n
	t.batches.Observe(float64(n))
}

// ended notes the end of the commit in flight; ok: it reached the
// store. What it held waits again if it did not.
func (t *writerTally) ended(ok bool, now time.Time) {
	if ok {
		t.commits++
		t.commitTime.Observe(now.Sub(t.began).Seconds())
	} else if !t.writingSince.IsZero() && (t.waitingSince.IsZero() || t.writingSince.Before(t.waitingSince)) {
		t.waitingSince = t.writingSince
	}
	t.writingSince, t.inFlight = time.Time{}, 0
}

func (st *historianState) stats(now time.Time) WriterStats {
	t := &st.tally
	oldest := t.writingSince
	if oldest.IsZero() || (!t.waitingSince.IsZero() && t.waitingSince.Before(oldest)) {
		oldest = t.waitingSince
	}
	var lag time.Duration
	if !oldest.IsZero() {
		lag = now.Sub(oldest)
	}
	return WriterStats{
		Lag: lag, Pending: len(st.pending), InFlight: t.inFlight, Commits: t.commits,
		Batches: t.batches.Clone(), CommitTime: t.commitTime.Clone(), Degraded: st.degraded(), Dropped: st.dropped,
	}
}
