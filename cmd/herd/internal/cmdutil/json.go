package cmdutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// herd's --json contract (docs/herd.md, "--json"): every document herd
// prints is one JSON object on one line that begins with "format"; keys
// are snake_case; a list is [] and a map {} when empty, never null (or the
// key is absent, where the schema says it may be); a time is RFC 3339
// with its zone, and absent rather than zero; a failure is an error
// document on stdout with a non-zero exit, and nothing goes to stderr;
// a stream prints one such object per line. docs/schemas/ has the schema
// of each command's documents, generated from the Go types they are
// printed from (herdtools.Documents).

// JSONFormat is the "format" of every JSON document herd prints. It
// changes when a key changes its meaning or goes away, not when one is
// added.
const JSONFormat = 1

// herd's own error kinds, beside the protocol's (docs/protocol.md), for
// what herd itself could not do.
const (
	// KindUsage: bad flags or arguments (exit 2).
	KindUsage wire.ErrorKind = "usage"
	// KindImportFailed: herd import could not read or translate its
	// source (exit 1).
	KindImportFailed wire.ErrorKind = "import-failed"
	// KindFailed: anything else herd could not do (exit 1), such as a
	// selector that picks no host or an SSH bootstrap that failed.
	KindFailed wire.ErrorKind = "failed"
)

// ErrorKinds is every kind an error document may have: the protocol's
// and herd's own.
func ErrorKinds() []wire.ErrorKind {
	return []wire.ErrorKind{
		wire.ServiceNotFound, wire.ActionNotFound, wire.DependencyFailed, wire.StartFailed,
		wire.PermissionDenied, wire.CapabilityRevoked, wire.CapabilityExpired, wire.Unreachable,
		wire.Timeout, wire.InvalidConfig, wire.BadRequest,
		KindUsage, KindImportFailed, KindFailed,
	}
}

// ErrorDoc is the document of a failure under --json: a daemon's error
// as it sent it, or herd's own with a kind and a message.
type ErrorDoc struct {
	Error *wire.Error `json:"error"`
}

// MarshalDoc encodes v, a struct (or a pointer to one), as a document of
// the contract: one line, "format" first, empty lists and maps as [] and
// {} rather than null. v's nil lists and maps are made empty on the way.
func MarshalDoc(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		p := reflect.New(rv.Type())
		p.Elem().Set(rv)
		rv = p
	}
	if rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("herd: a JSON document must be a struct, not %T", v)
	}
	fillEmpty(rv.Elem())
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Text meant for people (service output, messages) stays readable:
	// nothing here is embedded in HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rv.Interface()); err != nil {
		return nil, err
	}
	body := buf.Bytes() // {...}\n
	out := make([]byte, 0, len(body)+16)
	out = fmt.Appendf(out, `{"format":%d`, JSONFormat)
	if !bytes.HasPrefix(body, []byte("{}")) {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// fillEmpty replaces, in v and everything it holds, nil slices with empty
// ones and nil maps with empty ones, so that they print as [] and {}.
// Byte slices are left alone (they print as base64 strings).
func fillEmpty(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			fillEmpty(v.Elem())
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				fillEmpty(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		if v.IsNil() {
			if v.CanSet() {
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}
			return
		}
		for i := range v.Len() {
			fillEmpty(v.Index(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			fillEmpty(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			if v.CanSet() {
				v.Set(reflect.MakeMap(v.Type()))
			}
			return
		}
		iter := v.MapRange()
		for iter.Next() {
			e := reflect.New(iter.Value().Type()).Elem()
			e.Set(iter.Value())
			fillEmpty(e)
			v.SetMapIndex(iter.Key(), e)
		}
	}
}

// PrintDoc prints v as a document of the contract (MarshalDoc) on its
// own line.
func (f *Factory) PrintDoc(v any) error {
	b, err := MarshalDoc(v)
	if err != nil {
		return err
	}
	_, err = f.Out.Write(b)
	return err
}

// printError prints an error document (herd's own or a daemon's).
func (f *Factory) printError(e *wire.Error) {
	if err := f.PrintDoc(ErrorDoc{Error: e}); err != nil {
		fmt.Fprintf(f.Err, "herd: error: %s\n", e.Message)
	}
}

// WantsJSON says whether --json is among args (before a "--"), for a
// usage error found before the flags were parsed, or while parsing them.
func WantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true", "--json=1", "--json=t", "--json=TRUE", "--json=True":
			return true
		}
	}
	return false
}

// ReportUsage prints a usage error (cobra's, or one a command returned)
// as herd-cli.md says, or as an error document of kind usage when --json
// is in force or among args; it returns the usage exit code.
func (f *Factory) ReportUsage(err error, args []string) int {
	if f.JSON || WantsJSON(args) {
		f.printError(&wire.Error{Kind: KindUsage, Message: err.Error()})
		return ExitUsage
	}
	fmt.Fprintf(f.Err, "herd: error: %v\n", err)
	return ExitUsage
}
