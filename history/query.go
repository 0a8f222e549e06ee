package history

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseQuery reads the arguments of a history request (`herd history`):
// --since D (a duration back from now, or a time), --limit N, --after
// SEQ, --service S and -f. They come from a client: every value is
// checked, and an error names the flag.
func ParseQuery(args []string, now time.Time) (q Query, follow bool, err error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "-f" || arg == "--follow" {
			follow = true
			continue
		}
		if i+1 >= len(args) {
			return q, false, fmt.Errorf("%s needs a value", arg)
		}
		v := args[i+1]
		i++
		switch arg {
		case "--since":
			if q.Since, err = parseSince(v, now); err != nil {
				return q, false, err
			}
		case "--limit":
			if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 0 {
				return q, false, fmt.Errorf("--limit: expected a non-negative number, got %q", v)
			}
		case "--service":
			q.Service = v
		case "--after":
			if q.AfterSeq, err = strconv.ParseUint(v, 10, 64); err != nil {
				return q, false, fmt.Errorf("--after: expected an event number, got %q", v)
			}
		default:
			return q, false, fmt.Errorf("unknown argument %q", arg)
		}
	}
	if q.AfterSeq > 0 && q.Limit > 0 {
		// A page forward: the first N after SEQ.
		q.First, q.Limit = q.Limit, 0
	}
	return q, follow, nil
}

// parseSince accepts "90m", "2h", "3d" (back from now) or a local time
// "2006-01-02 15:04:05", "2006-01-02", or RFC 3339.
func parseSince(v string, now time.Time) (time.Time, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.Add(-time.Duration(days) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since: %q is neither a duration (90m, 2h, 3d) nor a time (2006-01-02 15:04:05)", v)
}
