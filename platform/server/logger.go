package server

import (
	"context"
	"log/slog"
	"time"

	"connectrpc.com/connect"

	"healthcore/platform/errs"
	"healthcore/platform/logging"
)

// logger writes one line per call and converts the handler's error into the status
// the client receives (errs.ToConnect), logging internal causes that the client never
// sees.
type logger struct{ log *slog.Logger }

func (l logger) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, fields := logging.WithFields(ctx)
		start := time.Now()
		resp, err := next(ctx, req)
		return resp, l.finish(ctx, req.Spec().Procedure, start, fields, err)
	}
}

func (l logger) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (l logger) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, fields := logging.WithFields(ctx)
		start := time.Now()
		return l.finish(ctx, conn.Spec().Procedure, start, fields, next(ctx, conn))
	}
}

func (l logger) finish(ctx context.Context, procedure string, start time.Time, fields *logging.Fields, err error) error {
	ce, cause := errs.ToConnect(err)
	attrs := []slog.Attr{
		slog.String("procedure", procedure),
		slog.String("code", codeName(ce)),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("client_addr", ClientAddr(ctx)),
	}
	attrs = append(attrs, fields.Attrs()...)
	level := slog.LevelInfo
	// The reason sent, which a plain error (sent as INTERNAL) has only after conversion.
	if ce != nil {
		if reason := errs.ReasonOf(ce); reason != "" {
			attrs = append(attrs, slog.String("reason", reason))
		}
	}
	if cause != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", cause.Error()))
	}
	l.log.LogAttrs(ctx, level, "rpc", attrs...)
	if ce == nil {
		return nil
	}
	return ce
}

func codeName(ce *connect.Error) string {
	if ce == nil {
		return "ok"
	}
	return ce.Code().String()
}
