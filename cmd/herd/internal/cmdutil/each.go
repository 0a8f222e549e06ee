package cmdutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Several services per verb, as systemctl takes several units: `herd
// start a b c`, `herd stop a b`, `herd status a b`, `herd is-active a b`.
// The requests go out at once (systemctl starts its units as one
// transaction; the daemon orders what depends on what, and a start of b
// that needs a waits for it either way), each on its own connection with
// its output held; then each one's output is printed in argument order,
// so that what herd prints does not depend on which answer came first.
// The exit code is the worst of them: 0 only if every one succeeded.
// With --json, one service prints the document it always did; several
// print one document, {"format": 1, "results": [...]}, with an item per
// service in argument order: {"service": NAME, KEY: its document} or
// {"service": NAME, "error": {...}} (docs/herd.md; cli's ActionResults,
// StatusResults and KillResults are their types, for the schemas).

// maxInFlight bounds the requests in flight at once: each holds a
// connection, and an unprivileged caller gets 64 (netlayer/local).
const maxInFlight = 16

// heldRun is one service's run: its own Factory, whose output is held.
type heldRun struct {
	out, err bytes.Buffer
	f        *Factory
	code     int
}

// EachOpts say how EachService prints.
type EachOpts struct {
	// Sep goes between two services' text.
	Sep string
	// Key names a service's document in its item of --json's results;
	// "" leaves --json to the caller (EachService prints the first
	// error document, if any).
	Key string
	// After, if set, is called in argument order once service i's
	// output is printed, for what depends on the runs before it
	// (lifecycle's steps, said once).
	After func(i int)
}

// EachService runs do(g, i) for every name at once, g being a Factory of
// its own for names[i] whose output is held; then it prints what each
// printed, in argument order, as o says. It returns the worst exit of
// them all (nil when all succeeded). One name runs as it always did:
// with f, printing as it goes.
func EachService(f *Factory, names []string, o EachOpts, do func(g *Factory, i int) error) error {
	if len(names) == 1 {
		if err := do(f, 0); err != nil {
			return err
		}
		if o.After != nil {
			o.After(0)
		}
		return nil
	}
	runs := make([]*heldRun, len(names))
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	for i := range names {
		r := &heldRun{}
		g := *f
		g.Out, g.Err = &r.out, &r.err
		r.f = &g
		runs[i] = r
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			r.code = exitOf(r.f, do(r.f, i))
		}()
	}
	wg.Wait()
	worst := ExitOK
	var items []json.RawMessage
	errorShown := false
	for i, r := range runs {
		worst = max(worst, r.code)
		switch {
		case f.JSON && o.Key != "":
			items = append(items, jsonItem(names[i], o.Key, r.out.Bytes()))
		case f.JSON:
			if r.code != ExitOK && !errorShown && r.out.Len() > 0 {
				f.Out.Write(r.out.Bytes())
				errorShown = true
			}
		default:
			if i > 0 && o.Sep != "" && r.out.Len() > 0 {
				fmt.Fprint(f.Out, o.Sep)
			}
			f.Out.Write(r.out.Bytes())
		}
		f.Err.Write(r.err.Bytes())
		if o.After != nil {
			o.After(i)
		}
	}
	if f.JSON && o.Key != "" {
		if err := f.PrintDoc(eachDoc{Results: items}); err != nil {
			return f.Fail(err.Error())
		}
	}
	if worst != ExitOK {
		return Failure{Code: worst}
	}
	return nil
}

// eachDoc is what several services print with --json: one item each.
type eachDoc struct {
	Results []json.RawMessage `json:"results"`
}

// jsonItem makes a service's item of eachDoc from the document its run
// printed ({"format":1,...}): {"service": name, key: the document
// without its format} or, for an error document, {"service": name,
// "error": ...}.
func jsonItem(name, key string, doc []byte) json.RawMessage {
	quoted, _ := json.Marshal(name)
	body, ok := bytes.CutPrefix(bytes.TrimSpace(doc), fmt.Appendf(nil, `{"format":%d,`, JSONFormat))
	if !ok {
		// Nothing was printed: the run cannot have succeeded silently.
		b, _ := json.Marshal(map[string]any{"service": name, "error": &wire.Error{Kind: KindFailed, Message: "no answer"}})
		return b
	}
	item := append([]byte(`{"service":`), quoted...)
	if bytes.HasPrefix(body, []byte(`"error":`)) {
		return append(append(item, ','), body...)
	}
	item = fmt.Appendf(item, `,%q:{`, key)
	return append(append(item, body...), '}')
}

// exitOf is the exit code of a run's error; an error not yet printed
// (a usage error found after parsing) is printed as Run would.
func exitOf(g *Factory, err error) int {
	var fl Failure
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &fl):
		return fl.Code
	}
	return g.ReportUsage(err, nil)
}
