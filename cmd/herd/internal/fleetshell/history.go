package fleetshell

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"unicode"
)

// MaxHistoryLine is the longest line kept in the history; longer ones
// are run but not kept.
const MaxHistoryLine = 4096

// DefaultHistoryLimit is how many lines the history keeps.
const DefaultHistoryLimit = 1000

// DefaultHistory is the history file: $XDG_STATE_HOME/herd/fleet-shell.history,
// by default under ~/.local/state.
func DefaultHistory() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "herd", "fleet-shell.history")
}

// History is the shell's lines, kept in a file of the user's (mode
// 0600, in a directory made 0700): the last limit lines, the file
// rewritten to them when it holds twice as many.
type History struct {
	path  string
	limit int
	lines []string
	// inFile counts the lines in the file, to know when to rewrite it.
	inFile int
}

// OpenHistory reads the history at path, keeping its last limit lines
// (a file that is a symbolic link or not a regular file is refused;
// one readable by others is made 0600).
func OpenHistory(path string, limit int) (*History, error) {
	if limit < 1 {
		limit = DefaultHistoryLimit
	}
	h := &History{path: path, limit: limit}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history %s: %w (a symbolic link is not followed)", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("history %s: not a regular file", path)
	}
	if st.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			return nil, fmt.Errorf("history %s: %w", path, err)
		}
	}
	// A file that grew past its bound (another program's, or many
	// shells at once): only its end is read.
	bound := int64(2 * limit * (MaxHistoryLine + 1))
	if st.Size() > bound {
		if _, err := f.Seek(st.Size()-bound, io.SeekStart); err != nil {
			return nil, fmt.Errorf("history %s: %w", path, err)
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, bound))
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	if st.Size() > bound {
		// The first line was cut.
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	for _, l := range bytes.Split(data, []byte("\n")) {
		if keepable(string(l)) {
			h.lines = append(h.lines, string(l))
			h.inFile++
		}
	}
	if len(h.lines) > limit {
		h.lines = h.lines[len(h.lines)-limit:]
	}
	return h, nil
}

// Lines are the lines kept, oldest first.
func (h *History) Lines() []string { return h.lines }

// keepable says whether a line goes into the history: not empty, not
// too long, printable (a control character would be replayed on the
// terminal by the line editor).
func keepable(line string) bool {
	if line == "" || len(line) > MaxHistoryLine {
		return false
	}
	for _, r := range line {
		if !unicode.IsPrint(r) && r != '\t' {
			return false
		}
	}
	return true
}

// Add keeps line, if it is worth keeping, and appends it to the file.
func (h *History) Add(line string) error {
	if !keepable(line) {
		return nil
	}
	if n := len(h.lines); n > 0 && h.lines[n-1] == line {
		return nil
	}
	h.lines = append(h.lines, line)
	if len(h.lines) > h.limit {
		h.lines = h.lines[len(h.lines)-h.limit:]
	}
	if h.inFile+1 > 2*h.limit {
		return h.rewrite()
	}
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("history %s: %w", h.path, err)
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("history %s: %w", h.path, err)
	}
	h.inFile++
	return nil
}

// rewrite replaces the file with the lines kept (a new file, mode 0600,
// renamed over the old one).
func (h *History) rewrite() error {
	tmp, err := os.CreateTemp(filepath.Dir(h.path), ".fleet-shell.history-*")
	if err != nil {
		return fmt.Errorf("history %s: %w", h.path, err)
	}
	var buf bytes.Buffer
	for _, l := range h.lines {
		buf.WriteString(l + "\n")
	}
	_, err = tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), h.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("history %s: %w", h.path, err)
	}
	h.inFile = len(h.lines)
	return nil
}
