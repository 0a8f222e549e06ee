package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// Prefix is where the assets are served; the page itself is at /.
const Prefix = "/ui/"

// CSP is the page's Content-Security-Policy: scripts, styles, images
// and connections from the page's own origin only (no inline script or
// style, no eval), no framing, no <base>, no form posted anywhere.
const CSP = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// files maps a served path (/ and /ui/NAME) to its asset.
var files = load()

func load() map[string]asset {
	m := map[string]asset{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		a := asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		name := strings.TrimPrefix(p, "assets/")
		m[Prefix+name] = a
		if name == "index.html" {
			m["/"] = a
		}
		return nil
	})
	if err != nil {
		panic("dashboard: embedded assets: " + err.Error())
	}
	return m
}

// Serves says whether r is the dashboard's to answer: a GET or HEAD of
// the page (/) or of anything under /ui/. The API answers everything
// else, a token first.
func Serves(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, Prefix)
}

// Handler serves the page and its assets, with no token: they hold no
// data. Unknown assets are 404.
func Handler() http.Handler { return http.HandlerFunc(serve) }

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	a, ok := files[r.URL.Path]
	if !ok || r.URL.Path == Prefix+"index.html" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("404 not found: the dashboard is at /\n"))
		return
	}
	h.Set("Content-Type", a.ctype)
	// Revalidated each time: a new binary serves new assets at once.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
