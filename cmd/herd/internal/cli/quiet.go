package cli

import (
	"bytes"
	"io"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/spf13/cobra"
)

// -q (--quiet) prints nothing when the command succeeds: what it writes
// on stdout is held, and printed only if it fails (the reason of a start
// that failed goes to stdout, as Shepherd prints it, and is wanted then).
// Errors go to stderr as ever. The is-* verbs, whose exit code is their
// answer, print nothing at all (silentWhenQuiet).

// silentWhenQuiet marks a command whose held output is dropped whatever
// its exit code.
const silentWhenQuiet = "quiet-silent"

// quietHoldMax bounds what -q holds: a `log -f -q` is not kept whole.
const quietHoldMax = 1 << 20

// quietOut holds a command's stdout under -q.
type quietOut struct {
	under io.Writer
	held  bytes.Buffer
}

func (q *quietOut) Write(p []byte) (int, error) {
	if room := quietHoldMax - q.held.Len(); room > 0 {
		q.held.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// holdQuiet starts holding stdout, under -q.
func holdQuiet(f *cmdutil.Factory) {
	if _, held := f.Out.(*quietOut); f.Quiet && !held {
		f.Out = &quietOut{under: f.Out}
	}
}

// releaseQuiet ends the hold: what cmd printed goes out if it failed
// (code) and is not silent under -q.
func releaseQuiet(f *cmdutil.Factory, cmd *cobra.Command, code int) {
	q, ok := f.Out.(*quietOut)
	if !ok {
		return
	}
	f.Out = q.under
	if code != cmdutil.ExitOK && (cmd == nil || cmd.Annotations[silentWhenQuiet] == "") {
		f.Out.Write(q.held.Bytes())
	}
}
