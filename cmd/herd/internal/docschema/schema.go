package docschema

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Draft is the JSON Schema dialect the schemas declare.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// Schema is a JSON Schema, limited to the keywords this package writes
// and checks; its fields are in the order they are written.
type Schema struct {
	Schema      string `json:"$schema,omitempty"`
	ID          string `json:"$id,omitempty"`
	Ref         string `json:"$ref,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Type is a JSON type: object, array, string, integer, number,
	// boolean. Null is never one: herd prints no null.
	Type    string   `json:"type,omitempty"`
	Const   any      `json:"const,omitempty"`
	Enum    []string `json:"enum,omitempty"`
	Format  string   `json:"format,omitempty"`
	Pattern string   `json:"pattern,omitempty"`
	Minimum *float64 `json:"minimum,omitempty"`
	// Properties are an object's keys, in the order of the Go fields.
	Properties           Properties  `json:"properties,omitempty"`
	Required             []string    `json:"required,omitempty"`
	AdditionalProperties *Additional `json:"additionalProperties,omitempty"`
	Items                *Schema     `json:"items,omitempty"`
	MinItems             *int        `json:"minItems,omitempty"`
	MaxItems             *int        `json:"maxItems,omitempty"`
	OneOf                []*Schema   `json:"oneOf,omitempty"`
	// XLine marks, among a command's documents, one that a stream prints
	// as one JSON line per record (not a JSON Schema keyword: tools
	// ignore it).
	XLine bool               `json:"x-json-line,omitempty"`
	Defs  map[string]*Schema `json:"$defs,omitempty"`
}

// Property is one key of an object schema.
type Property struct {
	Name   string
	Schema *Schema
}

// Properties keep their order in JSON.
type Properties []Property

// MarshalJSON writes the properties as an object, in order.
func (ps Properties) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.Name)
		v, err := json.Marshal(p.Schema)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an object of schemas, keeping its order.
func (ps *Properties) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("properties: not an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var s Schema
		if err := dec.Decode(&s); err != nil {
			return err
		}
		*ps = append(*ps, Property{Name: t.(string), Schema: &s})
	}
	return nil
}

// Get is the schema of a property, or nil.
func (ps Properties) Get(name string) *Schema {
	for _, p := range ps {
		if p.Name == name {
			return p.Schema
		}
	}
	return nil
}

// Additional is additionalProperties: false (Forbid), or the schema of
// every value (a map).
type Additional struct {
	Forbid bool
	Schema *Schema
}

// MarshalJSON writes false or the schema.
func (a Additional) MarshalJSON() ([]byte, error) {
	if a.Forbid {
		return []byte("false"), nil
	}
	return json.Marshal(a.Schema)
}

// UnmarshalJSON reads false, true or a schema.
func (a *Additional) UnmarshalJSON(data []byte) error {
	switch string(bytes.TrimSpace(data)) {
	case "false":
		a.Forbid = true
		return nil
	case "true":
		return nil
	}
	a.Schema = new(Schema)
	return json.Unmarshal(data, a.Schema)
}

// Marshal writes a schema file: indented, with a final newline.
func Marshal(s *Schema) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
