package shepherdcli

import (
	"fmt"
	"net"
	"os"
	"time"
)

// sdNotify tells the service manager that started the daemon how it is
// (sd_notify(3)): state is "READY=1" once herd can reach it, "STOPPING=1"
// when it begins to stop its services. That lets shepherd.service be
// Type=notify, so that what is ordered after it starts once herd works.
// Without $NOTIFY_SOCKET it does nothing. The variable stays set: a
// re-exec says READY=1 again, which systemd takes as a no-op, and the
// services do not see it (each gets an environment of its own).
func sdNotify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] != '/' && path[0] != '@' {
		return fmt.Errorf("NOTIFY_SOCKET=%q: not a unix socket path (nor @abstract): not telling the service manager %s", path, state)
	}
	// Go's net package takes a leading @ as the abstract namespace.
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: %s: %w", state, err)
	}
	return nil
}
