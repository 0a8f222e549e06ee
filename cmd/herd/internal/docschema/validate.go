package docschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// Validate checks one JSON document (data) against root, a schema this
// package wrote, and says what does not match, at which JSON pointer.
// Beyond JSON Schema, a date-time must be RFC 3339 with a zone and not
// Go's zero time (the contract omits a time it does not have).
func Validate(root *Schema, data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return (&validator{root: root}).check(root, v, "")
}

// Match says which of root's oneOf variants data matches (its title),
// after Validate said it does.
func Match(root *Schema, data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return ""
	}
	vd := &validator{root: root}
	for _, s := range root.OneOf {
		if vd.check(s, v, "") == nil {
			return s.Title
		}
	}
	return ""
}

type validator struct{ root *Schema }

func (vd *validator) resolve(s *Schema) (*Schema, error) {
	for depth := 0; s.Ref != ""; depth++ {
		name, ok := strings.CutPrefix(s.Ref, "#/$defs/")
		if !ok || depth > 32 {
			return nil, fmt.Errorf("unsupported $ref %q", s.Ref)
		}
		d, ok := vd.root.Defs[name]
		if !ok {
			return nil, fmt.Errorf("no $defs entry %q", name)
		}
		s = d
	}
	return s, nil
}

func (vd *validator) check(s *Schema, v any, at string) error {
	s, err := vd.resolve(s)
	if err != nil {
		return err
	}
	where := at
	if where == "" {
		where = "/"
	}
	if len(s.OneOf) > 0 {
		var errs []string
		matched := 0
		for i, o := range s.OneOf {
			if err := vd.check(o, v, at); err != nil {
				title := o.Title
				if title == "" {
					title = fmt.Sprint(i)
				}
				errs = append(errs, fmt.Sprintf("  as %s: %v", title, err))
			} else {
				matched++
			}
		}
		switch {
		case matched == 0:
			return fmt.Errorf("%s: matches none of the documents:\n%s", where, strings.Join(errs, "\n"))
		case matched > 1:
			return fmt.Errorf("%s: matches %d of the documents (oneOf)", where, matched)
		}
	}
	if s.Const != nil && !sameJSON(s.Const, v) {
		return fmt.Errorf("%s: %v, want %v", where, v, s.Const)
	}
	if s.Type == "" {
		return nil
	}
	switch s.Type {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %s, want an object", where, kind(v))
		}
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				return fmt.Errorf("%s: no %q", where, r)
			}
		}
		for k, e := range obj {
			ps := s.Properties.Get(k)
			if ps == nil {
				switch {
				case s.AdditionalProperties == nil:
					continue
				case s.AdditionalProperties.Forbid:
					return fmt.Errorf("%s: %q is not in the schema", where, k)
				default:
					ps = s.AdditionalProperties.Schema
				}
			}
			if err := vd.check(ps, e, at+"/"+k); err != nil {
				return err
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %s, want an array", where, kind(v))
		}
		if s.MinItems != nil && len(arr) < *s.MinItems || s.MaxItems != nil && len(arr) > *s.MaxItems {
			return fmt.Errorf("%s: %d items", where, len(arr))
		}
		if s.Items != nil {
			for i, e := range arr {
				if err := vd.check(s.Items, e, fmt.Sprintf("%s/%d", at, i)); err != nil {
					return err
				}
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %s, want a string", where, kind(v))
		}
		if len(s.Enum) > 0 && !contains(s.Enum, str) {
			return fmt.Errorf("%s: %q is not one of %v", where, str, s.Enum)
		}
		if s.Pattern != "" {
			re, err := regexp.Compile(s.Pattern)
			if err != nil {
				return fmt.Errorf("%s: pattern %q: %v", where, s.Pattern, err)
			}
			if !re.MatchString(str) {
				return fmt.Errorf("%s: %q does not match %s", where, str, s.Pattern)
			}
		}
		if s.Format == "date-time" {
			t, err := time.Parse(time.RFC3339Nano, str)
			if err != nil {
				return fmt.Errorf("%s: %q is not an RFC 3339 time with a zone: %v", where, str, err)
			}
			if t.Year() <= 1 {
				return fmt.Errorf("%s: %q is a zero time: it should have been left out", where, str)
			}
		}
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: %s, want a number", where, kind(v))
		}
		f, err := n.Float64()
		if err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if s.Type == "integer" && (f != math.Trunc(f) || strings.ContainsAny(n.String(), ".eE")) {
			return fmt.Errorf("%s: %s, want an integer", where, n)
		}
		if s.Minimum != nil && f < *s.Minimum {
			return fmt.Errorf("%s: %s is below %v", where, n, *s.Minimum)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %s, want true or false", where, kind(v))
		}
	case "null": // a query's empty cell
		if v != nil {
			return fmt.Errorf("%s: %s, want null", where, kind(v))
		}
	default:
		return fmt.Errorf("%s: unsupported type %q in the schema", where, s.Type)
	}
	return nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
