package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/httpapi/dashboard"
)

// TestServesPageAndAssets: the page at / and its assets under /ui/,
// each with its type and the CSP; anything else is not the dashboard's.
func TestServesPageAndAssets(t *testing.T) {
	h := dashboard.Handler()
	for _, tc := range []struct {
		path, ctype, has string
	}{
		{"/", "text/html", `<script src="/ui/app.js"`},
		{"/ui/app.js", "javascript", "Authorization"},
		{"/ui/app.css", "text/css", "--running"},
		{"/ui/favicon.svg", "image/svg+xml", "<svg"},
	} {
		r := httptest.NewRequest("GET", tc.path, nil)
		if !dashboard.Serves(r) {
			t.Fatalf("Serves(GET %s) = false", tc.path)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Result().Body)
		if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), tc.ctype) || !strings.Contains(string(body), tc.has) {
			t.Errorf("GET %s: %d %s, body has %q: %v", tc.path, w.Code, w.Header().Get("Content-Type"), tc.has, strings.Contains(string(body), tc.has))
		}
		if got := w.Header().Get("Content-Security-Policy"); got != dashboard.CSP || !strings.HasPrefix(got, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", tc.path, got)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("ETag") == "" {
			t.Errorf("GET %s: headers %v", tc.path, w.Header())
		}
		// Revalidation answers 304.
		r = httptest.NewRequest("GET", tc.path, nil)
		r.Header.Set("If-None-Match", w.Header().Get("ETag"))
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d", tc.path, w.Code)
		}
	}
	for _, path := range []string{"/ui/nothing.js", "/ui/", "/ui/index.html", "/ui/../v1/services"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != 404 {
			t.Errorf("GET %s: %d, want 404", path, w.Code)
		}
	}
	for _, r := range []*http.Request{
		httptest.NewRequest("POST", "/", nil),
		httptest.NewRequest("GET", "/v1/services", nil),
		httptest.NewRequest("GET", "/metrics", nil),
		httptest.NewRequest("GET", "/index.html", nil),
		httptest.NewRequest("PUT", "/ui/app.js", nil),
	} {
		if dashboard.Serves(r) {
			t.Errorf("Serves(%s %s) = true", r.Method, r.URL.Path)
		}
	}
}

// TestAssetsKeepToTheCSP: nothing the CSP would block (inline scripts,
// style attributes, inline handlers) and nothing that turns data into
// code or markup (innerHTML, eval), so that the CSP is a second wall and
// not the only one.
func TestAssetsKeepToTheCSP(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("assets", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	html := read("index.html")
	for _, tag := range regexp.MustCompile(`<script[^>]*>[^<]*`).FindAllString(html, -1) {
		if !strings.Contains(tag, ` src="/ui/`) || !strings.HasSuffix(tag, ">") {
			t.Errorf("index.html has an inline script: %q", tag)
		}
	}
	for _, re := range []string{`\sstyle=`, `\son[a-z]+=`, `<style`, `https?://`} {
		if m := regexp.MustCompile(re).FindString(html); m != "" {
			t.Errorf("index.html has %q (%s)", m, re)
		}
	}
	js := strings.ReplaceAll(read("app.js"), "'http://www.w3.org/2000/svg'", "SVG")
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function", "document.write", "new EventSource", "localStorage", "http://", "https://"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	if !strings.Contains(js, "sessionStorage") || !strings.Contains(js, "'Bearer '") {
		t.Error("app.js does not keep the token in sessionStorage or send it as a bearer token")
	}
	css := read("app.css")
	if strings.Contains(css, "@import") || strings.Contains(css, "url(http") {
		t.Error("app.css loads something from elsewhere")
	}
	// Every asset the page names is served.
	for _, m := range regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"`).FindAllStringSubmatch(html, -1) {
		w := httptest.NewRecorder()
		dashboard.Handler().ServeHTTP(w, httptest.NewRequest("GET", m[1], nil))
		if w.Code != 200 {
			t.Errorf("index.html names %s: %d", m[1], w.Code)
		}
	}
}
