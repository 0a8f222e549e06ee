package cmdutil

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// Exit codes of herd (herd-cli.md).
const (
	ExitOK      = 0
	ExitFailure = 1 // the action failed, the service or action is unknown, no daemon
	ExitUsage   = 2 // bad flags or arguments
)

// Client is the daemon connection herd needs; *local.Client is one.
type Client interface {
	Call(ctx context.Context, req wire.Request) (wire.Reply, error)
	Stream(ctx context.Context, req wire.Request, fn func(wire.Reply) error) error
	Close() error
}

// Factory holds what every command shares: IO streams, global flags, the
// way to reach the daemon and the clock.
type Factory struct {
	In       io.Reader
	Out, Err io.Writer
	// Connect dials the daemon at socket.
	Connect func(ctx context.Context, socket string) (Client, error)
	Now     func() time.Time
	// IsTerminal says whether Out or Err is a terminal, where control
	// characters are shown escaped (terminal.go). Nil: a TCGETS ioctl.
	IsTerminal func(io.Writer) bool
	// Accounts resolves the user and group names of `config validate`.
	// Nil: config.SystemAccounts{}, which in herd as `make build` builds
	// it (without cgo) reads /etc/passwd and /etc/group (docs/herd.md).
	Accounts services.Accounts

	Socket string
	JSON   bool
	// Quiet (-q) prints nothing on success (see cli's quiet.go); the
	// is-* verbs print nothing at all.
	Quiet bool
	// Cap is the capability presented (--cap, --cap-file or $HERD_CAP),
	// CapFile the file --cap-file names, and capSocket, when set, the
	// socket it is presented at.
	Cap       string
	CapFile   string
	capSocket string
}

// Failure is an error whose message was already printed; it only carries
// the exit code.
type Failure struct{ Code int }

func (f Failure) Error() string { return "exit " + strconv.Itoa(f.Code) }

// usageErr is a usage problem (exit 2) found after cobra's parsing.
type usageErr string

func (u usageErr) Error() string { return string(u) }

// UsageError is a usage problem (exit 2) found after cobra's parsing.
func UsageError(msg string) error { return usageErr(msg) }

// ResolveCap reads the capability to present from --cap, --cap-file or
// $HERD_CAP (a sturdyref is a secret: on the command line, every user
// sees it in ps), and picks where to present it. A capability whose only
// address is a unix socket goes to that socket, as the caller: a daemon
// never dials a unix socket on someone's behalf. Any other goes to the
// local daemon, which serves its own or relays another's over libp2p.
func (f *Factory) ResolveCap() error {
	switch {
	case f.CapFile != "" && f.Cap != "":
		return UsageError("--cap and --cap-file: present one capability")
	case f.CapFile != "":
		text, err := readSecret(f.In, f.CapFile)
		if err != nil {
			return UsageError("--cap-file: " + err.Error())
		}
		f.Cap = text
	case f.Cap == "":
		f.Cap = strings.TrimSpace(os.Getenv("HERD_CAP"))
	}
	if f.Cap == "" {
		return nil
	}
	ref, err := capability.ParseSturdyref(f.Cap)
	if err != nil {
		return UsageError("--cap: " + err.Error())
	}
	socket := ""
	for _, a := range ref.Addrs {
		path, ok := strings.CutPrefix(a, "/unix")
		if !ok {
			return nil // a network address: the local daemon relays
		}
		socket = path
	}
	f.capSocket = socket
	return nil
}

// readSecret reads a sturdyref from path, or from in for "-".
func readSecret(in io.Reader, path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		if in == nil {
			in = os.Stdin
		}
		b, err = io.ReadAll(io.LimitReader(in, 64<<10))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", err
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return text, nil
}

// RefArg is a sturdyref given as an argument: the text itself, "-" for
// stdin, or @FILE (so that it need not show in ps).
func (f *Factory) RefArg(arg string) (string, error) {
	if arg == "-" {
		return readSecret(f.In, "-")
	}
	if path, ok := strings.CutPrefix(arg, "@"); ok {
		return readSecret(f.In, path)
	}
	return arg, nil
}
