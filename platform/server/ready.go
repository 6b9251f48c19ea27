package server

import (
	"context"
	"sync"
	"time"

	"connectrpc.com/grpchealth"
)

// readyEvery is how long one verdict of Options.Ready stands: probes of every replica
// and every gateway's /readyz ask health often, and each ask would otherwise reach the
// database.
const readyEvery = time.Second

// readyTimeout bounds one call of Options.Ready: a database that does not answer within
// it counts as down, so a health check never hangs on it.
const readyTimeout = 2 * time.Second

// readyChecker answers health as the static checker does (SERVING until the graceful
// stop), except that while what the services need (Options.Ready: their database)
// fails, every service reports NOT_SERVING: Kubernetes takes the replica out of its
// Service's endpoints, and the gateway's /readyz says not ready. The process keeps
// running and its pools reconnect on their own; it serves again once Ready passes.
type readyChecker struct {
	static *grpchealth.StaticChecker
	ready  func(context.Context) error
	opts   *Options

	mu      sync.Mutex
	checked time.Time
	err     error
}

func (c *readyChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	resp, err := c.static.Check(ctx, req)
	if err != nil || resp.Status != grpchealth.StatusServing || c.ready == nil {
		return resp, err
	}
	if c.readyErr(ctx) != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return resp, nil
}

// readyErr is Ready's verdict, at most readyEvery old; a change is logged.
func (c *readyChecker) readyErr(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.checked.IsZero() && time.Since(c.checked) < readyEvery {
		return c.err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
	defer cancel()
	err := c.ready(ctx)
	switch {
	case err != nil && c.err == nil:
		c.opts.Logger.Warn("not ready: a dependency fails; health reports NOT_SERVING until it is back", "error", err.Error())
	case err == nil && c.err != nil:
		c.opts.Logger.Info("ready again: health reports SERVING")
	}
	c.checked, c.err = time.Now(), err
	return err
}
