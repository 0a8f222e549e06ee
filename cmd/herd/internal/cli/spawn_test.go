package cli

import (
	"testing"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestUnstamp(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-04 13:05:53 hi":         "hi",
		"2026-12-04 13:05:53 ":           "",
		"2026-12-04 13:05:53 2026 lines": "2026 lines",
		"hi":                             "hi",
		"2026-13-04 13:05:53 not a time": "2026-13-04 13:05:53 not a time",
		"2026-12-04 13:05:53":            "2026-12-04 13:05:53",
	} {
		if got := Unstamp(in); got != want {
			t.Errorf("Unstamp(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSummaryMarksTransients(t *testing.T) {
	got := FormatSummary([]wire.Summary{{Name: "job", State: wire.StateRunning, Transient: true}, {Name: "web", State: wire.StateRunning}})
	if want := "Started:\n + job (transient)\n + web\n"; got != want {
		t.Errorf("FormatSummary = %q, want %q", got, want)
	}
}
