package logger

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/internal/proc"
)

// syslogServer stands in for the system log: a datagram socket at path.
func syslogServer(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readDatagram(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 1<<16)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

// TestSyslog: each line is a datagram in syslog(3)'s format, with the
// service's name as the tag and stderr's lines at severity err; a system
// log that goes away and comes back gets the lines again; one that does
// not read loses lines rather than holding the service up.
func TestSyslog(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "log")
	srv := syslogServer(t, sock)
	var said []string
	logf := func(f string, a ...any) { said = append(said, f) }
	st := newLoggerState("web:1", Files{Path: "", Syslog: sock, GID: -1}, logf)
	at := time.Date(2026, 11, 25, 3, 4, 5, 0, time.Local)
	write := func(stream proc.Stream, lines ...string) {
		c := chunkOf(lines, at)
		c.Stream = stream
		st.write(c)
	}
	write(proc.StreamOut, "hello", "world")
	write(proc.StreamErr, "oops")
	for _, want := range []string{"<30>Nov 25 03:04:05 web_1: hello", "<30>Nov 25 03:04:05 web_1: world", "<27>Nov 25 03:04:05 web_1: oops"} {
		if got := readDatagram(t, srv); got != want {
			t.Errorf("datagram %q, want %q", got, want)
		}
	}
	if got := st.lastLines(3); len(got) != 3 {
		t.Errorf("recent lines %q: the ring keeps them all the same", got)
	}
	if st.out.lost != 0 {
		t.Errorf("no log file, yet %d lines lost to it", st.out.lost)
	}

	// The system log restarts: lines meanwhile are lost, and said so;
	// then they reach the new one.
	srv.Close()
	os.Remove(sock) // a datagram socket's file outlives it
	now := time.Now()
	st.syslog.send([]byte("2026-11-25 03:04:05 lost\n"), proc.StreamOut, now)
	st.syslog.send([]byte("2026-11-25 03:04:05 lost too: no socket\n"), proc.StreamOut, now)
	if st.syslog.lost != 2 || !strings.Contains(st.syslog.problem, "connect") {
		t.Fatalf("lost %d, problem %q", st.syslog.lost, st.syslog.problem)
	}
	srv = syslogServer(t, sock)
	// Within a second of a failed connection, no new one is tried.
	st.syslog.send([]byte("2026-11-25 03:04:05 lost three\n"), proc.StreamOut, now.Add(10*time.Millisecond))
	if st.syslog.lost != 3 {
		t.Fatalf("lost %d", st.syslog.lost)
	}
	st.syslog.send([]byte("2026-11-25 03:04:05 back\n"), proc.StreamOut, now.Add(2*time.Second))
	if got, want := readDatagram(t, srv), "<30>Nov 25 03:04:05 web_1: back"; got != want {
		t.Errorf("after the restart: %q, want %q", got, want)
	}
	if st.syslog.problem != "" || !strings.Contains(strings.Join(said, "\n"), "gets its lines again") {
		t.Errorf("problem %q; daemon log %q", st.syslog.problem, said)
	}

	// Nobody reads: the socket fills, lines are dropped, nothing blocks.
	start := time.Now()
	line := []byte("2026-11-25 03:04:05 " + strings.Repeat("x", 1000) + "\n")
	for range 5000 {
		st.syslog.send(line, proc.StreamOut, time.Now())
	}
	if st.syslog.lost == 0 || !strings.Contains(st.syslog.problem, "does not keep up") {
		t.Errorf("lost %d, problem %q", st.syslog.lost, st.syslog.problem)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("5000 lines to a full socket took %v", d)
	}
	st.close()
}
