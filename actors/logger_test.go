package actors

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

// A line longer than lineMax, finished or not, comes out in pieces of
// lineMax bytes, each a line of its own; no byte is lost or moved, and the
// splitter never holds more than lineMax of an unfinished line, however
// the stream is cut into reads.
func TestLineSplitterCutsLongLines(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 4, 5, 0, time.UTC)
	const stamp = "2026-11-25 03:04:05 "
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 60 {
		// Lines of every length around the limit and far beyond it.
		var in []byte
		for range 1 + rng.IntN(5) {
			n := rng.IntN(3 * lineMax)
			if rng.IntN(3) == 0 {
				n = lineMax - 2 + rng.IntN(5)
			}
			in = append(in, bytes.Repeat([]byte{byte('a' + round%26)}, n)...)
			if rng.IntN(4) > 0 {
				in = append(in, '\n')
			}
		}
		// The model: each line (the last one flushed) cut every lineMax.
		var want strings.Builder
		for _, line := range strings.SplitAfter(string(in), "\n") {
			line = strings.TrimSuffix(line, "\n")
			if line == "" && !strings.HasSuffix(string(in), "\n") {
				continue
			}
			for len(line) > lineMax {
				want.WriteString(stamp + line[:lineMax] + "\n")
				line = line[lineMax:]
			}
			want.WriteString(stamp + line + "\n")
		}
		if strings.HasSuffix(string(in), "\n") {
			// SplitAfter leaves an empty string after the last newline.
			w := want.String()
			want.Reset()
			want.WriteString(strings.TrimSuffix(w, stamp+"\n"))
		}
		var s lineSplitter
		var got strings.Builder
		for rest := in; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(2*lineMax))
			out, lines := s.feed(rest[:n], now)
			if lines != strings.Count(string(out), "\n") {
				t.Fatalf("feed says %d lines, gave %d", lines, strings.Count(string(out), "\n"))
			}
			got.Write(out)
			rest = rest[n:]
			if len(s.partial) > lineMax {
				t.Fatalf("round %d: the splitter holds %d bytes of an unfinished line", round, len(s.partial))
			}
		}
		got.Write(s.flush(now))
		if got.String() != want.String() {
			t.Fatalf("round %d: %d bytes in, got %d bytes out, want %d", round, len(in), got.Len(), want.Len())
		}
	}
}

// A cut never splits a UTF-8 character: the piece ends before it.
func TestLineSplitterCutsBetweenCharacters(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 4, 5, 0, time.UTC)
	for pad := range 4 {
		in := strings.Repeat("x", pad) + strings.Repeat("€", lineMax) // 3 bytes each
		var s lineSplitter
		out, _ := s.feed([]byte(in), now)
		out = append(out, s.flush(now)...)
		var joined strings.Builder
		for _, line := range splitLines(out) {
			body := strings.TrimPrefix(line, "2026-11-25 03:04:05 ")
			if len(body) > lineMax || !utf8.ValidString(body) {
				t.Fatalf("pad %d: a piece of %d bytes, valid UTF-8: %v", pad, len(body), utf8.ValidString(body))
			}
			joined.WriteString(body)
		}
		if joined.String() != in {
			t.Fatalf("pad %d: the pieces do not add up to the line", pad)
		}
	}
}

// The ring keeps at most ringBytes of chunks, whatever their lines.
func TestRingIsBoundedInBytes(t *testing.T) {
	st := &loggerState{followers: map[chan []byte]bool{}}
	var s lineSplitter
	long := bytes.Repeat([]byte("y"), 10*lineMax)
	for range 100 {
		data, n := s.feed(long, time.Now())
		st.write(&logChunk{Data: data, Lines: n})
	}
	if st.recentBytes > ringBytes+cap(st.recent[len(st.recent)-1].Data) {
		t.Errorf("the ring holds %d bytes, more than %d", st.recentBytes, ringBytes)
	}
	if got := st.lastLines(1); len(got) != 1 || len(got[0]) != len("2026-11-25 03:04:05 ")+lineMax {
		t.Errorf("last line: %d bytes", len(got[0]))
	}
}
