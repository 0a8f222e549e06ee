package alerting

import (
	"strings"
	"time"
)

// Settings is the configuration's notify: section: where alerts go
// (docs/notifications.md). Only the owner's configuration defines it.
type Settings struct {
	Targets []TargetSettings
	Policy  Policy
	// RetryMax is the longest wait between two tries of a delivery
	// (retry-max, default 5m); MaxAge how long a delivery is tried before
	// it is dropped (max-age, default 24h); OutboxSize how many
	// deliveries may wait at once (outbox-size, default 1000).
	RetryMax   time.Duration
	MaxAge     time.Duration
	OutboxSize int
	// File is where it was defined.
	File string
}

// TargetSettings is one target. Secrets (Password, header values) are
// never logged nor shown.
type TargetSettings struct {
	Name      string
	Type      string // webhook, slack, script or email
	Cooldown  time.Duration
	OnResolve bool
	Timeout   time.Duration // of one try; default 10s
	// webhook, slack
	URL     string
	Method  string            // webhook; default POST
	Headers map[string]string // webhook
	Body    string            // webhook: a text/template over the alert; default its JSON
	// script
	Command []string
	// email
	SMTP     string // host:port
	From     string
	To       []string
	Username string
	Password string // or read from PasswordFile at start
	Subject  string // a text/template; default "[shepherd] STATUS: SUBJECT: CLASS"
}

// ClassNames lists the classes, for messages.
func ClassNames() string {
	s := make([]string, len(Classes))
	for i, c := range Classes {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// ValidTargetName: letters, digits, '-' and '_', at most 64 bytes.
func ValidTargetName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
