package facts

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

func TestDecode(t *testing.T) {
	for _, tc := range []struct{ line, want, err string }{
		{`{"v":1,"subject":"host","name":"memory.total","value":2147483648,"unit":"bytes","time":"2026-12-04T09:00:00Z"}`, "host memory.total=2147483648 bytes @09:00", ""},
		{`{"subject":"package:nginx","name":"version","value":"1.22.1-9"}`, "package:nginx version=1.22.1-9  @10:00", ""},
		{`{"subject":"x","name":"up","value":true}`, "x up=true  @10:00", ""},
		{`{"v":2,"subject":"x","name":"y","value":1}`, "", "format version 2"},
		{`{"subject":"x","name":"y"}`, "", "no value"},
		{`{"subject":"x","name":"y","value":null}`, "", "no value"},
		{`{"subject":"x","name":"y","value":[1]}`, "", "number, a string or a boolean"},
		{`{"subject":"","name":"y","value":1}`, "", "no subject"},
		{`{"subject":"a b","name":"y","value":1}`, "", "printable ASCII"},
		{`{"subject":"x","name":"y","value":1,"extra":2}`, "", "unknown field"},
		{`{"subject":"x","name":"y","value":1} {}`, "", "more than one"},
		{`garbage`, "", "not a JSON fact"},
		{`{"subject":"x","name":"y","value":1e999}`, "", "bad number"},
	} {
		f, err := Decode([]byte(tc.line), t0)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrFormat) {
				t.Errorf("Decode(%s) = %v, want error with %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Decode(%s): %v", tc.line, err)
			continue
		}
		got := f.Subject + " " + f.Name + "=" + f.Value() + " " + f.Unit + " @" + f.Time.Format("15:04")
		if got != tc.want {
			t.Errorf("Decode(%s) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestReadLinesBounds(t *testing.T) {
	var b bytes.Buffer
	for i := 0; i < MaxFacts+5; i++ {
		b.WriteString(`{"subject":"x","name":"n","value":1}` + "\n")
	}
	b.WriteString("garbage\n\n")
	fs, probs := ReadLines(&b, 1<<20, t0)
	if len(fs) != MaxFacts {
		t.Fatalf("kept %d facts, want %d", len(fs), MaxFacts)
	}
	if len(probs) != 2 || !strings.Contains(probs[1].Error(), "5 facts past") {
		t.Fatalf("problems: %v", probs)
	}
	long := strings.Repeat("x", MaxLine+10) + "\n" + `{"subject":"x","name":"n","value":1}` + "\n"
	fs, probs = ReadLines(strings.NewReader(long), 1<<20, t0)
	if len(fs) != 0 || len(probs) != 1 || !strings.Contains(probs[0].Error(), "longer than") {
		t.Fatalf("long line: %v %v", fs, probs)
	}
	// The byte limit holds whatever the input.
	fs, _ = ReadLines(strings.NewReader(strings.Repeat(`{"subject":"x","name":"n","value":1}`+"\n", 100)), 100, t0)
	if len(fs) != 2 {
		t.Fatalf("limit 100 bytes: %d facts", len(fs))
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"subject":"host","name":"memory.total","value":2147483648,"unit":"bytes","time":"2026-12-04T09:00:00Z"}`))
	f.Add([]byte(`{"subject":"package:nginx","name":"version","value":"1.22.1"}`))
	f.Add([]byte(`{"subject":"x","name":"y","value":-0.5e3,"host":"h1"}`))
	f.Add([]byte(`{"subject":"x","name":"y","value":"\u0000"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		fact, err := Decode(line, t0)
		if err != nil {
			return
		}
		// What decodes encodes, and reads back the same.
		b, err := Encode(fact)
		if err != nil {
			t.Fatalf("Encode(%+v) of a decoded fact: %v", fact, err)
		}
		back, err := Decode(bytes.TrimSpace(b), t0)
		if err != nil {
			t.Fatalf("Decode(Encode) = %v for %s", err, b)
		}
		if back.Subject != fact.Subject || back.Name != fact.Name || back.Value() != fact.Value() || back.IsNum != fact.IsNum ||
			back.Unit != fact.Unit || back.Host != fact.Host || !back.Time.Equal(fact.Time) {
			t.Fatalf("round trip: %+v -> %s -> %+v", fact, b, back)
		}
	})
}
