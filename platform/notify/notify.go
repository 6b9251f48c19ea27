package notify

import (
	"context"
	"log/slog"

	"connectrpc.com/connect"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/encoding/protojson"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/gen/healthcore/notifications/v1/notificationsv1connect"
)

// Request is the args of a "<service>.notify" job: one NotifyRequest, stored as its
// protojson, so the job table shows exactly what will be sent. A service embeds it in
// its own args type, which names the kind:
//
//	type notifyArgs struct{ notify.Request }
//	func (notifyArgs) Kind() string { return "scheduling.notify" }
type Request struct {
	Msg *notificationsv1.NotifyRequest
}

// MarshalJSON writes the request as protojson.
func (r Request) MarshalJSON() ([]byte, error) { return protojson.Marshal(r.Msg) }

// UnmarshalJSON reads the request from protojson, ignoring fields it does not know (a
// job written by a newer replica during a rolling deploy).
func (r *Request) UnmarshalJSON(b []byte) error {
	r.Msg = new(notificationsv1.NotifyRequest)
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, r.Msg)
}

// Send hands a job's request to the notifications service. It returns an error to have
// River retry (notifications is down or overloaded); a request notifications refuses
// for what it is (invalid, or its key reused for another event) would be refused
// again, so the job is cancelled and logged instead of retried for hours. With no
// client (a test stack without notifications) nothing is sent.
func Send(ctx context.Context, c notificationsv1connect.NotificationsServiceClient, log *slog.Logger, r Request) error {
	if c == nil {
		return nil
	}
	_, err := c.Notify(ctx, connect.NewRequest(r.Msg))
	switch connect.CodeOf(err) {
	case connect.CodeInvalidArgument, connect.CodeFailedPrecondition, connect.CodePermissionDenied:
		log.ErrorContext(ctx, "notification refused; not retried", "event", r.Msg.GetEvent().String(),
			"idempotency_key", r.Msg.GetIdempotencyKey(), "error", err.Error())
		return river.JobCancel(err)
	}
	return err
}
