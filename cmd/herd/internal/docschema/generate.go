package docschema

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Variant is one kind of document a command prints.
type Variant struct {
	// Title says when it is printed ("one service").
	Title string
	// Type is the Go struct it is printed from.
	Type reflect.Type
	// Line: a stream prints it, one JSON line per record.
	Line bool
}

// Generator makes schemas from Go types, as encoding/json prints them.
type Generator struct {
	// Format is the value of the "format" key every document begins
	// with.
	Format int
	// Enums are the values of named string types that are closed sets
	// (error kinds, outcomes).
	Enums map[reflect.Type][]string
	// Custom gives the schema of types that marshal themselves.
	Custom map[reflect.Type]*Schema
	// Comments, if set, give the types' and fields' descriptions.
	Comments *Comments

	defs map[string]*Schema
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	durationType  = reflect.TypeFor[time.Duration]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

// File is the schema of a command's documents: one of variants.
func (g *Generator) File(id, title, description string, variants []Variant) (*Schema, error) {
	g.defs = map[string]*Schema{}
	s := &Schema{Schema: Draft, ID: id, Title: title, Description: description}
	for _, v := range variants {
		doc, err := g.document(v)
		if err != nil {
			return nil, err
		}
		s.OneOf = append(s.OneOf, doc)
	}
	s.Defs = g.defs
	return s, nil
}

// document is a variant's schema: its struct's, inline, with "format"
// first.
func (g *Generator) document(v Variant) (*Schema, error) {
	if v.Type.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%v: a document is a struct", v.Type)
	}
	obj, err := g.object(v.Type)
	if err != nil {
		return nil, err
	}
	obj.Title = v.Title
	obj.Description = g.Comments.typeDoc(v.Type)
	obj.XLine = v.Line
	format := &Schema{Description: "The version of herd's JSON documents.", Type: "integer", Const: g.Format}
	obj.Properties = append(Properties{{Name: "format", Schema: format}}, obj.Properties...)
	obj.Required = append([]string{"format"}, obj.Required...)
	return obj, nil
}

// object is a struct's object schema (not a reference).
func (g *Generator) object(t reflect.Type) (*Schema, error) {
	s := &Schema{Type: "object", AdditionalProperties: &Additional{Forbid: true}}
	if err := g.fields(t, s); err != nil {
		return nil, err
	}
	return s, nil
}

// fields adds t's fields to s as encoding/json names them, promoting
// those of embedded structs.
func (g *Generator) fields(t reflect.Type, s *Schema) error {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := g.fields(ft, s); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs, err := g.schema(f.Type)
		if err != nil {
			return fmt.Errorf("%v.%s: %w", t, f.Name, err)
		}
		if d := g.Comments.fieldDoc(t, f.Name); d != "" {
			if fs.Ref != "" {
				// A $ref's siblings are allowed in 2020-12.
				fs = &Schema{Ref: fs.Ref, Description: d}
			} else {
				c := *fs
				c.Description = d
				fs = &c
			}
		}
		s.Properties = append(s.Properties, Property{Name: name, Schema: fs})
		optional := false
		for _, o := range strings.Split(opts, ",") {
			if o == "omitempty" || o == "omitzero" {
				optional = true
			}
			if o == "string" {
				return fmt.Errorf("%v.%s: the ,string option is not supported", t, f.Name)
			}
		}
		if !optional {
			s.Required = append(s.Required, name)
		}
	}
	return nil
}

// schema is the schema of a value of type t.
func (g *Generator) schema(t reflect.Type) (*Schema, error) {
	if c, ok := g.Custom[t]; ok {
		cp := *c
		return &cp, nil
	}
	switch t {
	case timeType:
		return &Schema{Type: "string", Format: "date-time"}, nil
	case durationType:
		return &Schema{Type: "integer", Description: "nanoseconds"}, nil
	}
	if t.Implements(marshalerType) || t.Implements(textType) || reflect.PointerTo(t).Implements(marshalerType) {
		return nil, fmt.Errorf("%v marshals itself: give its schema in Generator.Custom", t)
	}
	zero := 0.0
	switch t.Kind() {
	case reflect.Bool:
		return &Schema{Type: "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &Schema{Type: "integer"}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &Schema{Type: "integer", Minimum: &zero}, nil
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: "number"}, nil
	case reflect.String:
		s := &Schema{Type: "string"}
		if e, ok := g.Enums[t]; ok {
			s.Enum = e
		}
		return s, nil
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil, fmt.Errorf("%v: bytes print as base64: use a string", t)
		}
		items, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		s := &Schema{Type: "array", Items: items}
		if t.Kind() == reflect.Array {
			n := t.Len()
			s.MinItems, s.MaxItems = &n, &n
		}
		return s, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%v: map keys must be strings", t)
		}
		v, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "object", AdditionalProperties: &Additional{Schema: v}}, nil
	case reflect.Struct:
		name := defName(t)
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // recursion stops here
			obj, err := g.object(t)
			if err != nil {
				return nil, err
			}
			obj.Description = g.Comments.typeDoc(t)
			g.defs[name] = obj
		}
		return &Schema{Ref: "#/$defs/" + name}, nil
	}
	return nil, fmt.Errorf("%v: no JSON schema for a %v", t, t.Kind())
}

// defName names a struct type in $defs: its package's name and its own.
func defName(t reflect.Type) string {
	pkg := t.PkgPath()
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		pkg = pkg[i+1:]
	}
	if pkg == "" {
		return t.Name()
	}
	return pkg + "." + t.Name()
}
