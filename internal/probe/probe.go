package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// maxHeader and maxBody bound what is read of an HTTP answer: its status
// is what matters.
const (
	maxHeader = 64 << 10
	maxBody   = 4 << 10
)

// TCP succeeds once a connection to addr (HOST:PORT) is accepted; it is
// closed at once.
func TCP(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// client is shared by HTTP probes: no redirects followed (a redirect is
// not a 2xx), no connection kept (a probe every 100 ms must not hold a
// connection of the server's).
var client = &http.Client{
	Transport: &http.Transport{
		Proxy: nil, DisableKeepAlives: true, MaxResponseHeaderBytes: maxHeader,
		DialContext: (&net.Dialer{}).DialContext, TLSHandshakeTimeout: 10 * time.Second,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// HTTP succeeds when a GET of url is answered with a 2xx status.
func HTTP(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "shepherd-probe")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// Check runs the tcp or http probe, whichever is set.
func Check(ctx context.Context, tcp, url string) error {
	if tcp != "" {
		return TCP(ctx, tcp)
	}
	return HTTP(ctx, url)
}
