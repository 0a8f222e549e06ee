package query

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
)

// BenchmarkSeedQueryWarm is the seed question on a warm cache of 50
// hosts of 300 packages and 50 crashes each (make bench's section facts
// measures the whole path on 30 days of history).
func BenchmarkSeedQueryWarm(b *testing.B) {
	s, err := history.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	sd := &seed{t: &testing.T{}, s: s, seq: map[string]uint64{}}
	for h := range 50 {
		name := fmt.Sprintf("h%02d", h)
		sd.ev(name, started(now.Add(-40*24*time.Hour), "web", "worker")...)
		for i := range 50 {
			sd.ev(name, crash("worker", now.Add(-time.Duration(i)*12*time.Hour))...)
		}
		fs := []facts.Fact{num("host", "memory.total", float64(1+h%8)*gib)}
		for j := range 300 {
			fs = append(fs, pkg(fmt.Sprintf("lib%03d", j), fmt.Sprintf("1.%d.%d-1", j%7, h%3)))
		}
		fs = append(fs, pkg("nginx", []string{"1.22.1-9", "1.24.0-2"}[h%2]))
		sd.facts(name, fs...)
	}
	c := NewCache(sd.s, "local")
	if _, err := c.Input(context.Background(), now, 0); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		in, err := c.Input(context.Background(), now, 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Run(context.Background(), in, SeedQuery, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
