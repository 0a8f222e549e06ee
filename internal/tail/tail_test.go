package tail

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestParse(t *testing.T) {
	a := Args{Path: "/var/log/app.log", Grep: "ERROR", Exclude: "health", Lines: 5}
	got, err := Parse(a.Encode())
	if err != nil || got != a {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for name, args := range map[string][]string{
		"no --follow":   {"--path", "/x"},
		"no path":       {"--follow", "--lines", "3"},
		"twice":         {"--follow", "--path", "/etc/nginx/a", "--path", "/etc/shadow"},
		"no value":      {"--follow", "--path"},
		"unknown":       {"--follow", "--path", "/x", "--cmd", "rm"},
		"lines":         {"--follow", "--path", "/x", "--lines", "-1"},
		"too many":      {"--follow", "--path", "/x", "--lines", "10001"},
		"bad grep":      {"--follow", "--path", "/x", "--grep", "("},
		"a long regexp": {"--follow", "--path", "/x", "--exclude", strings.Repeat("a", MaxPattern+1)},
	} {
		if _, err := Parse(args); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if p := PathOf(wire.Request{Args: args}); p != "" {
			t.Errorf("%s: PathOf %q", name, p)
		}
	}
}

func TestFilter(t *testing.T) {
	f, err := NewFilter("ERROR|WARN", "health")
	if err != nil {
		t.Fatal(err)
	}
	for line, want := range map[string]bool{"ERROR x": true, "WARN y": true, "INFO z": false, "ERROR health check": false} {
		if f.Keep(line) != want {
			t.Errorf("%q: %v", line, !want)
		}
	}
	if none, _ := NewFilter("", ""); !none.Keep("anything") {
		t.Error("an empty filter dropped a line")
	}
}

func TestSplitter(t *testing.T) {
	var s splitter
	got := s.feed([]byte("a\nbb"), nil)
	got = s.feed([]byte("b\n"+strings.Repeat("x", MaxLine+100)+"\nlast"), got)
	if want := []string{"a", "bbb", strings.Repeat("x", MaxLine)}; !slices.Equal(got, want) {
		t.Errorf("lines %d: %q", len(got), got[:min(2, len(got))])
	}
	if string(s.partial) != "last" {
		t.Errorf("partial %q", s.partial)
	}
}

// TestServe follows a real file: the backlog filtered, appended lines,
// a truncation, a replacement; the end of ctx ends the stream.
func TestServe(t *testing.T) {
	old := Poll
	Poll = 10 * time.Millisecond
	defer func() { Poll = old }()
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	os.WriteFile(p, []byte("INFO a\nERROR b\nERROR c\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []string
	send := func(r wire.Reply) bool {
		if !r.OK {
			t.Errorf("error: %v", r.Error)
			return false
		}
		var l Lines
		json.Unmarshal(r.Result, &l)
		mu.Lock()
		defer mu.Unlock()
		if l.Note != "" {
			got = append(got, "note: "+strings.TrimPrefix(l.Note, p+" "))
		}
		got = append(got, l.Lines...)
		return true
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Serve(ctx, wire.Request{Service: "read", Action: Action, Args: Args{Path: p, Grep: "ERROR", Lines: 1}.Encode()}, send, nil, nil)
	}()
	wait := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			ok := slices.Equal(got, want)
			g := slices.Clone(got)
			mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("got %q, want %q", g, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait("ERROR c")
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("INFO d\nERROR e\nERR")
	f.WriteString("OR f\n")
	f.Close()
	wait("ERROR c", "ERROR e", "ERROR f")
	os.WriteFile(p, []byte("ERROR g\n"), 0o644) // truncated, then written
	wait("ERROR c", "ERROR e", "ERROR f", "note: was truncated", "ERROR g")
	os.WriteFile(p+".new", []byte("ERROR h\n"), 0o644)
	os.Rename(p+".new", p)
	wait("ERROR c", "ERROR e", "ERROR f", "note: was truncated", "ERROR g", "note: was replaced; following the new file", "ERROR h")
	cancel()
	<-done
}

// logrotate's copytruncate copies the file, then truncates it: the lines
// written since the stream's last read are in the copy only. They come
// from there (once), when the caller may read it; when it may not, the
// stream says the file was truncated and goes on.
func TestServeReadsTheCopytruncateCopy(t *testing.T) {
	old := Poll
	Poll = 10 * time.Millisecond
	defer func() { Poll = old }()
	for _, tt := range []struct {
		name    string
		mayRead bool
		want    []string
	}{
		{"the copy may be read", true, []string{"a", "note: was truncated; its lines since the last read came from its copy " + CopySuffix, "b", "c", "d"}},
		{"the copy may not be read", false, []string{"a", "note: was truncated", "d"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "app.log")
			os.WriteFile(p, []byte("a\n"), 0o644)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			var got []string
			first, hold := make(chan struct{}), make(chan struct{})
			send := func(r wire.Reply) bool {
				var l Lines
				if !r.OK || json.Unmarshal(r.Result, &l) != nil {
					t.Errorf("reply %+v", r)
					return false
				}
				mu.Lock()
				if l.Note != "" {
					got = append(got, "note: "+strings.ReplaceAll(strings.TrimPrefix(l.Note, p+" "), p, ""))
				}
				got = append(got, l.Lines...)
				n := len(got)
				mu.Unlock()
				if n == 1 { // "a": the stream waits here while the file is rotated
					close(first)
					<-hold
				}
				return true
			}
			var asked []string
			mayRead := func(path string) bool { asked = append(asked, path); return tt.mayRead }
			done := make(chan struct{})
			go func() {
				defer close(done)
				Serve(ctx, wire.Request{Service: "read", Action: Action, Args: Args{Path: p, Lines: 1}.Encode()}, send, nil, mayRead)
			}()
			<-first
			// Written after the last read, then copied and truncated.
			f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("b\nc\n")
			f.Close()
			data, _ := os.ReadFile(p)
			os.WriteFile(p+CopySuffix, data, 0o644)
			os.Truncate(p, 0)
			close(hold)
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				n := len(got)
				mu.Unlock()
				if n >= len(tt.want)-1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("got %q", got)
				}
				time.Sleep(5 * time.Millisecond)
			}
			os.WriteFile(p, []byte("d\n"), 0o644) // after the truncation was seen
			for {
				mu.Lock()
				g := slices.Clone(got)
				mu.Unlock()
				if slices.Equal(g, tt.want) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("got %q, want %q", g, tt.want)
				}
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			<-done
			if !slices.Equal(asked, []string{p + CopySuffix}) {
				t.Fatalf("asked about %q, want only the copy", asked)
			}
		})
	}
}

// copied takes a file for the copy only when it holds the bytes last
// read just before the offset.
func TestCopiedChecksTheCopy(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log.1")
	os.WriteFile(p, []byte("one\ntwo\nthree\n"), 0o644)
	yes := func(string) bool { return true }
	for _, tt := range []struct {
		name    string
		offset  int64
		recent  string
		mayRead func(string) bool
		want    string // "-": not taken
	}{
		{"the copy", 8, "one\ntwo\n", yes, "three\n"},
		{"the copy, read to its end", 14, "three\n", yes, ""},
		{"other bytes before the offset", 8, "one\nTWO\n", yes, "-"},
		{"shorter than the offset", 20, "three\n", yes, "-"},
		{"nothing read yet", 8, "", yes, "-"},
		{"not allowed", 8, "one\ntwo\n", func(string) bool { return false }, "-"},
		{"no question possible", 8, "one\ntwo\n", nil, "-"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rest, ok := copied(p, tt.offset, []byte(tt.recent), tt.mayRead)
			got := "-"
			if ok {
				got = string(rest)
			}
			if got != tt.want {
				t.Fatalf("copied = %q, want %q", got, tt.want)
			}
		})
	}
}
