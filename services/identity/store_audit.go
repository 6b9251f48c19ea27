package identity

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"healthcore/platform/auditchain"
	"healthcore/platform/pg"
)

// auditLogName names the log in every row's hash.
const auditLogName = "identity.audit_log"

// auditStore appends to the account audit log and reads its hash chain back. The table
// refuses updates, deletes and truncation; each row is chained to the one before it
// under chain (see platform/auditchain).
type auditStore struct {
	chain *auditchain.Key
}

// auditEntry is one line of the audit log. Empty strings are stored as NULL.
type auditEntry struct {
	ActorID, ActorRole, ActorCRM string
	Action                       string
	SubjectID                    string
	ClientAddr, RequestID        string
	Outcome                      string
}

// auditRow is a row of audit_log as its hash covers it: the writer builds it from an
// entry, the verifier reads it back, and fields encodes both alike.
type auditRow struct {
	id                           int64
	at                           time.Time
	actorID, actorRole, actorCRM pgtype.Text
	action                       pgtype.Text
	subjectID                    pgtype.Text
	clientAddr, requestID        pgtype.Text
	outcome                      pgtype.Text
}

// fields are the hashed columns, in their fixed order.
func (r auditRow) fields() []pgtype.Text {
	return []pgtype.Text{auditchain.Int(r.id), auditchain.Time(r.at), r.actorID, r.actorRole, r.actorCRM, r.action,
		r.subjectID, r.clientAddr, r.requestID, r.outcome}
}

// append writes e, chained to the row before it. Given a transaction, the entry
// commits or rolls back with it; given the pool, it is written in a transaction of its
// own.
func (s auditStore) append(ctx context.Context, q pg.Querier, e auditEntry) error {
	actorID, err := auditchain.UUID(e.ActorID)
	if err != nil {
		return fmt.Errorf("insert audit entry %s: actor: %w", e.Action, err)
	}
	subjectID, err := auditchain.UUID(e.SubjectID)
	if err != nil {
		return fmt.Errorf("insert audit entry %s: subject: %w", e.Action, err)
	}
	r := auditRow{
		actorID: actorID, actorRole: auditchain.NullIfEmpty(e.ActorRole), actorCRM: auditchain.NullIfEmpty(e.ActorCRM),
		action: auditchain.Str(e.Action), subjectID: subjectID, clientAddr: auditchain.NullIfEmpty(e.ClientAddr),
		requestID: auditchain.NullIfEmpty(e.RequestID), outcome: auditchain.Str(e.Outcome),
	}
	err = auditchain.InTx(ctx, q, func(tx pgx.Tx) error {
		head, err := s.lockHead(ctx, tx)
		if err != nil {
			return err
		}
		// The id is drawn while the head is locked, so ids grow in chain order; the time
		// is the transaction's, as the column's default was.
		if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('audit_log', 'id')), now()`).Scan(&r.id, &r.at); err != nil {
			return fmt.Errorf("draw audit entry id: %w", err)
		}
		prev := head.Prev()
		hash := s.chain.Sum(auditLogName, prev, r.fields())
		next := head.Next(r.id, hash)
		_, err = tx.Exec(ctx, `WITH entry AS (
				INSERT INTO audit_log (id, at, actor_id, actor_role, actor_crm, action, subject_id, client_addr, request_id, outcome,
					prev_hash, row_hash)
				OVERRIDING SYSTEM VALUE
				VALUES ($1, $2, $3::text::uuid, $4, $5, $6, $7::text::uuid, $8, $9, $10, $11, $12))
			UPDATE audit_log_head SET first_id = $13, last_id = $1, last_hash = $12`,
			r.id, r.at, r.actorID, r.actorRole, r.actorCRM, r.action, r.subjectID, r.clientAddr, r.requestID, r.outcome,
			prev, hash, next.FirstID)
		return err
	})
	if err != nil {
		return fmt.Errorf("insert audit entry %s: %w", e.Action, err)
	}
	return nil
}

// lockHead reads the chain head and locks it until tx ends.
//
// Locking the head row, and not "the last row of audit_log", is what keeps the chain
// from forking under READ COMMITTED. Two appenders that both ran SELECT … ORDER BY id
// DESC LIMIT 1 FOR UPDATE would both find the same last row; the second waits for the
// first's lock, and when the first commits PostgreSQL re-checks only the row it was
// waiting for — unchanged, since rows are never updated — and hands it over, without
// seeing the row the first just inserted: both chain to the same predecessor. The head
// row, in contrast, is updated by every append, and a FOR UPDATE that waited on it
// returns its newest committed version: the second appender chains to the first's row.
func (auditStore) lockHead(ctx context.Context, tx pgx.Tx) (auditchain.Head, error) {
	return scanAuditHead(tx.QueryRow(ctx, `SELECT first_id, last_id, last_hash FROM audit_log_head FOR UPDATE`))
}

// head reads the chain head without locking it.
func (auditStore) head(ctx context.Context, q pg.Querier) (auditchain.Head, error) {
	return scanAuditHead(q.QueryRow(ctx, `SELECT first_id, last_id, last_hash FROM audit_log_head`))
}

func scanAuditHead(row pgx.Row) (auditchain.Head, error) {
	var first, last pgtype.Int8
	var h auditchain.Head
	err := row.Scan(&first, &last, &h.Hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, errors.New("read audit chain head: audit_log_head has no row")
	}
	if err != nil {
		return h, fmt.Errorf("read audit chain head: %w", err)
	}
	h.FirstID, h.LastID = first.Int64, last.Int64
	return h, nil
}

// rows yields every row of the log in id order, as the verifier reads them.
func (auditStore) rows(ctx context.Context, q pg.Querier) iter.Seq2[auditchain.Row, error] {
	return auditchain.Rows(ctx, q, `SELECT id, at, actor_id::text, actor_role, actor_crm, action, subject_id::text, client_addr,
			request_id, outcome, prev_hash, row_hash
		FROM audit_log ORDER BY id`, func(rows pgx.Rows) (auditchain.Row, error) {
		var r auditRow
		var c auditchain.Row
		if err := rows.Scan(&r.id, &r.at, &r.actorID, &r.actorRole, &r.actorCRM, &r.action, &r.subjectID, &r.clientAddr,
			&r.requestID, &r.outcome, &c.Prev, &c.Hash); err != nil {
			return c, fmt.Errorf("read audit log: %w", err)
		}
		c.ID, c.Fields = r.id, r.fields()
		return c, nil
	})
}
