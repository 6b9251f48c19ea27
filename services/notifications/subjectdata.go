package notifications

import (
	"context"

	"github.com/jackc/pgx/v5"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
	"healthcore/platform/pg"
)

// exportPage is how many notifications one query of an export reads.
const exportPage = 500

// exportRecipientNotifications is ExportRecipientNotifications: every notification of
// the account, newest first, with its channels and times, for its owner's data export.
func (s *Service) exportRecipientNotifications(ctx context.Context, accountID string) ([]*notificationsv1.Notification, error) {
	var out []*notificationsv1.Notification
	var after *pagetoken.Cursor
	for {
		ns, err := s.notifications.list(ctx, s.db, accountID, after, exportPage)
		if err != nil {
			return nil, errs.Internal("notifications: export", err)
		}
		for _, n := range ns {
			out = append(out, notificationProto(n))
		}
		if len(ns) < exportPage {
			return out, nil
		}
		last := ns[len(ns)-1]
		after = &pagetoken.Cursor{Micros: last.created.UnixMicro(), ID: last.id}
	}
}

// forgetRecipient is ForgetRecipient: the account was erased. WhatsApp consent is
// withdrawn (logged), the preferences deleted and what was not sent yet suppressed;
// later notifications are suppressed at delivery, since identity no longer has the
// account's contact (ACCOUNT_NOT_FOUND).
func (s *Service) forgetRecipient(ctx context.Context, accountID string) error {
	now := s.now()
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		p, err := s.preferences.get(ctx, tx, accountID, true)
		if err != nil {
			return err
		}
		if p.whatsapp {
			if err := s.preferences.appendConsent(ctx, tx, accountID, notificationsv1.Channel_CHANNEL_WHATSAPP, false,
				p.consentVersion, "account-erased", now); err != nil {
				return err
			}
		}
		if err := s.preferences.remove(ctx, tx, accountID); err != nil {
			return err
		}
		return s.notifications.suppressPending(ctx, tx, accountID)
	})
	if err != nil {
		return errs.Internal("notifications: forget recipient", err)
	}
	return nil
}
