package tail

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// A writer as fast as it goes, in writes that cut lines anywhere, with
// the file rotated (renamed, a new one made) halfway: every line comes,
// once, in order; the lines written to the old file before the rename
// are not skipped for the new one.
func TestServeFastWriterLosesNoLine(t *testing.T) {
	old := Poll
	Poll = 10 * time.Millisecond
	defer func() { Poll = old }()
	const total, rotateAt = 100000, 60000
	p := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []string
	var notes []string
	first := make(chan struct{})
	send := func(r wire.Reply) bool {
		if !r.OK {
			t.Errorf("error: %v", r.Error)
			return false
		}
		var l Lines
		if err := json.Unmarshal(r.Result, &l); err != nil {
			t.Errorf("reply: %v", err)
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if got == nil {
			close(first)
			got = []string{}
		}
		if l.Note != "" {
			notes = append(notes, l.Note)
		}
		got = append(got, l.Lines...)
		return true
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Serve(ctx, wire.Request{Service: "read", Action: Action, Args: Args{Path: p}.Encode()}, send, nil, nil)
	}()
	<-first // the stream is open: every line from here on

	var text []byte
	for i := 1; i <= total; i++ {
		text = strconv.AppendInt(text, int64(i), 10)
		text = append(text, " some text of a log line\n"...)
	}
	cut := len(text)
	for i := 1; i <= rotateAt; i++ {
		cut -= len(strconv.Itoa(i)) + len(" some text of a log line\n")
	}
	cut = len(text) - cut // the end of line rotateAt
	write := func(f *os.File, b []byte) {
		for len(b) > 0 {
			n := min(len(b), 1+rand.IntN(3000))
			if _, err := f.Write(b[:n]); err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	write(f, text[:cut])
	f.Close()
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	write(f, text[cut:])
	f.Close()

	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines came within 30 s", n, total)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(got) != total {
		t.Fatalf("%d lines came, want %d", len(got), total)
	}
	for i, l := range got {
		if want := strconv.Itoa(i+1) + " some text of a log line"; l != want {
			t.Fatalf("line %d is %q, want %q", i+1, l, want)
		}
	}
	if len(notes) != 1 || notes[0] != p+" was replaced; following the new file" {
		t.Fatalf("notes %q, want one about the rotation", notes)
	}
}

// A stream that comes back with the file and offset of its last reply
// gets the lines written meanwhile, none twice; another file at the path
// (rotated meanwhile) is followed from its start, with a note.
func TestServeResumes(t *testing.T) {
	old := Poll
	Poll = 10 * time.Millisecond
	// Poll goes back once every stream has returned (they read it).
	var streams sync.WaitGroup
	defer func() {
		streams.Wait()
		Poll = old
	}()
	p := filepath.Join(t.TempDir(), "app.log")
	os.WriteFile(p, []byte("one\ntwo\n"), 0o644)
	stream := func(a Args) (chan Lines, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		ch := make(chan Lines, 100)
		streams.Add(1)
		go func() {
			defer streams.Done()
			Serve(ctx, wire.Request{Service: "read", Action: Action, Args: a.Encode()}, func(r wire.Reply) bool {
				var l Lines
				if !r.OK || json.Unmarshal(r.Result, &l) != nil {
					t.Errorf("reply %+v", r)
					return false
				}
				select {
				case ch <- l:
					return true
				case <-ctx.Done():
					return false
				}
			}, nil, nil)
		}()
		return ch, cancel
	}
	next := func(ch chan Lines) Lines {
		t.Helper()
		for {
			select {
			case l := <-ch:
				if len(l.Lines) > 0 || l.Note != "" {
					return l
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no lines within 10 s")
			}
		}
	}
	ch, cancel := stream(Args{Path: p, Lines: 1})
	first := next(ch)
	if !slices.Equal(first.Lines, []string{"two"}) || first.File == "" || first.Offset != 8 {
		t.Fatalf("backlog %+v", first)
	}
	cancel() // the stream drops; lines come meanwhile, one cut
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("three\nfour\nfi")
	ch, cancel = stream(Args{Path: p, Lines: 10, File: first.File, From: first.Offset})
	l := next(ch)
	if !slices.Equal(l.Lines, []string{"three", "four"}) || l.Offset != 19 {
		t.Fatalf("resumed: %+v, want three, four up to 19", l)
	}
	f.WriteString("ve\n")
	f.Close()
	if l = next(ch); !slices.Equal(l.Lines, []string{"five"}) || l.Offset != 24 {
		t.Fatalf("then %+v", l)
	}
	cancel()
	os.Rename(p, p+".1")
	os.WriteFile(p, []byte("new one\n"), 0o644)
	ch, cancel = stream(Args{Path: p, File: l.File, From: l.Offset})
	defer cancel()
	if l = next(ch); l.Note != p+" was replaced while the stream was down; following the new file from its start" {
		t.Fatalf("rotated meanwhile: %+v", l)
	}
	if len(l.Lines) == 0 {
		l = next(ch)
	}
	if !slices.Equal(l.Lines, []string{"new one"}) {
		t.Fatalf("the new file: %+v", l)
	}
}
