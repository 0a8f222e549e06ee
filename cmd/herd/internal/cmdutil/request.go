package cmdutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// dial connects to the daemon a request goes to: the socket of the
// presented capability, if it names one alone, else -s.
func (f *Factory) dial(ctx context.Context) (Client, string, error) {
	socket := f.Socket
	if f.capSocket != "" {
		socket = f.capSocket
	}
	c, err := f.Connect(ctx, socket)
	return c, socket, err
}

// Request sends req and returns the reply; a transport failure is printed
// and becomes an exit code. Ctrl-C ends herd as it ends any program (exit
// 130; the daemon goes on with what it was asked): catching it would start
// the runtime's signal handling, threads and all, for every command.
func (f *Factory) Request(req wire.Request) (wire.Reply, error) {
	req.Cap = f.Cap
	ctx := context.Background()
	c, socket, err := f.dial(ctx)
	if err != nil {
		return wire.Reply{}, f.dialFailed(err)
	}
	defer c.Close()
	rep, err := c.Call(ctx, req)
	if err != nil {
		return wire.Reply{}, f.FailKind(wire.Unreachable, fmt.Sprintf("%s: %v", socket, err))
	}
	return rep, nil
}

// Call sends req and decodes its result into v. It reports done when
// nothing is left to print: the reply was an error (printed, and err is
// the exit code) or --json printed the result.
func (f *Factory) Call(req wire.Request, typed string, v any) (done bool, err error) {
	rep, err := f.Request(req)
	if err != nil {
		return true, err
	}
	if !rep.OK {
		return true, f.ReplyError(rep.Error, typed)
	}
	return f.Decode(rep, v)
}

// dialFailed reports that the daemon could not be reached, and what to do
// about it: the C library's words say what happened, not why. Under
// --json, the error document alone (kind unreachable).
func (f *Factory) dialFailed(err error) error {
	fail := f.FailKind(wire.Unreachable, err.Error())
	if hint := DialHint(err); hint != "" && !f.JSON {
		fmt.Fprintln(f.Err, hint)
	}
	return fail
}

// DialHint says what to do when the daemon's socket could not be
// dialled with err ("" when there is nothing to say).
func DialHint(err error) string {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return "Is shepherd running? Start it (shepherd), or point herd at its socket: herd -s SOCKET ..."
	case errors.Is(err, syscall.ECONNREFUSED):
		return "No shepherd listens on this socket (one that ended left it): start shepherd, or point herd at the socket of one that runs: herd -s SOCKET ..."
	case errors.Is(err, syscall.EACCES):
		return "The socket is not open to you: run herd as the daemon's user, have its owner open it (shepherd --socket-group G --socket-mode 0660), or point herd at your own daemon's socket: herd -s SOCKET ..."
	}
	return ""
}

// Fail prints a herd error line (with --json: an error document of kind
// failed) and returns the failure exit code.
func (f *Factory) Fail(msg string) error {
	return f.FailKind(KindFailed, msg)
}

// FailKind is Fail with the kind an error document has under --json.
func (f *Factory) FailKind(kind wire.ErrorKind, msg string) error {
	if f.JSON {
		f.printError(&wire.Error{Kind: kind, Message: msg})
		return Failure{ExitFailure}
	}
	fmt.Fprintf(f.Err, "herd: error: %s\n", msg)
	return Failure{ExitFailure}
}

// Decode unmarshals a successful reply's result into v; with --json it
// then prints v as a document and reports printed=true. Decoding first
// is what makes the document herd's contract rather than whatever the
// daemon sent: the keys of v's type, empty lists as [], "format".
func (f *Factory) Decode(rep wire.Reply, v any) (printed bool, err error) {
	if len(rep.Result) > 0 {
		if err := json.Unmarshal(rep.Result, v); err != nil {
			return false, f.Fail("malformed reply from the daemon: " + err.Error())
		}
	}
	if f.JSON {
		if err := f.PrintDoc(v); err != nil {
			return true, f.Fail(err.Error())
		}
		return true, nil
	}
	return false, nil
}

// ReplyError prints a failed reply the way herd-cli.md says (with
// --json: the daemon's error as an error document, and nothing on
// stderr), and returns the exit code. typed is what the user typed to
// name the service.
func (f *Factory) ReplyError(e *wire.Error, typed string) error {
	if e == nil {
		e = &wire.Error{Kind: wire.BadRequest, Message: "the daemon sent an empty error"}
	}
	if f.JSON {
		f.printError(e)
		return Failure{ExitFailure}
	}
	name := e.Service
	if name == "" {
		name = typed
	}
	switch e.Kind {
	case wire.ServiceNotFound:
		return f.Fail(fmt.Sprintf("service '%s' could not be found", typed))
	case wire.ActionNotFound:
		return f.Fail(fmt.Sprintf("service '%s' does not have an action '%s'", typed, e.Action))
	case wire.StartFailed:
		if e.Disabled {
			f.Say("Service %s is currently disabled.", name)
			if e.Reason != "" {
				f.Say("  %s", e.Reason) // why, and to run herd enable
			}
			return Failure{ExitFailure}
		}
		f.Say("Service %s could not be started.", name)
		if e.Reason == "" {
			return f.Fail("failed to start service " + name)
		}
		// The reason, then the service's last words, say it all: no
		// error line repeats the first.
		f.Say("  %s", e.Reason)
		if len(e.Recent) > 0 {
			f.Say("  Recent messages:")
			for _, l := range e.Recent {
				f.Say("    %s", l)
			}
		}
		return Failure{ExitFailure}
	case wire.DependencyFailed:
		// What did start (on other hosts, for a fleet) is said first.
		f.PrintSteps(e.Steps)
		f.Say("Service %s depends on %s.", name, e.Dependency)
		if e.Reason != "" {
			return f.Fail(fmt.Sprintf("failed to start service %s: %s: %s", name, e.Dependency, e.Reason))
		}
		return f.Fail("failed to start service " + name)
	}
	return f.Fail(e.Message)
}

// Say prints a line of text output, unless --json is in force.
func (f *Factory) Say(format string, args ...any) {
	if !f.JSON {
		fmt.Fprintf(f.Out, format+"\n", args...)
	}
}

// PrintSteps says what a lifecycle action did to each service.
func (f *Factory) PrintSteps(steps []wire.Step) {
	for _, s := range steps {
		switch s.Outcome {
		case wire.Started:
			f.Say("Service %s has been started.", s.Service)
		case wire.Stopped:
			f.Say("Service %s has been stopped.", s.Service)
		case wire.AlreadyRunning:
			f.Say("Service %s is already running.", s.Service)
		}
	}
}

// Stream prints a streamed reply until the daemon ends it or the user
// interrupts (a normal end: exit 0). print gets every frame, with --json
// too: it then prints one document per record (a JSON line each), and an
// error that ends the stream is one more line, an error document.
func (f *Factory) Stream(req wire.Request, typed string, print func(raw json.RawMessage, first bool) error) error {
	req.Cap = f.Cap
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, _, err := f.dial(ctx)
	if err != nil {
		return f.dialFailed(err)
	}
	defer c.Close()
	var replyErr *wire.Error
	first := true
	err = c.Stream(ctx, req, func(rep wire.Reply) error {
		if !rep.OK {
			replyErr = rep.Error
			return nil
		}
		err := print(rep.Result, first)
		first = false
		return err
	})
	if replyErr != nil {
		return f.ReplyError(replyErr, typed)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return f.FailKind(wire.Unreachable, err.Error())
	}
	return nil
}

// QuietCall makes a request within timeout and returns a failed reply as
// an error, printing nothing.
func (f *Factory) QuietCall(req wire.Request, timeout time.Duration) (wire.Reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := f.Connect(ctx, f.Socket)
	if err != nil {
		return wire.Reply{}, err
	}
	defer c.Close()
	rep, err := c.Call(ctx, req)
	if err != nil {
		return rep, err
	}
	if !rep.OK {
		return rep, rep.Error
	}
	return rep, nil
}

// PrintErrorList prints a configuration's errors, one FILE:LINE:COL line
// each, and says how many; 0 for an error that is not such a list.
func (f *Factory) PrintErrorList(err error) int {
	list, ok := err.(services.ErrorList)
	if !ok {
		return 0
	}
	for _, e := range list {
		fmt.Fprintln(f.Err, e)
	}
	return len(list)
}

// FailInvalid reports err, a configuration's error list (or another
// error reading it), under summary: the list one FILE:LINE:COL line each
// on stderr, then `herd: error: SUMMARY: N error(s)`; with --json one error
// document of kind invalid-config whose message holds them all.
func (f *Factory) FailInvalid(summary string, err error) error {
	list, ok := err.(services.ErrorList)
	if !ok {
		return f.Fail(err.Error())
	}
	if f.JSON {
		return f.FailKind(wire.InvalidConfig, fmt.Sprintf("%s: %d error(s):\n%v", summary, len(list), err))
	}
	f.PrintErrorList(err)
	return f.Fail(fmt.Sprintf("%s: %d error(s)", summary, len(list)))
}
