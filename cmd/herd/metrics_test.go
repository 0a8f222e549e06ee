package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
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

// scrapeLoopMain is the program `scrapeloop URL TOKEN READY STOP`: it
// GETs URL again and again, each time on a new connection, until the
// file STOP exists; READY is made after the first answer. It prints how
// many scrapes were answered and how many failed (the first failure
// too), and exits 1 if any failed: a re-exec must refuse no scrape.
func scrapeLoopMain() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: scrapeloop URL TOKEN READY STOP")
		os.Exit(2)
	}
	url, token, ready, stop := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ok, failed, first := 0, 0, ""
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		if _, err := os.Stat(stop); err == nil {
			break
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
		resp, err := client.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = errors.New(resp.Status)
			}
		}
		if err != nil {
			if failed++; first == "" {
				first = err.Error()
			}
			continue
		}
		if ok++; ok == 1 {
			os.WriteFile(ready, nil, 0o644)
		}
	}
	fmt.Printf("%d scrapes answered, %d failed\n", ok, failed)
	if failed > 0 || ok == 0 {
		fmt.Printf("first failure: %s\n", first)
		os.Exit(1)
	}
}
