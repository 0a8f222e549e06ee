package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Bootstrap says what to install on an SSH host and how to start it.
type Bootstrap struct {
	Shepherd, Herd string   // local binaries to install
	Dir            string   // on the host: bin/, run/, state/, the log
	Listen         string   // the daemon's libp2p address there
	Allow          []string // the exec capability's command lines
	Peer           string   // the peer ID that may use it (the local daemon)
}

// Bootstrap installs shepherd and herd on an SSH host under b.Dir, starts
// the daemon there as the SSH user (unless it already runs), and has it
// grant an exec capability for b.Allow to b.Peer. It returns the
// sturdyref: from then on the host is reached over libp2p.
func (s *SSH) Bootstrap(ctx context.Context, h *Host, b Bootstrap) (string, error) {
	if h.SSH == nil {
		return "", fmt.Errorf("host %s: bootstrap needs an ssh:// address", h.Name)
	}
	if len(b.Allow) == 0 {
		return "", errors.New("bootstrap: give the commands to allow (--allow)")
	}
	c, err := ssh.Dial("tcp", h.SSH.String(), s.clientConfig(h, 0))
	if err != nil {
		return "", fmt.Errorf("host %s: %w", h.Name, err)
	}
	defer c.Close()
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	run := func(cmd string, stdin *os.File) (string, error) {
		sess, err := c.NewSession()
		if err != nil {
			return "", err
		}
		defer sess.Close()
		if stdin != nil {
			sess.Stdin = stdin
		}
		out, err := sess.CombinedOutput(cmd)
		if err != nil {
			return string(out), fmt.Errorf("host %s: %s: %v: %s", h.Name, cmd, err, strings.TrimSpace(string(out)))
		}
		return string(out), nil
	}
	dir := ShellQuote([]string{b.Dir})
	if _, err := run("mkdir -p "+dir+"/bin "+dir+"/run && chmod 700 "+dir+"/run", nil); err != nil {
		return "", err
	}
	for name, local := range map[string]string{"shepherd": b.Shepherd, "herd": b.Herd} {
		f, err := os.Open(local)
		if err != nil {
			return "", fmt.Errorf("bootstrap: %w", err)
		}
		dst := dir + "/bin/" + name
		_, err = run("cat > "+dst+".new && chmod 755 "+dst+".new && mv "+dst+".new "+dst, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	start := fmt.Sprintf(`cd %[1]s && test -f services.yaml || echo 'services: []' > services.yaml
if ! { test -f pid && kill -0 "$(cat pid)" 2>/dev/null; }; then
  rm -f pid
  nohup %[1]s/bin/shepherd -c %[1]s/services.yaml -s %[1]s/run/socket --state %[1]s/state --pid %[1]s/pid -l %[1]s/shepherd.log --listen %[2]s </dev/null >/dev/null 2>&1 &
fi
for i in $(seq 100); do test -f pid && exit 0; sleep 0.1; done
echo "shepherd did not start; its log:"; cat shepherd.log; exit 1`, dir, ShellQuote([]string{b.Listen}))
	if _, err := run(start, nil); err != nil {
		return "", err
	}
	grant := []string{b.Dir + "/bin/herd", "-s", b.Dir + "/run/socket", "cap", "grant", "exec", "--to-peer", b.Peer}
	for _, a := range b.Allow {
		grant = append(grant, "--allow", a)
	}
	out, err := run(ShellQuote(grant), nil)
	if err != nil {
		return "", err
	}
	ref := strings.TrimSpace(out)
	if !strings.HasPrefix(ref, "ocapn://") {
		return "", fmt.Errorf("host %s: the new shepherd granted no capability: %s", h.Name, ref)
	}
	return ref, nil
}
