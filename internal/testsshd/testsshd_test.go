package testsshd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Commands run with the server's own empty home, not the user's: the
// user's shell startup files (root's ~/.bashrc, which Debian's bash reads
// for commands run by sshd) must not decide how long a test takes.
func TestSessionsHaveAHomeOfTheirOwn(t *testing.T) {
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	if err := Keygen(key); err != nil {
		t.Fatal(err)
	}
	s, err := Start(bin, filepath.Join(dir, "sshd"), key+".pub", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	b, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port), &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // a server of this test
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.CombinedOutput(`echo "$HOME"`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), filepath.Join(s.Dir, "home"); got != want {
		t.Errorf("HOME of a session = %q, want the server's own %q", got, want)
	}
}
