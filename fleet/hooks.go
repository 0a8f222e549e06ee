package fleet

import (
	"context"
	"time"

	"github.com/pkg/sftp"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"golang.org/x/crypto/ssh"
)

// Hooks for fleet/insight (diff PATH, tail, snapshot), which reads hosts
// the ways this package reaches them.

// Failed is a Result for a host that could not do it.
func Failed(kind, format string, args ...any) Result { return failed(kind, format, args...) }

// CapCall is one request to service with the capability ref, relayed by
// the local daemon; nil when it succeeded (out is its result).
func CapCall(ctx context.Context, c *local.Client, service, ref, action string, out any, args ...string) *Result {
	return capCall(ctx, c, service, ref, action, out, args...)
}

// SFTP runs fn with an SFTP client on the host's connection, within
// timeout.
func (s *SSH) SFTP(ctx context.Context, h *Host, timeout time.Duration, fn func(c *sftp.Client) Result) Result {
	return s.sftpOp(ctx, h, timeout, func(_ *conn, c *sftp.Client) Result { return fn(c) })
}

// Session opens a session on the host's connection (dialled within
// timeout); on failure the connection is forgotten, so that the next try
// dials again.
func (s *SSH) Session(ctx context.Context, h *Host, timeout time.Duration) (*ssh.Session, error) {
	cn, res := s.connect(ctx, h, timeout)
	if cn == nil {
		s.Forget(h)
		return nil, &resultError{res}
	}
	sess, err := cn.c.NewSession()
	if err != nil {
		s.Forget(h)
		return nil, err
	}
	return sess, nil
}

type resultError struct{ r Result }

func (e *resultError) Error() string { return e.r.Err }

// Forget drops the run's connection to h (it broke).
func (s *SSH) Forget(h *Host) {
	if h.SSH == nil {
		return
	}
	key := h.SSH.User + "@" + h.SSH.String()
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if cn, ok := s.conns[key]; ok {
		if cn.c != nil {
			cn.c.Close()
		}
		delete(s.conns, key)
	}
}
