package envelope

import (
	"context"
	"log/slog"
	"time"

	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// AwaitKeys runs f, and runs it again while it fails because the keys service is
// unavailable, until ctx ends: a service that opens its secrets at start may come up
// before the keys service does (replicas and pods start in any order). Waits grow from
// 100 ms to 2 s; each is logged. Any other error, or ctx's end, returns f's last error.
func AwaitKeys(ctx context.Context, log *slog.Logger, f func() error) error {
	wait := 100 * time.Millisecond
	for {
		err := f()
		if err == nil || errs.Code(err) != connect.CodeUnavailable {
			return err
		}
		if log != nil {
			log.Warn("waiting for the keys service", "retry_in", wait.String(), "error", err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}
