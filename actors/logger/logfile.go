package logger

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/services"
)

// logFile is one file a service's lines go to: its log file, or the file
// of its stderr (stderr-log-file). Both are opened, rotated and reported
// on alike.
type logFile struct {
	service string
	path    string
	gid     int // group of the file, or -1
	rotate  services.LogRotate
	logf    func(string, ...any)
	file    *os.File
	size    int64 // of the open file
	// problem says why the file cannot be written, for the daemon log
	// (once per new problem) and status; lost counts the lines that could
	// not be written since.
	problem string
	lost    int
}

// problem says why a file of the logger cannot be written, or "". Not
// the system log's: status says the output is then in memory only, which
// a log file belies; the daemon log says it.
func (st *loggerState) problem() string {
	p := st.out.problem
	if st.errOut != nil && st.errOut.problem != "" {
		if p != "" {
			p += "; "
		}
		p += st.errOut.problem
	}
	return p
}

// close closes the logger's files (and its system log socket).
func (st *loggerState) close() {
	st.out.close()
	if st.errOut != nil {
		st.errOut.close()
	}
	if st.syslog != nil {
		st.syslog.close()
	}
}

// open opens the log file if it is not open. A file that cannot be
// opened is tried again at the next output, and said once in the daemon
// log (and in status until it can be written).
func (st *logFile) open() {
	if st.file != nil || st.path == "" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(st.path), 0o755); err != nil {
		st.fail(fmt.Errorf("log file %s cannot be created: %w", st.path, reason(err)))
		return
	}
	f, err := proc.OpenLogFile(st.path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("log file %s cannot be opened: %w", st.path, pe.Err)
		}
		st.fail(err)
		return
	}
	st.file, st.size = f, 0
	if fi, err := f.Stat(); err == nil {
		st.size = fi.Size()
	}
	if st.gid >= 0 {
		if err := f.Chown(-1, st.gid); err != nil {
			st.logf("%s: log file %s: %v", st.service, st.path, err)
		}
	}
}

// fail records why the log file cannot be written; the daemon log hears
// of each new reason once, not of every line.
func (st *logFile) fail(err error) {
	if msg := err.Error(); msg != st.problem {
		st.problem = msg
		st.logf("%s: %s; its output is kept in memory only (herd status, herd log)", st.service, msg)
	}
}

// reason is what went wrong, without the path a PathError repeats.
func reason(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// recovered says the log file is written again.
func (st *logFile) recovered() {
	if st.problem != "" {
		st.logf("%s: log file %s is written again; %d lines could not be written to it", st.service, st.path, st.lost)
		st.problem, st.lost = "", 0
	}
}

// writeFile appends whole lines to the log file, rotating it where the
// next line would pass the size limit: a rotation never splits or loses a
// line (a single line longer than the limit gets a file of its own). It
// reports whether all of data was written.
func (st *logFile) writeFile(data []byte) bool {
	for len(data) > 0 {
		st.open()
		if st.file == nil {
			return false
		}
		part := data
		if lim := st.rotate.Size; lim > 0 && st.size+int64(len(data)) > lim {
			room := max(lim-st.size, 0)
			cut := bytes.LastIndexByte(data[:min(int64(len(data)), room)], '\n')
			switch {
			case cut >= 0:
				part = data[:cut+1]
			case st.size > 0:
				st.rotateFiles() // the next line does not fit: start afresh
				continue
			default:
				part = data[:bytes.IndexByte(data, '\n')+1]
			}
		}
		n, err := st.file.Write(part)
		st.size += int64(n)
		if err != nil {
			st.fail(fmt.Errorf("log file %s cannot be written: %w", st.path, reason(err)))
			return false
		}
		st.recovered()
		data = data[len(part):]
		if st.rotate.Size > 0 && st.size >= st.rotate.Size {
			st.rotateFiles()
		}
	}
	return true
}

// rotateFiles shifts NAME.log.(k) to NAME.log.(k+1), drops the oldest and
// starts a new NAME.log at the next write.
func (st *logFile) rotateFiles() {
	st.close()
	os.Remove(fmt.Sprintf("%s.%d", st.path, st.rotate.Keep))
	for k := st.rotate.Keep - 1; k >= 1; k-- {
		os.Rename(fmt.Sprintf("%s.%d", st.path, k), fmt.Sprintf("%s.%d", st.path, k+1))
	}
	if err := os.Rename(st.path, st.path+".1"); err != nil {
		st.logf("%s: log file %s: rotate: %v", st.service, st.path, err)
	}
}

func (st *logFile) close() {
	if st.file != nil {
		st.file.Close()
		st.file = nil
	}
}
