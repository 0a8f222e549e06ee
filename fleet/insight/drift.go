package insight

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// File drift (herd fleet diff PATH): every host's copy of one file is
// fetched, hashed, and kept once per distinct content; the result of a
// fetch is the content's sha256 as its Output, so that GroupResults
// groups the hosts whose copies are identical.

// Copies keeps one copy of each distinct content fetched, by sha256.
type Copies struct {
	mu sync.Mutex
	m  map[string][]byte // guarded by mu
}

// NewCopies makes an empty Copies.
func NewCopies() *Copies { return &Copies{m: map[string][]byte{}} }

// put keeps data under its sha256 (once) and returns the sha256.
func (c *Copies) put(data []byte) string {
	s := sha256.Sum256(data)
	sum := hex.EncodeToString(s[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[sum]; !ok {
		c.m[sum] = data
	}
	return sum
}

// Get is the content of sha256 sum.
func (c *Copies) Get(sum string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[sum]
	return b, ok
}

// fetched is the Result of a fetched copy: its sha256 as the output.
func fetched(c *Copies, data []byte) fleet.Result {
	return fleet.Result{Output: c.put(data), Bytes: int64(len(data))}
}

// tooLarge is the refusal of a copy larger than max.
func tooLarge(p string, size, max int64) fleet.Result {
	return failed("too-large", "%s is %d bytes, more than --max-size %d", p, size, max)
}

// ShepherdRead fetches p from hosts that run a shepherd, through their
// read capabilities (service read), relayed by the local daemon at
// socket, into copies; a copy larger than max is refused.
func ShepherdRead(socket, p string, max int64, timeout time.Duration, copies *Copies) fleet.Op {
	return func(ctx context.Context, h *fleet.Host) fleet.Result {
		if h.ReadRef == nil {
			return failed("no-capability", "no read capability: give host %s a read: key in the inventory (the host grants it with herd cap grant read --allow PATTERN)", h.Name)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		c, err := local.Dial(ctx, socket)
		if err != nil {
			return failed("unreachable", "the local shepherd relays fleet calls: %v", err)
		}
		defer c.Close()
		var st wire.FileStat
		if r := fleet.CapCall(ctx, c, "read", h.Read, "file-stat", &st, "read", p); r != nil {
			return *r
		}
		if !st.Exists {
			return failed("not-found", "%s does not exist", p)
		}
		if st.Size > max {
			return tooLarge(p, st.Size, max)
		}
		var buf bytes.Buffer
		for int64(buf.Len()) < st.Size {
			var d wire.FileData
			if r := fleet.CapCall(ctx, c, "read", h.Read, "file-read", &d, p, strconv.FormatInt(st.Size, 10),
				strconv.Itoa(buf.Len()), strconv.Itoa(wire.FileReadChunk)); r != nil {
				return *r
			}
			if len(d.Data) == 0 {
				return failed("failed", "%s ended at %d bytes, not %d", p, buf.Len(), st.Size)
			}
			buf.Write(d.Data[:min(int64(len(d.Data)), st.Size-int64(buf.Len()))])
		}
		if st.SHA256 != "" {
			if s := sha256.Sum256(buf.Bytes()); hex.EncodeToString(s[:]) != st.SHA256 {
				return failed("failed", "%s changed while it was read; try again", p)
			}
		}
		return fetched(copies, buf.Bytes())
	}
}

// ReadFile fetches p from an SSH host (head -c, as the SSH user: at most
// max+1 bytes cross) into copies; a copy larger than max is refused.
func ReadFile(ctx context.Context, s *fleet.SSH, h *fleet.Host, p string, max int64, timeout time.Duration, copies *Copies) fleet.Result {
	r := s.Exec(ctx, h, []string{"sh", "-c", `test -f "$1" && exec head -c "$2" -- "$1"`, "sh", p, strconv.FormatInt(max+1, 10)}, timeout)
	switch {
	case r.Err != "":
		return r
	case r.ExitCode != 0:
		return failed("not-found", "%s: %s is not a regular file there (or not readable)", h.SSH, p)
	case int64(len(r.Output)) > max:
		return tooLarge(p, int64(len(r.Output)), max)
	}
	return fetched(copies, []byte(r.Output))
}

// failed is a Result for a host that could not do it.
func failed(kind, format string, args ...any) fleet.Result {
	return fleet.Result{ExitCode: -1, Kind: kind, Err: fmt.Sprintf(format, args...)}
}

// Drift is the comparison of the copies of one file.
type Drift struct {
	Path string `json:"path"`
	// Majority is the largest group of identical copies (ties: the
	// first host's in inventory order); nil when no host had the file.
	Majority *Variant `json:"majority,omitempty"`
	// Outliers are the other groups of identical copies, largest first,
	// each with its unified diff against the majority.
	Outliers []Variant `json:"outliers"`
	// Failed are the hosts whose copy could not be fetched.
	Failed []fleet.Group `json:"failed"`
	// Compared counts the copies fetched, Differ those unlike the
	// majority's.
	Compared int `json:"compared"`
	Differ   int `json:"differ"`
}

// Variant is the hosts that have one content.
type Variant struct {
	Hosts  []string `json:"hosts"`
	SHA256 string   `json:"sha256"`
	Size   int64    `json:"size"`
	// Diff is the unified diff from the majority's copy to this one
	// (outliers only); "" for contents that are not text.
	Diff   string `json:"diff,omitempty"`
	Binary bool   `json:"binary,omitempty"`
}

// Compare groups the results of a fetch of path by content and diffs
// each outlier against the majority.
func Compare(path string, results []fleet.Result, copies *Copies) Drift {
	d := Drift{Path: path, Outliers: []Variant{}, Failed: []fleet.Group{}}
	var ok []fleet.Result
	for _, r := range results {
		if r.Err == "" {
			ok = append(ok, r)
		}
	}
	var failedRs []fleet.Result
	for _, r := range results {
		if r.Err != "" {
			failedRs = append(failedRs, r)
		}
	}
	d.Failed = append(d.Failed, fleet.GroupResults(failedRs)...)
	order := map[string]int{}
	byHash := map[string]*Variant{}
	var variants []*Variant
	for i, r := range ok {
		v := byHash[r.Output]
		if v == nil {
			v = &Variant{SHA256: r.Output, Size: r.Bytes}
			byHash[r.Output] = v
			order[r.Output] = i
			variants = append(variants, v)
		}
		v.Hosts = append(v.Hosts, r.Host)
	}
	d.Compared = len(ok)
	if len(variants) == 0 {
		return d
	}
	slices.SortStableFunc(variants, func(a, b *Variant) int {
		return cmp.Or(cmp.Compare(len(b.Hosts), len(a.Hosts)), cmp.Compare(order[a.SHA256], order[b.SHA256]))
	})
	d.Majority = variants[0]
	base, _ := copies.Get(d.Majority.SHA256)
	from := fmt.Sprintf("%s (%s)", path, fleet.Fold(d.Majority.Hosts))
	for _, v := range variants[1:] {
		d.Differ += len(v.Hosts)
		other, _ := copies.Get(v.SHA256)
		if !IsText(base) || !IsText(other) {
			v.Binary = true
		} else {
			v.Diff = UnifiedDiff(from, fmt.Sprintf("%s (%s)", path, fleet.Fold(v.Hosts)), base, other)
		}
		d.Outliers = append(d.Outliers, *v)
	}
	return d
}

// UnifiedDiff is the unified diff (3 lines of context) from a to b.
func UnifiedDiff(fromName, toName string, a, b []byte) string {
	s, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: splitLines(a), B: splitLines(b),
		FromFile: fromName, ToFile: toName, Context: 3,
	})
	return s
}

// IsText says whether b looks like text: no NUL byte in its first 8 KB.
func IsText(b []byte) bool {
	return !bytes.Contains(b[:min(len(b), 8192)], []byte{0})
}

// splitLines splits b into lines that keep their "\n" (difflib's own
// SplitLines adds an empty line after a final newline); a last line
// without one gets it, marked as diff(1) does.
func splitLines(b []byte) []string {
	lines := strings.SplitAfter(string(b), "\n")
	if last := lines[len(lines)-1]; last == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] = last + "\n\\ No newline at end of file\n"
	}
	return lines
}
