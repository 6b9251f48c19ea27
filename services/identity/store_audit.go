package identity

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"healthcore/platform/auditchain"
	"healthcore/platform/pg"
)

// auditChain is the audit log's chain: its name in every row's hash, its table, and
// its outbox (the entries appended in an action's transaction, not yet chained).
var auditChain = auditchain.Log{Name: "identity.audit_log", Table: "audit_log", Pending: "audit_log_pending"}

// auditStore appends to the account audit log and reads its hash chain back. The table
// refuses updates, deletes and truncation; each row is chained to the one before it
// under chain (see platform/auditchain).
type auditStore struct {
	chain *auditchain.Key
	// batch writes the entries appended through the pool by group commit, many to a
	// transaction; nil writes each in a transaction of its own.
	batch *auditchain.Batcher[auditRow]
}

// batched returns the store with a batcher for the appends through db.
func (s auditStore) batched(db pg.Beginner) auditStore {
	s.batch = auditchain.NewBatcher(auditChain, db, s.chain, auditWriter, auditchain.BatchOptions{})
	return s
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

// append writes e, chained to the row before it. Given a transaction of Service.inTx,
// the entry is staged in the outbox, committing or rolling back with it, and chained
// (by the batcher) once it committed, before inTx returns; given another transaction,
// it is chained in it, the chain's head locked until it ends; given the pool, it is
// written with the other entries appended meanwhile in a transaction of their own, and
// append returns once it is committed. Its time is the transaction's, as the column's
// default was.
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
	err = auditchain.Append(ctx, auditChain, s.chain, auditWriter, s.batch, q, r)
	if err != nil {
		return fmt.Errorf("insert audit entry %s: %w", e.Action, err)
	}
	return nil
}

// auditWriter hashes audit rows with their id and the transaction's time (for a row
// of the outbox, the time of the transaction that staged it), inserts a batch of them
// with one statement (an array per column, unnested), and stages and takes the rows
// of the outbox.
var auditWriter = auditchain.Writer[auditRow]{
	Fields: func(r auditRow, id int64, now time.Time) []pgtype.Text {
		r.id, r.at = id, now
		return r.fields()
	},
	Insert: func(ctx context.Context, tx pgx.Tx, rows []auditchain.Appended[auditRow]) error {
		c := auditchain.ColumnsOf(rows, func(a auditchain.Appended[auditRow]) (time.Time, []pgtype.Text) {
			r := a.Row
			return a.Now, []pgtype.Text{r.actorID, r.actorRole, r.actorCRM, r.action, r.subjectID, r.clientAddr, r.requestID, r.outcome}
		})
		_, err := tx.Exec(ctx, `INSERT INTO audit_log (id, at, actor_id, actor_role, actor_crm, action, subject_id, client_addr,
				request_id, outcome, prev_hash, row_hash)
			OVERRIDING SYSTEM VALUE
			SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]::uuid[], $4::text[], $5::text[], $6::text[],
				$7::text[]::uuid[], $8::text[], $9::text[], $10::text[], $11::bytea[], $12::bytea[])`, c.Args()...)
		return err
	},
	Stage: func(ctx context.Context, tx pgx.Tx, rows []auditRow) error {
		for _, r := range rows {
			if _, err := tx.Exec(ctx, `INSERT INTO audit_log_pending (actor_id, actor_role, actor_crm, action, subject_id,
					client_addr, request_id, outcome)
				VALUES ($1::text::uuid, $2, $3, $4, $5::text::uuid, $6, $7, $8)`,
				r.actorID, r.actorRole, r.actorCRM, r.action, r.subjectID, r.clientAddr, r.requestID, r.outcome); err != nil {
				return err
			}
		}
		return nil
	},
	Take: func(ctx context.Context, tx pgx.Tx, limit int) ([]auditchain.Staged[auditRow], error) {
		rows, err := tx.Query(ctx, `DELETE FROM audit_log_pending
			WHERE seq IN (SELECT seq FROM audit_log_pending ORDER BY seq LIMIT $1)
			RETURNING seq, at, actor_id::text, actor_role, actor_crm, action, subject_id::text, client_addr, request_id, outcome`, limit)
		if err != nil {
			return nil, err
		}
		type taken struct {
			seq int64
			r   auditRow
		}
		out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (taken, error) {
			var t taken
			err := row.Scan(&t.seq, &t.r.at, &t.r.actorID, &t.r.actorRole, &t.r.actorCRM, &t.r.action, &t.r.subjectID,
				&t.r.clientAddr, &t.r.requestID, &t.r.outcome)
			return t, err
		})
		if err != nil {
			return nil, err
		}
		// In the order they were staged (RETURNING's order is not defined).
		slices.SortFunc(out, func(a, b taken) int { return cmp.Compare(a.seq, b.seq) })
		staged := make([]auditchain.Staged[auditRow], len(out))
		for i, t := range out {
			staged[i] = auditchain.Staged[auditRow]{Row: t.r, At: t.r.at}
		}
		return staged, nil
	},
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

// after returns the rows after id after, in id order, at most limit of them.
func (auditStore) after(ctx context.Context, q pg.Querier, after int64, limit int) ([]auditRow, error) {
	rows, err := q.Query(ctx, `SELECT id, at, actor_id::text, actor_role, actor_crm, action, subject_id::text, client_addr,
			request_id, outcome
		FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log after %d: %w", after, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (auditRow, error) {
		var r auditRow
		err := row.Scan(&r.id, &r.at, &r.actorID, &r.actorRole, &r.actorCRM, &r.action, &r.subjectID, &r.clientAddr,
			&r.requestID, &r.outcome)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read audit log after %d: %w", after, err)
	}
	return out, nil
}

// auditSummary is one audit entry about an account, for its owner's data export.
type auditSummary struct {
	At        time.Time `json:"time"`
	ActorRole string    `json:"actorRole"`
	Action    string    `json:"action"`
	Outcome   string    `json:"outcome"`
	ClientIP  string    `json:"clientAddress,omitempty"`
}

// aboutSubject returns the entries whose subject is the account, oldest first.
func (auditStore) aboutSubject(ctx context.Context, q pg.Querier, subjectID string) ([]auditSummary, error) {
	rows, err := q.Query(ctx, `SELECT at, coalesce(actor_role, ''), action, outcome, coalesce(client_addr, '')
		FROM audit_log WHERE subject_id = $1 ORDER BY at, id`, subjectID)
	if err != nil {
		return nil, fmt.Errorf("read audit log of %s: %w", subjectID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (auditSummary, error) {
		var r auditSummary
		err := row.Scan(&r.At, &r.ActorRole, &r.Action, &r.Outcome, &r.ClientIP)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read audit log of %s: %w", subjectID, err)
	}
	return out, nil
}
