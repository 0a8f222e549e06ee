package services

// LogTarget is where a service's output lines go (`log:`).
type LogTarget uint8

const (
	// LogFile: the log file (and the stderr-log-file), the default.
	LogFile LogTarget = iota
	// LogSyslog: the system log only, through its socket (/dev/log), with
	// the service's name as the tag; no file is written.
	LogSyslog
	// LogBoth: the files and the system log.
	LogBoth
)

func (t LogTarget) String() string {
	switch t {
	case LogSyslog:
		return "syslog"
	case LogBoth:
		return "both"
	}
	return "file"
}

// Files reports whether lines go to the log files.
func (t LogTarget) Files() bool { return t != LogSyslog }

// Syslog reports whether lines go to the system log.
func (t LogTarget) Syslog() bool { return t != LogFile }
