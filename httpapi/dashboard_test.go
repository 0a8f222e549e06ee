package httpapi_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/httpapi/dashboard"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestDashboardMounted: the dashboard's page and assets are served
// without a token (they hold no data) and with the CSP; every other
// route still needs one; /v1/graph, which the page draws, is the admin
// capability's only.
func TestDashboardMounted(t *testing.T) {
	td := startDaemon(t, config)
	for _, path := range []string{"/", "/ui/app.js", "/ui/app.css"} {
		resp := td.open(t, "GET", path, "", "", nil)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != dashboard.CSP {
			t.Errorf("GET %s without a token: %d, CSP %q", path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
	}
	if code, _ := td.do(t, "HEAD", "/", "", ""); code != 200 {
		t.Errorf("HEAD /: %d", code)
	}
	for _, c := range []struct{ method, path string }{
		{"POST", "/"}, {"GET", "/v1/services"}, {"GET", "/v1/graph"}, {"GET", "/index.html"}, {"PUT", "/ui/app.js"},
	} {
		if code, b := td.do(t, c.method, c.path, "", ""); code != 401 || errorOf(t, b).Kind != wire.PermissionDenied {
			t.Errorf("%s %s without a token: %d %s", c.method, c.path, code, b)
		}
	}

	admin := td.admin(t)
	var g wire.Graph
	td.getJSON(t, "/v1/graph", admin, &g)
	if !slices.Contains(g.Edges, [2]string{"needs-broken", "broken"}) || len(g.Nodes) < 5 {
		t.Fatalf("GET /v1/graph: %+v", g)
	}
	web := td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status"}, HTTP: true})
	code, b := td.do(t, "GET", "/v1/graph", web, "")
	if e := errorOf(t, b); code != 403 || e.Kind != wire.PermissionDenied || strings.Contains(string(b), "needs-broken") {
		t.Fatalf("GET /v1/graph with a capability on web: %d %s", code, b)
	}
	// The page itself names nothing of the daemon.
	_, page := td.do(t, "GET", "/", "", "")
	if strings.Contains(string(page), "talker") || strings.Contains(string(page), "needs-broken") {
		t.Fatalf("the page names services: %s", page)
	}
}
