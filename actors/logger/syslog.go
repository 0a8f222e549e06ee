package logger

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shepherd-go/shepherd/internal/proc"
	"golang.org/x/sys/unix"
)

// syslogSink sends a service's lines to the system log's socket
// (/dev/log, `log: syslog` or `both`): one datagram per line in the
// format syslog(3) writes there (RFC 3164 without a host name), which
// rsyslog, syslog-ng and journald's /dev/log all read:
//
//	<30>Dec  3 23:08:53 web: the line
//
// with the service's name as the tag, facility daemon, and severity info
// for stdout (or the merged output) and err for a stderr of its own
// (stderr-log-file or an inetd connection's).
//
// The socket is non-blocking: a system log that does not keep up loses
// lines rather than stalling the service (its output would back up in its
// pipe); lines lost are counted and said. A socket that is gone (the
// system log restarted) is connected again at the next line, at most once
// a second.
type syslogSink struct {
	service, path, tag string
	logf               func(string, ...any)
	fd                 int // -1 when not connected
	// failedAt is when the last connection failed: the next is tried
	// a second later, not at every line.
	failedAt time.Time
	// problem says why lines do not reach the system log; lost counts
	// them since.
	problem string
	lost    int
}

// Facility daemon (3) and the severities of RFC 5424.
const (
	facilityDaemon = 3
	severityErr    = 3
	severityInfo   = 6
	// syslogRedial is the least time between a failed connection and
	// the next try.
	syslogRedial = time.Second
)

func newSyslogSink(service, path string, logf func(string, ...any)) *syslogSink {
	return &syslogSink{service: service, path: path, tag: syslogTag(service), logf: logf, fd: -1}
}

// syslogTag is the service's name as a tag: RFC 3164 wants letters and
// digits, receivers take more, but a ':', '[' or blank would end it early.
func syslogTag(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c <= ' ' || c >= 0x7f || c == ':' || c == '[' || c == ']' {
			b[i] = '_'
		}
	}
	if len(b) > 48 { // RFC 5424's APP-NAME
		b = b[:48]
	}
	return string(b)
}

// connect opens the socket if it is not open, at most once a second.
func (s *syslogSink) connect(now time.Time) bool {
	if s.fd >= 0 {
		return true
	}
	if !s.failedAt.IsZero() && now.Sub(s.failedAt) < syslogRedial {
		return false
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err == nil {
		if err = unix.Connect(fd, &unix.SockaddrUnix{Name: s.path}); err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		s.failedAt = now
		s.fail(fmt.Errorf("syslog %s: connect: %w", s.path, err))
		return false
	}
	s.fd, s.failedAt = fd, time.Time{}
	return true
}

// send writes each line of a chunk (stamped, newline-terminated) as a
// datagram.
func (s *syslogSink) send(data []byte, stream proc.Stream, now time.Time) {
	sev := severityInfo
	if stream == proc.StreamErr {
		sev = severityErr
	}
	pri := "<" + strconv.Itoa(facilityDaemon*8+sev) + ">"
	var msg []byte
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		at := now
		if len(line) > len(proc.TimeLayout) {
			if t, err := time.ParseInLocation(proc.TimeLayout, string(line[:len(proc.TimeLayout)]), time.Local); err == nil {
				at, line = t, line[len(proc.TimeLayout)+1:]
			}
		}
		if !s.connect(now) {
			s.lost++
			continue
		}
		msg = append(append(append(append(append(msg[:0], pri...), at.Format(time.Stamp)...), ' '), s.tag...), ": "...)
		msg = append(msg, line...)
		_, err := unix.Write(s.fd, msg)
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			// The system log restarted (its socket is new): connect
			// to the new one, and try the line again once.
			s.close()
			if s.connect(now) {
				_, err = unix.Write(s.fd, msg)
			}
		}
		switch {
		case err == nil:
			s.recovered()
		case errors.Is(err, unix.EAGAIN):
			s.lost++
			s.fail(fmt.Errorf("syslog %s: it does not keep up: lines are dropped", s.path))
		default:
			s.lost++
			s.fail(fmt.Errorf("syslog %s: %w", s.path, err))
			s.close()
		}
	}
}

// fail says, once per new reason, why lines do not reach the system log.
func (s *syslogSink) fail(err error) {
	if msg := err.Error(); msg != s.problem {
		s.problem = msg
		s.logf("%s: %s; its lines are kept in memory (herd status, herd log) and in its log file, if it has one", s.service, msg)
	}
}

func (s *syslogSink) recovered() {
	if s.problem != "" {
		s.logf("%s: syslog %s gets its lines again; %d lines could not be sent", s.service, s.path, s.lost)
		s.problem, s.lost = "", 0
	}
}

func (s *syslogSink) close() {
	if s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
}
