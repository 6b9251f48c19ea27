package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"connectrpc.com/connect"

	"healthcore/platform/errs"
	"healthcore/platform/logging"
)

// recovery turns a panic into an INTERNAL answer and logs it with its stack.
type recovery struct{ log *slog.Logger }

func (r recovery) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (resp connect.AnyResponse, err error) {
		defer r.recover(ctx, req.Spec().Procedure, req.Header(), &err)
		return next(ctx, req)
	}
}

func (r recovery) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (r recovery) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) (err error) {
		defer r.recover(ctx, conn.Spec().Procedure, conn.RequestHeader(), &err)
		return next(ctx, conn)
	}
}

// recover runs deferred. Recovery sits outside the request-id interceptor, so the id
// is not in ctx; that interceptor leaves the id it settled on in the request headers,
// and the panic's log line and answer carry it from there.
func (r recovery) recover(ctx context.Context, procedure string, h http.Header, err *error) {
	p := recover()
	if p == nil {
		return
	}
	id := h.Get(RequestIDHeader)
	if ValidRequestID(id) {
		ctx = logging.WithRequestID(ctx, id)
	}
	r.log.ErrorContext(ctx, "panic in rpc", "procedure", procedure, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	ce, _ := errs.ToConnect(errs.Internal("server: recover", fmt.Errorf("panic: %v", p)))
	if ValidRequestID(id) {
		ce.Meta().Set(RequestIDHeader, id)
	}
	*err = ce
}
