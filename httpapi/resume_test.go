package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/daemon"
	"github.com/shepherd-go/shepherd/httpapi"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestEventsResumeAfterADroppedConnection: a client that loses its
// stream while events keep coming, and comes back with Last-Event-ID,
// gets every event of the history after it, in order, none lost and
// none repeated.
func TestEventsResumeAfterADroppedConnection(t *testing.T) {
	td := startDaemon(t, config)
	tok := td.admin(t)
	waitFor(t, "web running", func() bool {
		var st wire.Status
		return td.call(t, wire.Request{Action: "status", Service: "web"}, &st) == nil && st.State == wire.StateRunning
	})
	first := td.stream(t, "/v1/events", tok, nil)
	// Events keep coming, through the socket: restarts of two services.
	errc := make(chan error, 1)
	go func() {
		for i := range 40 {
			name := []string{"web", "other"}[i%2]
			if err := socketCall(td.socket, wire.Request{Action: "restart", Service: name}); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	var got []uint64
	read := func(s *sse) uint64 {
		e := s.next(t)
		var ev wire.Event
		if err := json.Unmarshal(e.data, &ev); err != nil || strconv.FormatUint(ev.Seq, 10) != e.id {
			t.Fatalf("event %q %s: %v", e.id, e.data, err)
		}
		got = append(got, ev.Seq)
		return ev.Seq
	}
	for len(got) < 15 {
		read(first)
	}
	// The connection drops in the middle of the restarts.
	first.resp.Body.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	second := td.stream(t, "/v1/events", tok, http.Header{"Last-Event-ID": {strconv.FormatUint(got[len(got)-1], 10)}})
	// Everything that happened until now is in the history.
	var hist wire.Events
	if e := td.call(t, wire.Request{Action: "events", Args: []string{"--after", strconv.FormatUint(got[0]-1, 10)}}, &hist); e != nil {
		t.Fatal(e)
	}
	final := hist.Events[len(hist.Events)-1].Seq
	for got[len(got)-1] < final {
		read(second)
	}
	var want []uint64
	for _, e := range hist.Events {
		want = append(want, e.Seq)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, the history has %d:\n got  %v\n want %v", len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("event %d: got seq %d, the history's is %d:\n got  %v\n want %v", i, got[i], want[i], got, want)
		}
	}
	if len(want) < 40 {
		t.Fatalf("only %d events: the restarts made more", len(want))
	}
}

// TestTLSAndLoopback: without TLS only loopback is served; with a
// certificate, TLS only.
func TestTLSAndLoopback(t *testing.T) {
	_, err := daemon.Start(daemon.Options{SocketPath: filepath.Join(t.TempDir(), "s"), StateDir: t.TempDir(), SocketGroup: -1, NotSubreaper: true, Insecure: true, Log: io.Discard,
		HTTP: httpapi.Options{Addr: "0.0.0.0:0"}})
	if !errors.Is(err, httpapi.ErrNotLoopback) {
		t.Fatalf("a daemon on 0.0.0.0 without TLS: %v", err)
	}
	cert, key := selfSigned(t)
	td := startDaemon(t, config, func(o *daemon.Options) { o.HTTP.CertFile, o.HTTP.KeyFile = cert, key })
	tok := td.admin(t)
	var all wire.StatusAll
	td.getJSON(t, "/v1/services", tok, &all)
	if len(all.Services) == 0 {
		t.Fatal("no services over TLS")
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	req, _ := http.NewRequest("GET", "http://"+td.d.HTTPAddr().String()+"/v1/services", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := plain.Do(req); err == nil {
		// net/http's own answer to a plain request on a TLS port.
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "HTTPS") {
			t.Fatalf("plain HTTP to the TLS server: %s %s", resp.Status, b)
		}
	}
}

func selfSigned(t *testing.T) (certFile, keyFile string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}
