package notifications

import (
	"context"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
)

const defaultPage = 20

// listNotifications is ListNotifications: the caller's notifications, newest first,
// paged by (created_at, id).
func (s *Service) listNotifications(ctx context.Context, r *notificationsv1.ListNotificationsRequest) (*notificationsv1.ListNotificationsResponse, error) {
	id, err := user(ctx)
	if err != nil {
		return nil, err
	}
	filter := pagetoken.Filter(id)
	after, err := pagetoken.Decode(r.GetPageToken(), filter, func(s string) bool { return uuid.Validate(s) == nil })
	if err != nil {
		return nil, err
	}
	size := int(r.GetPageSize())
	if size == 0 {
		size = defaultPage
	}
	ns, err := s.notifications.list(ctx, s.db, id, after, size+1)
	if err != nil {
		return nil, errs.Internal("notifications: list", err)
	}
	out := &notificationsv1.ListNotificationsResponse{}
	if len(ns) > size {
		ns = ns[:size]
		out.NextPageToken = pagetoken.Encode(filter, ns[size-1].created, ns[size-1].id)
	}
	for _, n := range ns {
		out.Notifications = append(out.Notifications, notificationProto(n))
	}
	return out, nil
}

func notificationProto(n *notification) *notificationsv1.Notification {
	out := &notificationsv1.Notification{
		Id: n.id, Event: n.event, RecipientId: n.recipientID, Status: n.status, Subject: n.subject,
		CreateTime: timestamppb.New(n.created), ScheduledTime: timestamppb.New(n.scheduled),
	}
	if n.sent != nil {
		out.SentTime = timestamppb.New(*n.sent)
	}
	for _, d := range n.deliveries {
		pd := &notificationsv1.Delivery{Channel: d.channel, Status: d.status, Failure: d.failure, Fallback: d.fallback,
			UpdateTime: timestamppb.New(d.updated)}
		if d.providerID != nil {
			pd.ProviderMessageId = *d.providerID
		}
		out.Deliveries = append(out.Deliveries, pd)
	}
	return out
}
