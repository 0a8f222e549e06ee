package actors

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLineSplitterKeepsPartialLines(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 4, 5, 0, time.UTC)
	var s lineSplitter
	var got strings.Builder
	lines := 0
	for _, in := range []string{"a", "b\nc", "\n\nd", "e\n", "f"} {
		out, n := s.feed([]byte(in), now)
		got.Write(out)
		lines += n
		if n != strings.Count(string(out), "\n") {
			t.Errorf("feed(%q) says %d lines, gave %q", in, n, out)
		}
	}
	got.Write(s.flush(now))
	want := "2026-11-25 03:04:05 ab\n2026-11-25 03:04:05 c\n2026-11-25 03:04:05 \n2026-11-25 03:04:05 de\n2026-11-25 03:04:05 f\n"
	if got.String() != want || lines != 4 {
		t.Errorf("got %q (%d lines before the flush), want %q", got.String(), lines, want)
	}
}

func TestRingKeepsTheLastLinesAndRecyclesTheRest(t *testing.T) {
	st := &loggerState{followers: map[chan []byte]bool{}}
	var s lineSplitter
	var all []string
	for i := range 50 {
		var sb strings.Builder
		for j := range 100 {
			line := fmt.Sprintf("line %d.%d", i, j)
			all = append(all, "2026-11-25 03:04:05 "+line)
			sb.WriteString(line + "\n")
		}
		data, n := s.feed([]byte(sb.String()), time.Date(2026, 11, 25, 3, 4, 5, 0, time.UTC))
		st.write(&logChunk{Data: data, Lines: n})
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

func TestChunkSizeClasses(t *testing.T) {
	for _, tc := range []struct{ need, capacity int }{
		{1, 1}, {2047, 2047}, {2048, 4096}, {4096, 4096}, {4097, 8192},
		{1 << 20, 1 << 20}, {1<<20 + 1, 2 << 20}, {4 << 20, 4 << 20}, {4<<20 + 1, 4<<20 + 1},
	} {
		b := getChunk(tc.need)
		if len(b) != 0 || cap(b) != tc.capacity {
			t.Errorf("getChunk(%d): len %d cap %d, want 0 and %d", tc.need, len(b), cap(b), tc.capacity)
		}
		putChunk(append(b, 'x'))
		if b := getChunk(tc.need); len(b) != 0 || cap(b) < tc.need {
			t.Errorf("getChunk(%d) after a put: len %d cap %d", tc.need, len(b), cap(b))
		}
	}
}
