// Package docschema makes the JSON Schemas of herd's --json documents
// from the Go types they are printed from, and checks a document against
// one. It knows the subset of JSON Schema (draft 2020-12) it writes:
// type, properties, required, additionalProperties, items, minItems,
// maxItems, enum, const, pattern, format date-time, minimum, oneOf and
// $ref within the file. Only tests link it: herd itself prints, it does
// not check.
package docschema
