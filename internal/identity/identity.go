package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/shepherd-go/shepherd/internal/proc"
)

// Load reads the daemon's ed25519 key from <state>/identity.key,
// creating it (mode 0600) on first start, and returns the key and its
// libp2p peer ID, the daemon's name in sturdyrefs.
func Load(stateDir string) (ed25519.PrivateKey, string, error) {
	path := filepath.Join(stateDir, "identity.key")
	seed, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		seed = make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, "", fmt.Errorf("identity: %w", err)
		}
		if err := proc.WriteFileAtomic(path, seed, 0o600); err != nil {
			return nil, "", fmt.Errorf("identity %s: %w", path, err)
		}
	} else if err != nil {
		return nil, "", fmt.Errorf("identity %s: %w", path, err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, "", fmt.Errorf("identity %s: %d bytes, want an ed25519 seed of %d (move it aside to make a new identity)", path, len(seed), ed25519.SeedSize)
	}
	key := ed25519.NewKeyFromSeed(seed)
	return key, peerID(key.Public().(ed25519.PublicKey)), nil
}

// peerID is libp2p's peer ID of an ed25519 public key: the identity
// multihash of the protobuf-encoded key, in base58btc ("12D3KooW...").
func peerID(pub ed25519.PublicKey) string {
	// protobuf PublicKey{Type: Ed25519 (1), Data: pub}
	pb := append([]byte{0x08, 0x01, 0x12, byte(len(pub))}, pub...)
	// multihash: identity (0x00), length
	mh := append([]byte{0x00, byte(len(pb))}, pb...)
	return base58(mh)
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

func base58(b []byte) string {
	n := new(big.Int).SetBytes(b)
	radix, mod := big.NewInt(58), new(big.Int)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, radix, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}
