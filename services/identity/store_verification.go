package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// verificationStore keeps doctors' evidence, their status changes and the decisions
// behind them.
type verificationStore struct{}

// evidence is a doctor's latest submission; the card itself is in the blobs service.
type evidence struct {
	DoctorID        string
	Specialties     []claimedSpecialty
	CardKey         string
	CardContentType string
	CardSize        int64
	CardDataKey     []byte // encrypted by the keys service under cardKeyContext
	SubmittedAt     time.Time
}

// claimedSpecialty is a specialty code with the RQE the doctor gave for it.
type claimedSpecialty struct {
	Code string `json:"code"`
	RQE  string `json:"rqe"`
}

// decision is one change of a doctor's status.
type decision struct {
	DoctorID   string
	From, To   string
	Reason     string
	OperatorID string // empty when the change followed another decision
	At         time.Time
}

// putEvidence stores the doctor's evidence, replacing an earlier one; it returns the
// replaced card's object key ("" when there was none).
func (verificationStore) putEvidence(ctx context.Context, q pg.Querier, e evidence) (replaced string, err error) {
	specs, err := json.Marshal(e.Specialties)
	if err != nil {
		return "", fmt.Errorf("encode specialties: %w", err)
	}
	err = q.QueryRow(ctx, `WITH old AS (SELECT card_key FROM doctor_evidence WHERE doctor_id = $1 FOR UPDATE)
		, up AS (INSERT INTO doctor_evidence (doctor_id, specialties, card_key, card_content_type, card_size, card_data_key, submitted_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (doctor_id) DO UPDATE SET specialties = EXCLUDED.specialties, card_key = EXCLUDED.card_key,
				card_content_type = EXCLUDED.card_content_type, card_size = EXCLUDED.card_size,
				card_data_key = EXCLUDED.card_data_key, submitted_at = EXCLUDED.submitted_at)
		SELECT coalesce((SELECT card_key FROM old), '')`,
		e.DoctorID, specs, e.CardKey, e.CardContentType, e.CardSize, e.CardDataKey, e.SubmittedAt).Scan(&replaced)
	if err != nil {
		return "", fmt.Errorf("upsert doctor evidence: %w", err)
	}
	return replaced, nil
}

// getEvidence returns the doctor's evidence; ok is false when none was submitted.
func (verificationStore) getEvidence(ctx context.Context, q pg.Querier, doctorID string) (e evidence, ok bool, err error) {
	var specs []byte
	err = q.QueryRow(ctx, `SELECT doctor_id::text, specialties, card_key, card_content_type, card_size, card_data_key, submitted_at
		FROM doctor_evidence WHERE doctor_id = $1`, doctorID).
		Scan(&e.DoctorID, &specs, &e.CardKey, &e.CardContentType, &e.CardSize, &e.CardDataKey, &e.SubmittedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return evidence{}, false, nil
	case err != nil:
		return evidence{}, false, fmt.Errorf("select doctor evidence: %w", err)
	}
	if err := json.Unmarshal(specs, &e.Specialties); err != nil {
		return evidence{}, false, fmt.Errorf("decode specialties: %w", err)
	}
	return e, true, nil
}

// doctorForUpdate returns the doctor account with id, locked until tx ends; ok is false
// when id names no doctor.
func (verificationStore) doctorForUpdate(ctx context.Context, tx pgx.Tx, id string) (account, bool, error) {
	return findAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1 AND role = 'doctor' FOR UPDATE`, id))
}

// claimsForUpdate returns every doctor account registered with the CRM (number
// normalised, uf), oldest first, locked until tx ends: the competing claims of one
// registration.
func (verificationStore) claimsForUpdate(ctx context.Context, tx pgx.Tx, number, uf string) ([]account, error) {
	return collectAccounts(tx.Query(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE role = 'doctor' AND crm_number = $1 AND crm_uf = $2 ORDER BY created_at, id FOR UPDATE`, number, uf))
}

// claims returns every doctor account registered with the CRM, oldest first.
func (verificationStore) claims(ctx context.Context, q pg.Querier, number, uf string) ([]account, error) {
	return collectAccounts(q.Query(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE role = 'doctor' AND crm_number = $1 AND crm_uf = $2 ORDER BY created_at, id`, number, uf))
}

// pending returns up to limit doctors awaiting a decision, by registration, after the
// (created, id) cursor when one is given.
func (verificationStore) pending(ctx context.Context, q pg.Querier, after *time.Time, afterID string, limit int) ([]account, error) {
	return collectAccounts(q.Query(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE doctor_status = 'pending_verification' AND ($1::timestamptz IS NULL OR (created_at, id) > ($1, NULLIF($2, '')::uuid))
		ORDER BY created_at, id LIMIT $3`, after, afterID, limit))
}

func collectAccounts(rows pgx.Rows, err error) ([]account, error) {
	if err != nil {
		return nil, fmt.Errorf("select accounts: %w", err)
	}
	defer rows.Close()
	var out []account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("scan account: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select accounts: %w", err)
	}
	return out, nil
}

// setStatus moves the doctor to status d.To and records the decision.
func (verificationStore) setStatus(ctx context.Context, tx pgx.Tx, d decision) error {
	tag, err := tx.Exec(ctx, `UPDATE accounts SET doctor_status = $2, doctor_status_at = $3, updated_at = $3
		WHERE id = $1 AND role = 'doctor'`, d.DoctorID, d.To, d.At)
	if err != nil {
		return fmt.Errorf("update doctor status: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("update doctor status of %s: %w", d.DoctorID, pgx.ErrNoRows)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO doctor_decisions (doctor_id, from_status, to_status, reason, operator_id, decided_at)
		VALUES ($1, $2, $3, $4, NULLIF($5, '')::uuid, $6)`, d.DoctorID, d.From, d.To, d.Reason, d.OperatorID, d.At); err != nil {
		return fmt.Errorf("insert doctor decision: %w", err)
	}
	return nil
}

// decisions returns the doctor's decisions, oldest first.
func (verificationStore) decisions(ctx context.Context, q pg.Querier, doctorID string) ([]decision, error) {
	rows, err := q.Query(ctx, `SELECT doctor_id::text, from_status, to_status, reason, coalesce(operator_id::text, ''), decided_at
		FROM doctor_decisions WHERE doctor_id = $1 ORDER BY id`, doctorID)
	if err != nil {
		return nil, fmt.Errorf("select doctor decisions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[decision])
	if err != nil {
		return nil, fmt.Errorf("select doctor decisions: %w", err)
	}
	return out, nil
}

// lastReason returns the reason of the doctor's latest decision ("" when none).
func (verificationStore) lastReason(ctx context.Context, q pg.Querier, doctorID string) (string, error) {
	var reason string
	err := q.QueryRow(ctx, `SELECT reason FROM doctor_decisions WHERE doctor_id = $1 ORDER BY id DESC LIMIT 1`, doctorID).Scan(&reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("select last doctor decision: %w", err)
	}
	return reason, nil
}
