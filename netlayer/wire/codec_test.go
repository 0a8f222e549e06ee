package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestDecoderFrames(t *testing.T) {
	big := strings.Repeat("x", MaxFrame+10)
	tests := []struct {
		name  string
		input string
		want  []string // frames, or "ERR:<text>" for an error at that point
	}{
		{"two frames", "{\"a\":1}\n{\"b\":2}\n", []string{`{"a":1}`, `{"b":2}`, "ERR:EOF"}},
		{"crlf", "{}\r\n", []string{"{}", "ERR:EOF"}},
		{"truncated", "{\"a\":", []string{"ERR:unexpected EOF"}},
		{"oversized then valid", big + "\n{}\n", []string{"ERR:wire: frame too large", "{}", "ERR:EOF"}},
		{"oversized at eof", big, []string{"ERR:unexpected EOF"}},
		{"empty", "", []string{"ERR:EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(strings.NewReader(tt.input))
			for i, want := range tt.want {
				frame, err := d.Next()
				got := string(frame)
				if err != nil {
					got = "ERR:" + err.Error()
				}
				if got != want {
					if len(got) > 80 {
						got = got[:80] + "..."
					}
					t.Fatalf("frame %d: got %q, want %q", i, got, want)
				}
			}
		})
	}
}

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{`{"id":1,"service":"web","action":"start"}`, ""},
		{`{"id":1,"action":"status","args":["-n","5"]}`, ""},
		{`{"id":1}`, "no action"},
		{`{"id":1,"action":"start","bogus":true}`, "unknown field"},
		{`{"id":1,"action":"start"} {}`, "trailing data"},
		{`not json`, "malformed request"},
		{`{"id":-1,"action":"x"}`, "malformed request"},
	}
	for _, tt := range tests {
		_, err := DecodeRequest([]byte(tt.in))
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.in, err)
			}
			continue
		}
		var we *Error
		if !errors.As(err, &we) || we.Kind != BadRequest || !strings.Contains(we.Message, tt.wantErr) {
			t.Errorf("%s: got %v, want bad-request containing %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestErrorIsMatchesKind(t *testing.T) {
	err := Errorf(Timeout, "too slow")
	if !errors.Is(err, &Error{Kind: Timeout}) || errors.Is(err, &Error{Kind: BadRequest}) {
		t.Fatal("errors.Is must compare kinds")
	}
}

// FuzzDecoder feeds arbitrary bytes through the frame decoder and request
// parser: whatever a client sends, the daemon must not panic, and every
// request it accepts must carry an action.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte("{\"id\":1,\"action\":\"status\"}\n"))
	f.Add([]byte("{\"id\":1,\"service\":\"web\",\"action\":\"start\",\"args\":[\"a\"]}\n{\"id\":2"))
	f.Add([]byte("\n\n\x00\xff{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data))
		for range 1000 {
			frame, err := d.Next()
			if err != nil {
				if errors.Is(err, ErrFrameTooLarge) {
					continue
				}
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(frame) > MaxFrame {
				t.Fatalf("frame of %d bytes passed the limit", len(frame))
			}
			req, err := DecodeRequest(frame)
			if err == nil && req.Action == "" {
				t.Fatal("accepted a request without an action")
			}
		}
	})
}

// TestEncodeReplyParts: an answer larger than a frame goes out in parts,
// each within the budget, that put back together give the answer.
func TestEncodeReplyParts(t *testing.T) {
	type item struct {
		Name string `json:"name"`
		Text string `json:"text"`
	}
	for _, n := range []int{0, 1, 10, 5000, 40000} {
		var items []item
		for i := range n {
			items = append(items, item{Name: strings.Repeat("s", i%40), Text: strings.Repeat("\x1b", i%97)})
		}
		want := OKReply(7, map[string]any{"services": items, "total": n})
		var buf bytes.Buffer
		if err := EncodeReply(&buf, want); err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(&buf)
		var asm Assembler
		frames := 0
		for {
			frame, err := d.Next()
			if err != nil {
				t.Fatalf("%d items, frame %d: %v", n, frames, err)
			}
			frames++
			if len(frame) > PartBudget {
				t.Fatalf("%d items: a frame of %d bytes", n, len(frame))
			}
			var r Reply
			if err := json.Unmarshal(frame, &r); err != nil || !r.OK || r.ID != 7 {
				t.Fatalf("%d items: frame %s: %v", n, frame[:min(len(frame), 80)], err)
			}
			if err := asm.Add(r.Result); err != nil {
				t.Fatal(err)
			}
			if !r.More {
				break
			}
		}
		var got, exp map[string]any
		json.Unmarshal(asm.Result(), &got)
		json.Unmarshal(want.Result, &exp)
		if !reflect.DeepEqual(got, exp) {
			t.Fatalf("%d items in %d frames: the parts do not add up", n, frames)
		}
		if n == 40000 && frames < 2 {
			t.Fatalf("40000 items went in one frame")
		}
	}
	// One item alone larger than a frame: an error that says to ask for
	// less, not a frame nobody reads.
	var buf bytes.Buffer
	EncodeReply(&buf, OKReply(3, map[string]any{"recent": []string{strings.Repeat("x", MaxFrame)}}))
	frame, err := NewDecoder(&buf).Next()
	if err != nil || !strings.Contains(string(frame), "ask for less") {
		t.Fatalf("oversized item: %v %.100s", err, frame)
	}
	// An assembler bounds what it holds.
	asm := Assembler{Max: 100}
	if err := asm.Add(json.RawMessage(`{"x":["` + strings.Repeat("y", 200) + `"]}`)); err == nil {
		t.Fatal("an answer over the bound was taken")
	}
}

// stutter hands out its data step bytes at a time, failing every other
// read with errPause, as a connection whose read deadline a server moves
// into the past to interrupt it.
type stutter struct {
	data  []byte
	step  int
	pause bool
}

var errPause = errors.New("paused")

func (s *stutter) Read(p []byte) (int, error) {
	if s.pause = !s.pause; s.pause {
		return 0, errPause
	}
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), s.step)], s.data)
	s.data = s.data[n:]
	return n, nil
}

// frames decodes everything from d, retrying after errPause; after
// handoverAt frames it carries on, instead, with a new decoder given what
// d had buffered and the rest of the stream, as a re-exec does.
func frames(d *Decoder, src *stutter, handoverAt int) []string {
	var out []string
	for {
		frame, err := d.Next()
		switch {
		case errors.Is(err, errPause):
			if len(out) == handoverAt {
				handoverAt = -1
				// An oversized frame being skipped is not handed over.
				if buf, ok := d.Buffered(); ok {
					d = NewDecoder(io.MultiReader(bytes.NewReader(buf), src))
				}
			}
			continue
		case err != nil:
			return append(out, "ERR:"+err.Error())
		}
		out = append(out, string(frame))
	}
}

// FuzzDecoderInterrupted: interrupting reads (a deadline), and handing the
// buffered bytes to a new decoder, loses and changes nothing.
func FuzzDecoderInterrupted(f *testing.F) {
	f.Add([]byte("{\"id\":1,\"action\":\"status\"}\n{\"id\":2,\"action\":\"start\"}\n\n{\"id\":3"), 3, 1)
	f.Add([]byte("a\nbb\r\nccc\n"), 1, 0)
	f.Add([]byte(strings.Repeat("x", 5000)+"\n{}\n"), 700, 1)
	f.Fuzz(func(t *testing.T, data []byte, step, handoverAt int) {
		if step < 1 || step > 1<<16 {
			step = 1 + step&0xffff
		}
		want := frames(NewDecoder(bytes.NewReader(data)), &stutter{}, -1)
		src := &stutter{data: data, step: step}
		got := frames(NewDecoder(src), src, handoverAt%8)
		if g, w := strings.Join(got, "|"), strings.Join(want, "|"); g != w {
			t.Fatalf("interrupted every %d bytes, handed over after %d frames:\ngot  %.200q\nwant %.200q", step, handoverAt%8, g, w)
		}
	})
}
