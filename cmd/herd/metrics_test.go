package main

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// scrape URL [TOKEN]: GET URL (with Authorization: Bearer TOKEN) and print
// the body on stdout; fails unless the answer is 200 (with !: unless it
// is not), and prints the status on stderr.
func cmdScrape(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: scrape URL [TOKEN]")
	}
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
	ts.Stdout().Write(b)
	ts.Stderr().Write([]byte(resp.Status + "\n"))
	if ok := resp.StatusCode == http.StatusOK; ok == neg {
		ts.Fatalf("GET %s: %s", args[0], resp.Status)
	}
}
