package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// scrape [-until REGEXP] URL [TOKEN]: GET URL (with Authorization: Bearer
// TOKEN) and print the body on stdout; fails unless the answer is 200
// (with !: unless it is not), and prints the status on stderr. -until
// scrapes again until the body matches REGEXP (for what the history
// commits after a state shows), for 20 s at most.
func cmdScrape(ts *testscript.TestScript, neg bool, args []string) {
	var until *regexp.Regexp
	if len(args) > 2 && args[0] == "-until" {
		until = regexp.MustCompile("(?m)" + args[1])
		args = args[2:]
	}
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: scrape [-until REGEXP] URL [TOKEN]")
	}
	for deadline := time.Now().Add(20 * time.Second); until != nil; time.Sleep(50 * time.Millisecond) {
		if b, ok := get(ts, args); ok && until.Match(b) || time.Now().After(deadline) {
			break
		}
	}
	b, ok := get(ts, args)
	ts.Stdout().Write(b)
	if ok == neg {
		ts.Fatalf("GET %s: not the answer expected", args[0])
	}
}

// get does scrape's GET: the body, and whether the answer is 200.
func get(ts *testscript.TestScript, args []string) ([]byte, bool) {
	req, err := http.NewRequest(http.MethodGet, args[0], nil)
	ts.Check(err)
	if len(args) == 2 {
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(args[1]))
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	ts.Check(err)
	ts.Stderr().Write([]byte(resp.Status + "\n"))
	return b, resp.StatusCode == http.StatusOK
}
