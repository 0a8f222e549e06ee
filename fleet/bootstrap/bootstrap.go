package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/fleet"
)

// Options say what to install on an SSH host and how to start it.
type Options struct {
	Shepherd, Herd string   // local binaries to install
	Dir            string   // on the host: bin/, run/, state/, the log
	Listen         string   // the daemon's libp2p address there
	Allow          []string // the exec capability's command lines
	Peer           string   // the peer ID that may use it (the local daemon)
}

// connectTimeout bounds reaching the host (every hop of its route).
const connectTimeout = 30 * time.Second

// Run installs shepherd and herd on an SSH host under o.Dir, starts the
// daemon there as the SSH user (unless it already runs), and has it
// grant an exec capability for o.Allow to o.Peer. It returns the
// sturdyref: from then on the host is reached over libp2p. s reaches
// the host as a fleet run does (its ssh config applies).
func Run(ctx context.Context, s *fleet.SSH, h *fleet.Host, o Options) (string, error) {
	if h.SSH == nil {
		return "", fmt.Errorf("host %s: bootstrap needs an ssh:// address", h.Name)
	}
	if len(o.Allow) == 0 {
		return "", errors.New("bootstrap: give the commands to allow (--allow)")
	}
	// Ctrl-C closes the connection, which ends the session in progress.
	stop := context.AfterFunc(ctx, func() { s.Forget(h) })
	defer stop()
	run := func(cmd string, stdin io.Reader) (string, error) {
		sess, err := s.Session(ctx, h, connectTimeout)
		if err != nil {
			return "", fmt.Errorf("host %s: %w", h.Name, err)
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
	dir := fleet.ShellQuote([]string{o.Dir})
	if _, err := run("mkdir -p "+dir+"/bin "+dir+"/run && chmod 700 "+dir+"/run", nil); err != nil {
		return "", err
	}
	for _, bin := range []struct{ name, local string }{{"shepherd", o.Shepherd}, {"herd", o.Herd}} {
		f, err := os.Open(bin.local)
		if err != nil {
			return "", fmt.Errorf("bootstrap: %w", err)
		}
		dst := dir + "/bin/" + bin.name
		_, err = run("cat > "+dst+".new && chmod 755 "+dst+".new && mv "+dst+".new "+dst, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	if _, err := run(StartScript(o.Dir, o.Listen), nil); err != nil {
		return "", err
	}
	grant := []string{o.Dir + "/bin/herd", "-s", o.Dir + "/run/socket", "cap", "grant", "exec", "--to-peer", o.Peer}
	for _, a := range o.Allow {
		grant = append(grant, "--allow", a)
	}
	out, err := run(fleet.ShellQuote(grant), nil)
	if err != nil {
		return "", err
	}
	ref := strings.TrimSpace(out)
	if !strings.HasPrefix(ref, "ocapn://") {
		return "", fmt.Errorf("host %s: the new shepherd granted no capability: %s", h.Name, ref)
	}
	return ref, nil
}

// StartScript is the shell script that starts the host's daemon under
// dir unless it runs, and waits (10 s at most) for its pid file.
func StartScript(dir, listen string) string {
	d := fleet.ShellQuote([]string{dir})
	return fmt.Sprintf(`cd %[1]s && test -f services.yaml || echo 'services: []' > services.yaml
if ! { test -f pid && kill -0 "$(cat pid)" 2>/dev/null; }; then
  rm -f pid
  nohup %[1]s/bin/shepherd -c %[1]s/services.yaml -s %[1]s/run/socket --state %[1]s/state --pid %[1]s/pid -l %[1]s/shepherd.log --listen %[2]s </dev/null >/dev/null 2>&1 &
fi
for i in $(seq 100); do test -f pid && exit 0; sleep 0.1; done
echo "shepherd did not start; its log:"; cat shepherd.log; exit 1`, d, fleet.ShellQuote([]string{listen}))
}
