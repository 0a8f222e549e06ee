package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// slowRequest is DecodeRequest without the fast path.
func slowRequest(frame []byte) (Request, error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(frame))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, err
	}
	if dec.More() {
		return Request{}, Errorf(BadRequest, "trailing")
	}
	if req.Action == "" {
		return Request{}, Errorf(BadRequest, "no action")
	}
	return req, nil
}

func checkFast(t *testing.T, frame []byte) {
	fast, ok := fastRequest(frame)
	if !ok {
		return
	}
	slow, err := slowRequest(frame)
	if err != nil {
		t.Fatalf("%q: the fast path accepted what encoding/json refuses: %v", frame, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q: fast %+v, encoding/json %+v", frame, fast, slow)
	}
}

func TestFastRequest(t *testing.T) {
	for _, r := range []Request{
		{ID: 1, Action: "status"},
		{ID: 7, Service: "files", Action: "file-write", Args: []string{"/srv/a", "0644", "3", strings.Repeat("ab", 32), "0", "YWJj"}, Cap: "ocapn://x.libp2p/s/y?addr=/ip4/1.2.3.4/tcp/1"},
		{ID: 2, Action: "exec", Args: []string{}, Relayed: true},
		{ID: 3, Action: "x", Args: []string{""}},
		{ID: 4, Action: "x<y>", Args: []string{"a&b"}, Cap: "ocapn://p.libp2p/s/q?addr=/ip4/1.1.1.1/tcp/1&addr=/unix/run/s"},
	} {
		b, _ := json.Marshal(r)
		got, ok := fastRequest(b)
		if !ok {
			t.Errorf("%s: not taken by the fast path", b)
			continue
		}
		checkFast(t, b)
		if r.Args != nil && len(r.Args) == 0 {
			r.Args = nil // omitempty: not in the frame
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("%s: %+v", b, got)
		}
	}
	for _, f := range []string{
		`{"id":1,"action":""}`, `{"id":01,"action":"a"}`, `{"id":1,"action":"a"} `, `{"id":1,"action":"a\n"}`,
		`{"id":1,"action":"é"}`, `{"id":1,"action":"a\"b"}`, `{"id":1,"action":"a","args":[]}`, `{"id":1,"action":"a","args":["x",]}`,
		`{"id":1,"action":"a","relayed":false}`, `{"id":18446744073709551616,"action":"a"}`, `{"id":1,"action":"a","x":1}`, `{"id":1,"action":"a\u0027"}`, `{"id":1,"action":"a\u002"}`, `{"id":1,"action":"a\u0026"`,
	} {
		if _, ok := fastRequest([]byte(f)); ok {
			t.Errorf("%s: taken by the fast path", f)
		}
	}
}

func FuzzFastRequest(f *testing.F) {
	f.Add([]byte(`{"id":1,"service":"files","action":"file-write","args":["a","b"],"cap":"c","relayed":true}`))
	f.Add([]byte(`{"id":1,"action":"a","args":["x"]}`))
	f.Add([]byte(`{"id":1,"action":"a","cap":"o?a=1\u0026b=\u003c"}`))
	f.Fuzz(func(t *testing.T, frame []byte) { checkFast(t, frame) })
}
