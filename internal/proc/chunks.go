package proc

import (
	"math/bits"
	"sync"
)

// Log chunks of a fast writer are recycled: the pump fills one per read
// and the logger hands it back once it has left the ring of recent lines.
// Allocating a fresh megabyte per read made the garbage collector, not the
// copying, the largest cost of log capture. Chunks come in power-of-two
// size classes so a recycled chunk wastes at most half its capacity while
// it sits in a ring.
const (
	minChunkShift  = 12 // 4 KiB
	maxChunkShift  = 22 // 4 MiB
	minPooledChunk = 1 << minChunkShift
	maxPooledChunk = 1 << maxChunkShift
)

var chunkPools [maxChunkShift - minChunkShift + 1]sync.Pool

// chunkClass is the pool for chunks of capacity n, or -1 if n is not a
// pooled size.
func chunkClass(n int) int {
	if n < minPooledChunk || n > maxPooledChunk || n&(n-1) != 0 {
		return -1
	}
	return bits.Len(uint(n)) - 1 - minChunkShift
}

// GetChunk returns an empty slice with room for n bytes.
func GetChunk(n int) []byte {
	if n < minPooledChunk/2 || n > maxPooledChunk {
		return make([]byte, 0, n) // small: cheap; huge: rare
	}
	size := max(minPooledChunk, 1<<bits.Len(uint(n-1)))
	if b, ok := chunkPools[chunkClass(size)].Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, size)
}

// PutChunk recycles b (a Chunk's Data), which nobody may use afterwards.
func PutChunk(b []byte) {
	if c := chunkClass(cap(b)); c >= 0 {
		b = b[:0]
		chunkPools[c].Put(&b)
	}
}
