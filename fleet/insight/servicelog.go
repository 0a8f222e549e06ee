package insight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/fleet/relay"
	"github.com/shepherd-go/shepherd/internal/tail"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// ServiceLog is the stream of a shepherd service's own log on one host
// (herd fleet tail --service NAME): a log -f request presenting the
// host's capability on the service (its inventory entry's services:
// key), which must hold log; a.Grep, a.Exclude and a.Since are applied
// by the host, so that only the lines that pass cross the network. A
// stream opened again asks for no backlog.
func ServiceLog(socket string, h *fleet.Host, service string, a tail.LogArgs, emit func(TailLine)) func(ctx context.Context, first bool, delivered func()) error {
	a.Follow = true
	return func(ctx context.Context, first bool, delivered func()) error {
		ref := h.Services[service]
		if ref == "" {
			return errFinal{fmt.Errorf("no capability on service %s: give host %s a services: {%s: ocapn://...} key in the inventory (the host grants it with herd cap grant %s --actions log --to-peer YOURS)",
				service, h.Name, service, service)}
		}
		b := a
		if !first {
			b.Lines, b.Since = 0, 0
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		c, err := local.Dial(dctx, socket)
		cancel()
		if err != nil {
			return fmt.Errorf("the local shepherd relays fleet calls: %v", err)
		}
		defer c.Close()
		err = c.Stream(ctx, hostStream(h, ref, wire.Request{Action: "log", Args: b.Encode()}), func(r wire.Reply) error {
			if !r.OK {
				switch {
				case r.Error.Kind == wire.PermissionDenied && h.Relay != nil && strings.Contains(r.Error.Message, relay.StreamAction):
					return errFinal{errors.New(relayHint(h, r.Error.Message))}
				case r.Error.Kind == wire.PermissionDenied:
					return errFinal{fmt.Errorf("%s (the capability in services: %s must hold log: herd cap grant %s --actions log on the host)", r.Error.Message, service, service)}
				case r.Error.Kind == wire.BadRequest, r.Error.Kind == wire.ServiceNotFound, r.Error.Kind == wire.CapabilityRevoked, r.Error.Kind == wire.CapabilityExpired:
					return errFinal{errors.New(r.Error.Message)}
				}
				return errors.New(r.Error.Message)
			}
			var l wire.LogResult
			if err := json.Unmarshal(r.Result, &l); err != nil {
				return err
			}
			delivered()
			for _, e := range l.Entries {
				line := e.Text
				if len(line) > tail.MaxLine {
					line = line[:tail.MaxLine]
				}
				emit(TailLine{Host: h.Name, Line: line})
			}
			return nil
		})
		return viaRelay(h, err)
	}
}
