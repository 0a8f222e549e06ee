package daemon

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/actors/proxy"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/p2p"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// startListeningDaemon runs a daemon in this process that serves the
// control protocol on libp2p (TCP and QUIC on 127.0.0.1) as well.
func startListeningDaemon(t *testing.T, config string) *Daemon {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "services.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Start(Options{ConfigPath: cfg, SocketPath: filepath.Join(dir, "run", "socket"), StateDir: filepath.Join(dir, "state"), SocketGroup: -1, Log: &syncBuffer{},
		Listen: []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Shutdown)
	return d
}

// netPeer is a daemon elsewhere: a libp2p host with a fresh identity,
// listening on listen (TCP dials from the address it listens on).
func netPeer(t *testing.T, listen ...string) *p2p.Host {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p2p.New(p2p.Config{Key: key, Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// addrsWith are ref's address hints that contain proto.
func addrsWith(ref capability.Sturdyref, proto string) []string {
	var out []string
	for _, a := range ref.Addrs {
		if strings.Contains(a, proto) {
			out = append(out, a)
		}
	}
	return out
}

// askStatus asks the exporter of ref, over addrs, for the status of its
// service presenting ref, within a remote call's deadline.
func askStatus(from *p2p.Host, ref capability.Sturdyref, text string, addrs []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), proxy.DefaultCallTimeout)
	defer cancel()
	conn, err := from.Dial(ctx, ref.Peer, addrs)
	if err != nil {
		return err
	}
	c := local.NewClient(conn)
	defer c.Close()
	rep, err := c.Call(ctx, wire.Request{Action: "status", Cap: text})
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("%s: %s", rep.Error.Kind, rep.Error.Message)
	}
	return nil
}

// TestHostileIdentitiesDoNotStarveCapabilityHolders: 48 fresh identities
// over QUIC from 127.0.0.1, each opening 32 control streams and holding
// them (before, this took every stream the daemon had), do not keep the
// daemon from answering a peer that holds a capability, though it shares
// their address, nor a new peer that presents one from another address.
func TestHostileIdentitiesDoNotStarveCapabilityHolders(t *testing.T) {
	d := startListeningDaemon(t, "services:\n  - name: web\n")
	var info wire.CapInfo
	if werr := call(t, d, wire.Request{Action: "cap-grant", Args: []string{`{"service":"web","actions":["status"]}`}}, &info); werr != nil {
		t.Fatal(werr)
	}
	ref, err := capability.ParseSturdyref(info.Ref)
	if err != nil {
		t.Fatal(err)
	}
	quic, tcp := addrsWith(ref, "/quic-v1"), addrsWith(ref, "/tcp/")
	if len(quic) == 0 || len(tcp) == 0 {
		t.Fatalf("the sturdyref names %v", ref.Addrs)
	}
	known := netPeer(t)
	if err := askStatus(known, ref, info.Ref, quic); err != nil {
		t.Fatalf("the capability holder before the attack: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var held []net.Conn
	for range 48 {
		hostile := netPeer(t)
		wg.Go(func() {
			for range 32 {
				c, err := hostile.Dial(ctx, ref.Peer, quic)
				if err != nil {
					continue
				}
				// A line that is no request gets bad-request: the daemon
				// holds the stream and waits for the next.
				c.SetDeadline(time.Now().Add(proxy.DefaultCallTimeout))
				if _, err := c.Write([]byte("x\n")); err != nil {
					c.Close()
					continue
				}
				if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.Contains(line, string(wire.BadRequest)) {
					c.Close()
					continue
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("the hostile identities hold %d streams", len(held))
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()

	if err := askStatus(known, ref, info.Ref, quic); err != nil {
		t.Errorf("the capability holder during the attack: %v", err)
	}
	if err := askStatus(netPeer(t, "/ip4/127.0.0.5/tcp/0"), ref, info.Ref, tcp); err != nil {
		t.Errorf("a new peer with the capability from another address during the attack: %v", err)
	}
}
