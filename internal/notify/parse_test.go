package notify

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Message
		err  string
	}{
		{"READY=1", Message{Ready: true}, ""},
		{"READY=1\nSTATUS=Ready to accept connections\n", Message{Ready: true, Status: "Ready to accept connections", HasStatus: true}, ""},
		{"MAINPID=4242\nREADY=1", Message{Ready: true, MainPID: 4242}, ""},
		{"RELOADING=1\nMONOTONIC_USEC=123", Message{Reloading: true}, ""},
		{"STOPPING=1", Message{Stopping: true}, ""},
		{"WATCHDOG=1", Message{Watchdog: true}, ""},
		{"WATCHDOG=trigger", Message{WatchdogTrigger: true}, ""},
		{"EXTEND_TIMEOUT_USEC=5000000", Message{Extend: 5 * time.Second}, ""},
		{"EXTEND_TIMEOUT_USEC=18446744073709551615", Message{Extend: maxExtend}, ""},
		{"STATUS=", Message{HasStatus: true}, ""},
		{"STATUS=a\tb\x1b[2Jc", Message{Status: "a b [2Jc", HasStatus: true}, ""},
		{"FDSTORE=1\nBARRIER=1\nX_MINE=yes", Message{}, ""},
		// Bad lines are skipped, good ones kept.
		{"READY=2\nSTATUS=x", Message{Status: "x", HasStatus: true}, `READY="2" (expected 1)`},
		{"garbage\nREADY=1", Message{Ready: true}, `"garbage" is not VARIABLE=VALUE`},
		{"=1", Message{}, `"=1" is not VARIABLE=VALUE`},
		{"MAINPID=-3", Message{}, `MAINPID="-3" is not a PID`},
		{"MAINPID=99999999", Message{}, `MAINPID="99999999" is not a PID`},
		{"MAINPID=12abc", Message{}, `MAINPID="12abc" is not a PID`},
		{"EXTEND_TIMEOUT_USEC=soon", Message{}, `EXTEND_TIMEOUT_USEC="soon" is not a number of microseconds`},
		{"WATCHDOG=0", Message{}, `WATCHDOG="0" (expected 1 or trigger)`},
		// A datagram that is not text is dropped whole.
		{"READY=1\x00", Message{}, "not text (NUL or invalid UTF-8)"},
		{"READY=1\n\xff", Message{}, "not text (NUL or invalid UTF-8)"},
		{strings.Repeat("x", MaxDatagram+1), Message{}, "4097 bytes, more than 4096"},
	} {
		got, err := Parse([]byte(c.in))
		if got != c.want {
			t.Errorf("%q: %+v, want %+v", c.in, got, c.want)
		}
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.in, err)
		case c.err != "" && (err == nil || !errors.Is(err, ErrMalformed) || !strings.HasSuffix(err.Error(), c.err)):
			t.Errorf("%q: error %v, want %q", c.in, err, c.err)
		}
	}
}

func TestStatusIsBounded(t *testing.T) {
	m, err := Parse([]byte("STATUS=" + strings.Repeat("é", MaxStatus)))
	if err != nil || len(m.Status) > MaxStatus || !utf8.ValidString(m.Status) || len(m.Status) < MaxStatus-1 {
		t.Fatalf("%d bytes, %v", len(m.Status), err)
	}
}

func TestMergeKeepsFlagsAndLatestValues(t *testing.T) {
	m := Message{Ready: true, Status: "a", HasStatus: true, MainPID: 5}
	m.merge(Message{Watchdog: true, Status: "b", HasStatus: true, Sender: 9})
	want := Message{Ready: true, Watchdog: true, Status: "b", HasStatus: true, MainPID: 5, Sender: 9}
	if m != want {
		t.Fatalf("%+v, want %+v", m, want)
	}
}

// FuzzNotify: no datagram crashes the parser, and what it keeps stays
// within its bounds, whatever the bytes.
func FuzzNotify(f *testing.F) {
	for _, s := range []string{
		"READY=1", "READY=1\nSTATUS=Ready\nMAINPID=1234\n", "WATCHDOG=trigger", "EXTEND_TIMEOUT_USEC=1000",
		"RELOADING=1\nMONOTONIC_USEC=1", "STATUS=\x1b]0;pwned\x07", "MAINPID=0", "=\n=\n", "READY=1\x00",
		strings.Repeat("STATUS="+strings.Repeat("é", 300)+"\n", 5),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		if len(m.Status) > MaxStatus || !utf8.ValidString(m.Status) {
			t.Fatalf("status of %d bytes, valid %v", len(m.Status), utf8.ValidString(m.Status))
		}
		for _, r := range m.Status {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("control character %U kept in %q", r, m.Status)
			}
		}
		if m.MainPID < 0 || m.MainPID > maxPID || m.Extend < 0 || m.Extend > maxExtend {
			t.Fatalf("out of bounds: %+v", m)
		}
		if m.Status != "" && !m.HasStatus {
			t.Fatalf("status without HasStatus: %+v", m)
		}
		if len(b) > MaxDatagram && m != (Message{}) {
			t.Fatalf("an oversized datagram said something: %+v", m)
		}
	})
}
