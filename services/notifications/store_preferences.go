package notifications

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/pg"
)

// preferenceStore keeps each account's choices and the log of its WhatsApp consents.
type preferenceStore struct{}

// prefs is one account's preferences (the defaults when it has no row).
type prefs struct {
	whatsapp, readDigest bool
	quietStart, quietEnd int // minutes after midnight; equal: no quiet hours
	timeZone             string
	consentVersion       string
	consentSource        string
	consentAt            *time.Time
}

// defaultPrefs are an account's preferences until it changes them: e-mail only,
// quiet from 22:00 to 08:00.
func defaultPrefs() prefs { return prefs{quietStart: 22 * 60, quietEnd: 8 * 60} }

// get reads an account's preferences, the defaults when it never changed them.
func (preferenceStore) get(ctx context.Context, q pg.Querier, accountID string, forUpdate bool) (prefs, error) {
	sql := `SELECT whatsapp, read_digest, quiet_start, quiet_end, time_zone, consent_text_version, consent_source, consent_at
		FROM preferences WHERE account_id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var p prefs
	err := q.QueryRow(ctx, sql, accountID).Scan(&p.whatsapp, &p.readDigest, &p.quietStart, &p.quietEnd, &p.timeZone,
		&p.consentVersion, &p.consentSource, &p.consentAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return defaultPrefs(), nil
	}
	if err != nil {
		return prefs{}, fmt.Errorf("select preferences: %w", err)
	}
	return p, nil
}

// put stores an account's preferences.
func (preferenceStore) put(ctx context.Context, q pg.Querier, accountID string, p prefs, at time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO preferences (account_id, whatsapp, read_digest, quiet_start, quiet_end, time_zone,
			consent_text_version, consent_source, consent_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (account_id) DO UPDATE SET whatsapp = $2, read_digest = $3, quiet_start = $4, quiet_end = $5,
			time_zone = $6, consent_text_version = $7, consent_source = $8, consent_at = $9, updated_at = $10`,
		accountID, p.whatsapp, p.readDigest, p.quietStart, p.quietEnd, p.timeZone, p.consentVersion, p.consentSource,
		p.consentAt, at); err != nil {
		return fmt.Errorf("upsert preferences: %w", err)
	}
	return nil
}

// appendConsent logs a consent given (granted) or withdrawn.
func (preferenceStore) appendConsent(ctx context.Context, q pg.Querier, accountID string, ch notificationsv1.Channel,
	granted bool, version, source string, at time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO consents (account_id, channel, granted, text_version, source, at)
		VALUES ($1, $2, $3, $4, $5, $6)`, accountID, ch, granted, version, source, at); err != nil {
		return fmt.Errorf("insert consent: %w", err)
	}
	return nil
}

// consent is one row of the consent log.
type consent struct {
	granted         bool
	version, source string
	at              time.Time
}

// consents reads an account's consent log, oldest first.
func (preferenceStore) consents(ctx context.Context, q pg.Querier, accountID string) ([]consent, error) {
	rows, err := q.Query(ctx, `SELECT granted, text_version, source, at FROM consents WHERE account_id = $1 ORDER BY at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("select consents: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (consent, error) {
		var c consent
		return c, r.Scan(&c.granted, &c.version, &c.source, &c.at)
	})
}

// remove deletes an account's preferences (its time zone, its consent's text and
// source): the account was erased. The consent log keeps what was consented to.
func (preferenceStore) remove(ctx context.Context, q pg.Querier, accountID string) error {
	if _, err := q.Exec(ctx, `DELETE FROM preferences WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("delete preferences: %w", err)
	}
	return nil
}
