package logger

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/internal/follow"
	"github.com/shepherd-go/shepherd/internal/proc"
)

// chunkOf is what the pump sends for lines: each stamped, in a pooled
// chunk.
func chunkOf(lines []string, at time.Time) *proc.Chunk {
	data := proc.GetChunk(0)
	for _, l := range lines {
		data = append(append(append(data, proc.Stamp(at)...), l...), '\n')
	}
	return &proc.Chunk{Data: data, Lines: len(lines)}
}

func TestRingKeepsTheLastLinesAndRecyclesTheRest(t *testing.T) {
	st := &loggerState{followers: follow.Set[[]byte]{}}
	var all []string
	for i := range 50 {
		var lines []string
		for j := range 100 {
			line := fmt.Sprintf("line %d.%d", i, j)
			all = append(all, "2026-11-25 03:04:05 "+line)
			lines = append(lines, line)
		}
		st.write(chunkOf(lines, time.Date(2026, 11, 25, 3, 4, 5, 0, time.UTC)))
	}
	if st.recentLines < ringSize || st.recentLines-st.recent[0].Lines >= ringSize {
		t.Errorf("ring holds %d lines in %d chunks: more than needed for %d", st.recentLines, len(st.recent), ringSize)
	}
	for _, n := range []int{1, 7, 100, 101, ringSize} {
		if got := st.lastLines(n); !slices.Equal(got, all[len(all)-n:]) {
			t.Errorf("lastLines(%d) = %q..., want %q...", n, got[:1], all[len(all)-n])
		}
	}
}

func TestRingIsBoundedInBytes(t *testing.T) {
	st := &loggerState{followers: follow.Set[[]byte]{}}
	long := strings.Repeat("y", proc.LineMax)
	for range 100 {
		st.write(chunkOf(slices.Repeat([]string{long}, 10), time.Now()))
	}
	if st.recentBytes > ringBytes+cap(st.recent[len(st.recent)-1].Data) {
		t.Errorf("the ring holds %d bytes, more than %d", st.recentBytes, ringBytes)
	}
	if got := st.lastLines(1); len(got) != 1 || len(got[0]) != len("2026-11-25 03:04:05 ")+proc.LineMax {
		t.Errorf("last line: %d bytes", len(got[0]))
	}
}

// TestRingHandover: a re-exec hands over the newest whole lines of a
// ring, at most so many within so many bytes, and the new ring starts
// with them, before the new output.
func TestRingHandover(t *testing.T) {
	at := time.Date(2026, 11, 25, 3, 4, 5, 0, time.UTC)
	stamp := "2026-11-25 03:04:05 "
	old := &loggerState{followers: follow.Set[[]byte]{}}
	old.write(chunkOf([]string{"a", "b", "c"}, at))
	old.write(chunkOf([]string{"", "e"}, at))
	old.write(chunkOf([]string{strings.Repeat("x", 100)}, at))
	long := stamp + strings.Repeat("x", 100) + "\n"
	for _, tc := range []struct {
		lines, bytes int
		want         string
	}{
		{lines: 2, bytes: 1 << 20, want: stamp + "e\n" + long},
		{lines: 4, bytes: 1 << 20, want: stamp + "c\n" + stamp + "\n" + stamp + "e\n" + long},
		{lines: 10, bytes: 1 << 20, want: stamp + "a\n" + stamp + "b\n" + stamp + "c\n" + stamp + "\n" + stamp + "e\n" + long},
		// Whole lines only: the byte bound stops at the first that does
		// not fit.
		{lines: 10, bytes: len(long) + len(stamp) + 2, want: stamp + "e\n" + long},
		{lines: 10, bytes: len(long) - 1, want: ""},
		{lines: 0, bytes: 1 << 20, want: ""},
	} {
		if got := string(old.lastBytes(tc.lines, tc.bytes)); got != tc.want {
			t.Errorf("lastBytes(%d, %d) = %q, want %q", tc.lines, tc.bytes, got, tc.want)
		}
	}

	st := &loggerState{followers: follow.Set[[]byte]{}}
	st.write(chunkOf([]string{"new"}, at))
	st.restore(old.lastBytes(HandedLines, HandedBytes))
	want := []string{stamp + "a", stamp + "b", stamp + "c", stamp, stamp + "e", strings.TrimSuffix(long, "\n"), stamp + "new"}
	if got := st.lastLines(100); !slices.Equal(got, want) {
		t.Errorf("after the handover: %q, want %q", got, want)
	}
}
