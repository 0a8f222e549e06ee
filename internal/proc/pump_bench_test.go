package proc

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

func BenchmarkLineSplitter(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 1<<20; i++ {
		fmt.Fprintf(&buf, "%07d %s\n", i, bytes.Repeat([]byte("x"), 91))
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	var s lineSplitter
	now := time.Now()
	for b.Loop() {
		chunk, _ := s.feed(data, now)
		PutChunk(chunk)
	}
}
