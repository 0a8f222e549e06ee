package proc

import (
	"bytes"
	"math/rand/v2"
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

func TestChunkSizeClasses(t *testing.T) {
	for _, tc := range []struct{ need, capacity int }{
		{1, 1}, {2047, 2047}, {2048, 4096}, {4096, 4096}, {4097, 8192},
		{1 << 20, 1 << 20}, {1<<20 + 1, 2 << 20}, {4 << 20, 4 << 20}, {4<<20 + 1, 4<<20 + 1},
	} {
		b := GetChunk(tc.need)
		if len(b) != 0 || cap(b) != tc.capacity {
			t.Errorf("GetChunk(%d): len %d cap %d, want 0 and %d", tc.need, len(b), cap(b), tc.capacity)
		}
		PutChunk(append(b, 'x'))
		if b := GetChunk(tc.need); len(b) != 0 || cap(b) < tc.need {
			t.Errorf("GetChunk(%d) after a put: len %d cap %d", tc.need, len(b), cap(b))
		}
	}
}

// A line longer than LineMax, finished or not, comes out in pieces of
// LineMax bytes, each a line of its own; no byte is lost or moved, and the
// splitter never holds more than LineMax of an unfinished line, however
// the stream is cut into reads.
func TestLineSplitterCutsLongLines(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 4, 5, 0, time.UTC)
	const stamp = "2026-11-25 03:04:05 "
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 60 {
		// Lines of every length around the limit and far beyond it.
		var in []byte
		for range 1 + rng.IntN(5) {
			n := rng.IntN(3 * LineMax)
			if rng.IntN(3) == 0 {
				n = LineMax - 2 + rng.IntN(5)
			}
			in = append(in, bytes.Repeat([]byte{byte('a' + round%26)}, n)...)
			if rng.IntN(4) > 0 {
				in = append(in, '\n')
			}
		}
		// The model: each line (the last one flushed) cut every LineMax.
		var want strings.Builder
		for _, line := range strings.SplitAfter(string(in), "\n") {
			line = strings.TrimSuffix(line, "\n")
			if line == "" && !strings.HasSuffix(string(in), "\n") {
				continue
			}
			for len(line) > LineMax {
				want.WriteString(stamp + line[:LineMax] + "\n")
				line = line[LineMax:]
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
			n := min(len(rest), 1+rng.IntN(2*LineMax))
			out, lines := s.feed(rest[:n], now)
			if lines != strings.Count(string(out), "\n") {
				t.Fatalf("feed says %d lines, gave %d", lines, strings.Count(string(out), "\n"))
			}
			got.Write(out)
			rest = rest[n:]
			if len(s.partial) > LineMax {
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
		in := strings.Repeat("x", pad) + strings.Repeat("€", LineMax) // 3 bytes each
		var s lineSplitter
		out, _ := s.feed([]byte(in), now)
		out = append(out, s.flush(now)...)
		var joined strings.Builder
		for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			body := strings.TrimPrefix(line, "2026-11-25 03:04:05 ")
			if len(body) > LineMax || !utf8.ValidString(body) {
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
