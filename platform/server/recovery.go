package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// recovery turns a panic into an INTERNAL answer and logs it with its stack.
type recovery struct{ log *slog.Logger }

func (r recovery) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (resp connect.AnyResponse, err error) {
		defer r.recover(ctx, req.Spec().Procedure, &err)
		return next(ctx, req)
	}
}

func (r recovery) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (r recovery) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) (err error) {
		defer r.recover(ctx, conn.Spec().Procedure, &err)
		return next(ctx, conn)
	}
}

func (r recovery) recover(ctx context.Context, procedure string, err *error) {
	p := recover()
	if p == nil {
		return
	}
	r.log.ErrorContext(ctx, "panic in rpc", "procedure", procedure, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	*err, _ = errs.ToConnect(errs.Internal(fmt.Errorf("panic: %v", p)))
}
