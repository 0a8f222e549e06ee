package probe

import (
	"bytes"
	"fmt"
	"time"
)

// ExecResult is the outcome of an `exec:` probe (argv0 its command, how
// how it ended: "exited with code 3", output what it printed): nil when it
// succeeded, else an error with how it ended and the last line printed.
func ExecResult(argv0 string, success bool, how string, timedOut bool, timeout time.Duration, output string) error {
	switch {
	case timedOut:
		return fmt.Errorf("%s: no answer within %v", argv0, timeout)
	case success:
		return nil
	}
	if line := lastLine(output); line != "" {
		return fmt.Errorf("%s %s: %s", argv0, how, line)
	}
	return fmt.Errorf("%s %s", argv0, how)
}

// lastLine is the last non-empty line of s, bounded.
func lastLine(s string) string {
	b := bytes.TrimRight([]byte(s), "\r\n\t ")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}
