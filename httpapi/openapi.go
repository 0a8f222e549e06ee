package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// OpenAPI is the API's OpenAPI 3.1 document, made from the route table
// and the Go types of bodies and answers (docs/openapi.json is it; a test
// keeps them equal).
func OpenAPI() []byte {
	g := &schemaGen{defs: map[string]any{}}
	paths := map[string]map[string]any{}
	for _, rt := range routes() {
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(rt),
			"security":    []any{map[string]any{"capability": []string{}}},
		}
		var params []any
		for _, name := range pathParams(rt.Path) {
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, p := range rt.Query {
			params = append(params, map[string]any{"name": p.Name, "in": "query", "description": p.Doc, "schema": map[string]any{"type": p.Type}})
		}
		for _, p := range rt.Header {
			params = append(params, map[string]any{"name": p.Name, "in": "header", "description": p.Doc, "schema": map[string]any{"type": p.Type}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Body != nil {
			op["requestBody"] = map[string]any{"required": rt.Method == "PUT",
				"content": map[string]any{"application/json": map[string]any{"schema": g.ref(reflect.TypeOf(rt.Body))}}}
		}
		ok := map[string]any{"application/json": map[string]any{"schema": g.ref(reflect.TypeOf(rt.Result))}}
		desc := "OK"
		if rt.Stream {
			ok = map[string]any{"text/event-stream": map[string]any{"schema": g.ref(reflect.TypeOf(rt.Result))}}
			desc = "a stream of Server-Sent Events, each one's data as the schema says; an `error` event (data: an Error) ends it"
		}
		if rt.Path == "/v1/services/{name}/log" {
			ok["text/event-stream"] = map[string]any{"schema": g.ref(reflect.TypeOf(LogEvent{}))}
		}
		responses := map[string]any{"200": map[string]any{"description": desc, "content": ok}}
		for _, code := range append([]int{401, 429}, rt.Errors...) {
			responses[strconv.Itoa(code)] = map[string]any{"$ref": "#/components/responses/" + strconv.Itoa(code)}
		}
		op["responses"] = responses
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = op
	}
	errRef := g.ref(reflect.TypeOf(errorBody{}))
	responses := map[string]any{}
	for _, code := range []int{400, 401, 403, 404, 409, 429, 503} {
		responses[strconv.Itoa(code)] = map[string]any{"description": http.StatusText(code) + ": " + errorKinds[code],
			"content": map[string]any{"application/json": map[string]any{"schema": errRef}}}
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "shepherd HTTP API", "version": "1",
			"description": "The daemon's HTTP API (shepherd --http): the control socket's requests as resources. Every request presents a capability as Authorization: Bearer STURDYREF. See docs/http.md."},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"capability": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "sturdyref (ocapn://...)"}},
			"schemas":         g.defs,
			"responses":       responses,
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// errorKinds says which of the protocol's error kinds each status carries.
var errorKinds = map[int]string{
	400: string(wire.BadRequest),
	401: "no capability presented, or one that is unknown, revoked (" + string(wire.CapabilityRevoked) + ") or expired (" + string(wire.CapabilityExpired) + ")",
	403: string(wire.PermissionDenied) + ": the capability does not allow it",
	404: string(wire.ServiceNotFound) + ", " + string(wire.ActionNotFound),
	409: string(wire.StartFailed) + ", " + string(wire.DependencyFailed) + ", " + string(wire.InvalidConfig),
	429: "too many bad capabilities from this address (" + string(wire.PermissionDenied) + ")",
	503: string(wire.Unreachable) + ", " + string(wire.Timeout),
}

func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for _, part := range strings.Split(strings.Trim(rt.Path, "/"), "/")[1:] {
		part = strings.Trim(part, "{}")
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// pathParams are the {names} of a path, in order.
func pathParams(path string) []string {
	var out []string
	for _, part := range strings.Split(path, "/") {
		if strings.HasPrefix(part, "{") {
			out = append(out, strings.Trim(part, "{}"))
		}
	}
	return out
}

// schemaGen makes JSON Schemas of Go types as encoding/json encodes them.
type schemaGen struct{ defs map[string]any }

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(wire.Duration(0))
	rawType      = reflect.TypeOf(json.RawMessage(nil))
)

// ref is t's schema: a reference to a named struct's definition.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case durationType:
		return map[string]any{"type": "string", "description": "a Go duration, such as 1.5s"}
	case rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Struct:
		name := t.Name()
		if name == "" {
			return g.object(t)
		}
		if _, done := g.defs[name]; !done {
			g.defs[name] = nil // a recursive type refers to itself
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.ref(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.ref(t.Elem())}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	}
	panic(fmt.Sprintf("httpapi: no schema for %v", t))
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.ref(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			required = append(required, name)
		}
	}
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		slices.Sort(required)
		out["required"] = required
	}
	return out
}
