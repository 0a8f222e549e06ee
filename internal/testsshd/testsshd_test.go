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
// for commands run by sshd) must not decide how long a test takes. And
// with the PATH a test gives.
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
	bin2 := filepath.Join(dir, "bin")
	s, err := Start(bin, filepath.Join(dir, "sshd"), key+".pub", 0, SetEnv("PATH="+bin2+":/usr/bin:/bin"))
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
	out, err := sess.CombinedOutput(`echo "$HOME"; echo "$PATH"`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if want := filepath.Join(s.Dir, "home"); got[0] != want {
		t.Errorf("HOME of a session = %q, want the server's own %q", got[0], want)
	}
	// ...and the PATH the test gave (SetEnv): programs it provides.
	if want := bin2 + ":/usr/bin:/bin"; len(got) < 2 || got[1] != want {
		t.Errorf("PATH of a session = %q, want %q", got[1:], want)
	}
}
