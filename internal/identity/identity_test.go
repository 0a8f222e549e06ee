package identity

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/netlayer/p2p"
)

func TestPeerIDFormat(t *testing.T) {
	// An all-zero key's peer ID, as libp2p computes it.
	pub := ed25519.PublicKey(make([]byte, 32))
	if got := peerID(pub); !strings.HasPrefix(got, "12D3KooW") || len(got) != 52 {
		t.Fatalf("peer ID %q does not look like libp2p's ed25519 ones", got)
	}
	if got := base58([]byte{0, 0, 1}); got != "112" {
		t.Fatalf("base58 keeps leading zeros: %q", got)
	}
	if got := base58([]byte("hello world")); got != "StV1DL6CwTryKyV" {
		t.Fatalf("base58(hello world) = %q", got)
	}
}

func TestIdentityPersists(t *testing.T) {
	dir := t.TempDir()
	_, id1, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, id2, _ := Load(dir)
	st, _ := os.Stat(filepath.Join(dir, "identity.key"))
	if id1 != id2 || st.Mode().Perm() != 0o600 {
		t.Fatalf("identity %s then %s, mode %v", id1, id2, st.Mode())
	}
	os.WriteFile(filepath.Join(dir, "identity.key"), []byte("short"), 0o600)
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "identity.key") {
		t.Fatalf("bad key: %v", err)
	}
}

// The peer ID in sturdyrefs is the one libp2p computes for the same key.
func TestPeerIDIsLibp2ps(t *testing.T) {
	key, id, err := Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h, err := p2p.New(p2p.Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.ID() != id {
		t.Fatalf("libp2p says %s, sturdyrefs say %s", h.ID(), id)
	}
}
