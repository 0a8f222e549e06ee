package service

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
