package fleet

import (
	"context"
	"errors"
	"time"

	"golang.org/x/crypto/ssh"
)

// Session opens a session on the host's connection; on failure the
// connection is forgotten, so that the next try dials again.
func (s *SSH) Session(ctx context.Context, h *Host, timeout time.Duration) (*ssh.Session, error) {
	cn, res := s.connect(ctx, h, timeout)
	if cn == nil {
		s.Forget(h)
		return nil, errors.New(res.Err)
	}
	sess, err := cn.c.NewSession()
	if err != nil {
		s.Forget(h)
	}
	return sess, err
}

// Forget drops the run's connection to h (it broke).
func (s *SSH) Forget(h *Host) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if cn, ok := s.conns[h.SSH.User+"@"+h.SSH.String()]; ok && cn.c != nil {
		cn.c.Close()
	}
	delete(s.conns, h.SSH.User+"@"+h.SSH.String())
}
