package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// PartBudget is the most a reply frame carries when a daemon writes it:
// well under MaxFrame, which every reader enforces, so that an answer a
// reader asked for is never a frame it must refuse.
const PartBudget = 512 << 10

// EncodeReply writes r as one frame or, when it is larger than
// PartBudget, as several: a result that is an object with one list (the
// events of history, the services of a summary, the lines of a log) is
// cut into parts of that list, each a reply of its own with More set but
// the last, which keeps r's More. A reader puts the parts together with
// MergeResult. A reply that cannot be cut so becomes an error that says
// to ask for less: a frame no reader accepts helps nobody.
func EncodeReply(w io.Writer, r Reply) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("wire: encode: %w", err)
	}
	if len(b) <= PartBudget {
		_, err = w.Write(append(b, '\n'))
		return err
	}
	parts, ok := splitResult(r)
	if !ok {
		return Encode(w, ErrReply(r.ID, Errorf(BadRequest,
			"the answer (%d bytes) is larger than a frame (%d bytes); ask for less (-n, --limit)", len(b), MaxFrame)))
	}
	for _, p := range parts {
		if err := Encode(w, p); err != nil {
			return err
		}
	}
	return nil
}

// splitResult cuts r's one list into replies of at most PartBudget.
func splitResult(r Reply) ([]Reply, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(r.Result, &obj) != nil {
		return nil, false
	}
	key := ""
	var items []json.RawMessage
	for k, v := range obj {
		if len(v) > 0 && v[0] == '[' {
			if key != "" {
				return nil, false // two lists: no one way to cut
			}
			if json.Unmarshal(v, &items) != nil {
				return nil, false
			}
			key = k
		}
	}
	if key == "" {
		return nil, false
	}
	rest := 0
	for k, v := range obj {
		if k != key {
			rest += len(k) + len(v) + 4
		}
	}
	overhead := rest + len(key) + 128 // the reply's own fields
	var parts []Reply
	for start := 0; start < len(items); {
		size, end := overhead, start
		for end < len(items) && (end == start || size+len(items[end])+1 <= PartBudget) {
			size += len(items[end]) + 1
			end++
		}
		if size > PartBudget {
			return nil, false // one item alone is too large
		}
		obj[key], _ = json.Marshal(items[start:end])
		result, _ := json.Marshal(obj)
		parts = append(parts, Reply{ID: r.ID, OK: r.OK, More: true, Result: result, Seq: r.Seq})
		start = end
	}
	if len(parts) == 0 {
		return nil, false
	}
	parts[len(parts)-1].More = r.More
	return parts, true
}

// Assembler puts the parts of an answer back together: list fields are
// appended to, other fields take the later part's value. It refuses to
// hold more than Max bytes (default MaxAnswer): the parts come from a
// daemon, maybe another machine's.
type Assembler struct {
	Max    int
	size   int
	fields map[string]json.RawMessage
	lists  map[string][]json.RawMessage
	order  []string
}

// MaxAnswer bounds an answer put together from parts.
const MaxAnswer = 64 << 20

// Add takes the result of one part.
func (a *Assembler) Add(part json.RawMessage) error {
	limit := a.Max
	if limit == 0 {
		limit = MaxAnswer
	}
	if a.size += len(part); a.size > limit {
		return fmt.Errorf("wire: an answer larger than %d bytes", limit)
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(part, &p); err != nil {
		return fmt.Errorf("wire: a part of an answer is not an object: %w", err)
	}
	if a.fields == nil {
		a.fields, a.lists = map[string]json.RawMessage{}, map[string][]json.RawMessage{}
	}
	for k, v := range p {
		if _, seen := a.fields[k]; !seen {
			if _, seen := a.lists[k]; !seen {
				a.order = append(a.order, k)
			}
		}
		var items []json.RawMessage
		if len(v) > 0 && v[0] == '[' && json.Unmarshal(v, &items) == nil {
			delete(a.fields, k)
			a.lists[k] = append(a.lists[k], items...)
			continue
		}
		a.fields[k] = v
	}
	return nil
}

// Result is the whole answer.
func (a *Assembler) Result() json.RawMessage {
	if a.fields == nil {
		return nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range a.order {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		if items, ok := a.lists[k]; ok {
			b.WriteByte('[')
			for j, it := range items {
				if j > 0 {
					b.WriteByte(',')
				}
				b.Write(it)
			}
			b.WriteByte(']')
		} else {
			b.Write(a.fields[k])
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}
