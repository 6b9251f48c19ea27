package records

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/protobuf/types/known/timestamppb"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/auditchain"
	"healthcore/platform/pagetoken"
	"healthcore/platform/pg"
)

// accessChain is the access log's chain: its name in every row's hash, its table, and
// its outbox (the entries written in an action's transaction, not yet chained).
var accessChain = auditchain.Log{Name: "records.access_log", Table: "access_log", Pending: "access_log_pending"}

// accessLogStore appends to and reads the access log. The table refuses updates,
// deletes and truncation (a trigger), so there is nothing here but append, list, and
// the reads of its hash chain: each row is chained to the one before it under chain
// (see platform/auditchain).
type accessLogStore struct {
	chain *auditchain.Key
	// batch writes the entries appended through the pool by group commit, many to a
	// transaction; nil writes each in a transaction of its own.
	batch *auditchain.Batcher[accessRow]
}

// batched returns the store with a batcher for the appends through db.
func (s accessLogStore) batched(db pg.Beginner) accessLogStore {
	s.batch = auditchain.NewBatcher(accessChain, db, s.chain, accessWriter, auditchain.BatchOptions{})
	return s
}

// accessRecord is one access log row; "" stores NULL.
type accessRecord struct {
	at                           time.Time
	patientID                    string // whose log it appears in
	actorID, actorRole, actorCRM string
	action                       string
	documentID, groupID, shareID string
	clientAddr, requestID        string
	outcome, reason              string
}

// accessRow is a row of access_log as its hash covers it: the writer builds it from a
// record, the verifier reads it back, and fields encodes both alike.
type accessRow struct {
	id                                      int64
	at                                      time.Time
	patientID, actorID, actorRole, actorCRM pgtype.Text
	action                                  pgtype.Text
	documentID, groupID, shareID            pgtype.Text
	clientAddr, requestID                   pgtype.Text
	outcome, reason                         pgtype.Text
}

// fields are the hashed columns, in their fixed order.
func (r accessRow) fields() []pgtype.Text {
	return []pgtype.Text{auditchain.Int(r.id), auditchain.Time(r.at), r.patientID, r.actorID, r.actorRole, r.actorCRM,
		r.action, r.documentID, r.groupID, r.shareID, r.clientAddr, r.requestID, r.outcome, r.reason}
}

// row is r as stored, or an error naming the id that is not a uuid.
func (r accessRecord) row() (accessRow, error) {
	out := accessRow{
		at: r.at.Truncate(time.Microsecond), actorRole: auditchain.NullIfEmpty(r.actorRole),
		actorCRM: auditchain.NullIfEmpty(r.actorCRM), action: auditchain.Str(r.action),
		clientAddr: auditchain.NullIfEmpty(r.clientAddr), requestID: auditchain.NullIfEmpty(r.requestID),
		outcome: auditchain.Str(r.outcome), reason: auditchain.NullIfEmpty(r.reason),
	}
	for _, u := range []struct {
		to   *pgtype.Text
		from string
	}{{&out.patientID, r.patientID}, {&out.actorID, r.actorID}, {&out.documentID, r.documentID}, {&out.groupID, r.groupID}, {&out.shareID, r.shareID}} {
		var err error
		if *u.to, err = auditchain.UUID(u.from); err != nil {
			return out, err
		}
	}
	return out, nil
}

// append writes rec, chained to the row before it. Given a transaction of
// Service.atomically, the entry is staged in the outbox, committing or rolling back
// with it, and chained (by the batcher) once it committed, before atomically returns;
// given another transaction, it is chained in it, the chain's head locked until it
// ends; given the pool, it is written with the other entries appended meanwhile in a
// transaction of their own, and append returns once it is committed.
func (s accessLogStore) append(ctx context.Context, q pg.Querier, rec accessRecord) error {
	r, err := rec.row()
	if err != nil {
		return fmt.Errorf("append access log: %w", err)
	}
	err = auditchain.Append(ctx, accessChain, s.chain, accessWriter, s.batch, q, r)
	if err != nil {
		return fmt.Errorf("append access log: %w", err)
	}
	return nil
}

// accessWriter hashes access rows with their id (their time is the service's clock),
// and inserts a batch of them with one statement (an array per column, unnested).
var accessWriter = auditchain.Writer[accessRow]{
	Fields: func(r accessRow, id int64, _ time.Time) []pgtype.Text {
		r.id = id
		return r.fields()
	},
	Insert: func(ctx context.Context, tx pgx.Tx, rows []auditchain.Appended[accessRow]) error {
		c := auditchain.ColumnsOf(rows, func(a auditchain.Appended[accessRow]) (time.Time, []pgtype.Text) {
			r := a.Row
			return r.at, []pgtype.Text{r.patientID, r.actorID, r.actorRole, r.actorCRM, r.action, r.documentID, r.groupID,
				r.shareID, r.clientAddr, r.requestID, r.outcome, r.reason}
		})
		_, err := tx.Exec(ctx, `INSERT INTO access_log (id, at, patient_id, actor_id, actor_role, actor_crm, action, document_id,
				group_id, share_id, client_addr, request_id, outcome, reason, prev_hash, row_hash)
			OVERRIDING SYSTEM VALUE
			SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]::uuid[], $4::text[]::uuid[], $5::text[], $6::text[],
				$7::text[], $8::text[]::uuid[], $9::text[]::uuid[], $10::text[]::uuid[], $11::text[], $12::text[], $13::text[],
				$14::text[], $15::bytea[], $16::bytea[])`, c.Args()...)
		return err
	},
	Stage: func(ctx context.Context, tx pgx.Tx, rows []accessRow) error {
		for _, r := range rows {
			if _, err := tx.Exec(ctx, `INSERT INTO access_log_pending (at, patient_id, actor_id, actor_role, actor_crm, action,
					document_id, group_id, share_id, client_addr, request_id, outcome, reason)
				VALUES ($1, $2::text::uuid, $3::text::uuid, $4, $5, $6, $7::text::uuid, $8::text::uuid, $9::text::uuid, $10, $11,
					$12, $13)`,
				r.at, r.patientID, r.actorID, r.actorRole, r.actorCRM, r.action, r.documentID, r.groupID, r.shareID,
				r.clientAddr, r.requestID, r.outcome, r.reason); err != nil {
				return err
			}
		}
		return nil
	},
	Take: func(ctx context.Context, tx pgx.Tx, limit int) ([]auditchain.Staged[accessRow], error) {
		rows, err := tx.Query(ctx, `DELETE FROM access_log_pending
			WHERE seq IN (SELECT seq FROM access_log_pending ORDER BY seq LIMIT $1)
			RETURNING seq, at, patient_id::text, actor_id::text, actor_role, actor_crm, action, document_id::text,
				group_id::text, share_id::text, client_addr, request_id, outcome, reason`, limit)
		if err != nil {
			return nil, err
		}
		type taken struct {
			seq int64
			r   accessRow
		}
		out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (taken, error) {
			var t taken
			err := row.Scan(&t.seq, &t.r.at, &t.r.patientID, &t.r.actorID, &t.r.actorRole, &t.r.actorCRM, &t.r.action,
				&t.r.documentID, &t.r.groupID, &t.r.shareID, &t.r.clientAddr, &t.r.requestID, &t.r.outcome, &t.r.reason)
			return t, err
		})
		if err != nil {
			return nil, err
		}
		// In the order they were staged (RETURNING's order is not defined).
		slices.SortFunc(out, func(a, b taken) int { return cmp.Compare(a.seq, b.seq) })
		staged := make([]auditchain.Staged[accessRow], len(out))
		for i, t := range out {
			staged[i] = auditchain.Staged[accessRow]{Row: t.r, At: t.r.at}
		}
		return staged, nil
	},
}

// chainRows yields every row of the log in id order, as the verifier reads them.
func (accessLogStore) chainRows(ctx context.Context, q pg.Querier) iter.Seq2[auditchain.Row, error] {
	return auditchain.Rows(ctx, q, `SELECT id, at, patient_id::text, actor_id::text, actor_role, actor_crm, action,
			document_id::text, group_id::text, share_id::text, client_addr, request_id, outcome, reason, prev_hash, row_hash
		FROM access_log ORDER BY id`, func(rows pgx.Rows) (auditchain.Row, error) {
		var r accessRow
		var c auditchain.Row
		if err := rows.Scan(&r.id, &r.at, &r.patientID, &r.actorID, &r.actorRole, &r.actorCRM, &r.action, &r.documentID,
			&r.groupID, &r.shareID, &r.clientAddr, &r.requestID, &r.outcome, &r.reason, &c.Prev, &c.Hash); err != nil {
			return c, fmt.Errorf("read access log: %w", err)
		}
		c.ID, c.Fields = r.id, r.fields()
		return c, nil
	})
}

// accessFilter chooses the entries list returns.
type accessFilter struct {
	patientID string
	actorID   string // "" for anyone
	// from and until, when set, bound the time: from <= at < until.
	from, until *time.Time
	// after, when set, is the last entry of the previous page (its id an integer).
	after *pagetoken.Cursor
	limit int
}

// list returns the entries of one patient's log that f chooses, newest first (then by
// id, descending).
func (accessLogStore) list(ctx context.Context, q pg.Querier, f accessFilter) ([]*recordsv1.AccessLogEntry, error) {
	w := &where{}
	w.add("patient_id = $%d", f.patientID)
	if f.actorID != "" {
		w.add("actor_id = $%d", f.actorID)
	}
	if f.from != nil {
		w.add("at >= $%d", *f.from)
	}
	if f.until != nil {
		w.add("at < $%d", *f.until)
	}
	if f.after != nil {
		id, err := strconv.ParseInt(f.after.ID, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("list access log: cursor id %q: %w", f.after.ID, err)
		}
		w.add("(at, id) < ($%d, $%d)", f.after.Time(), id)
	}
	return queryAll(ctx, q, "list access log", scanAccessEntry, `SELECT id, at, coalesce(actor_id::text, ''), coalesce(actor_role, ''),
			coalesce(actor_crm, ''), action, coalesce(document_id::text, ''), coalesce(group_id::text, ''), coalesce(client_addr, ''),
			coalesce(request_id, ''), outcome, coalesce(reason, ''), coalesce(share_id::text, '')
		FROM access_log WHERE `+w.sql()+fmt.Sprintf(` ORDER BY at DESC, id DESC LIMIT %d`, f.limit), w.args...)
}

func scanAccessEntry(row pgx.Row) (*recordsv1.AccessLogEntry, error) {
	var a recordsv1.AccessLogEntry
	var at time.Time
	err := row.Scan(&a.Id, &at, &a.ActorId, &a.ActorRole, &a.ActorCrm, &a.Action, &a.DocumentId, &a.GroupId,
		&a.ClientAddress, &a.RequestId, &a.Outcome, &a.Reason, &a.ShareId)
	a.Time = timestamppb.New(at)
	return &a, err
}

// patientReads is one patient's day of doctors' reads of shared documents.
type patientReads struct {
	patientID string
	reads     int
	doctorIDs []string // sorted
}

// doctorReads sums up, per patient, the documents doctors read or downloaded through a
// share in [from, to): only reads that were allowed count.
func (accessLogStore) doctorReads(ctx context.Context, q pg.Querier, from, to time.Time) ([]patientReads, error) {
	rows, err := q.Query(ctx, `SELECT patient_id::text, count(*), array_agg(DISTINCT actor_id::text ORDER BY actor_id::text)
		FROM access_log
		WHERE actor_role = 'doctor' AND outcome = 'ok' AND action IN ('document.read', 'document.download')
			AND patient_id IS NOT NULL AND at >= $1 AND at < $2
		GROUP BY patient_id ORDER BY patient_id`, from, to)
	if err != nil {
		return nil, fmt.Errorf("sum up doctors' reads: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (patientReads, error) {
		var r patientReads
		err := row.Scan(&r.patientID, &r.reads, &r.doctorIDs)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("sum up doctors' reads: %w", err)
	}
	return out, nil
}

// after returns the rows after id after, in id order, at most limit of them.
func (accessLogStore) after(ctx context.Context, q pg.Querier, after int64, limit int) ([]accessRow, error) {
	rows, err := q.Query(ctx, `SELECT id, at, patient_id::text, actor_id::text, actor_role, actor_crm, action,
			document_id::text, group_id::text, share_id::text, client_addr, request_id, outcome, reason
		FROM access_log WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read access log after %d: %w", after, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (accessRow, error) {
		var r accessRow
		err := row.Scan(&r.id, &r.at, &r.patientID, &r.actorID, &r.actorRole, &r.actorCRM, &r.action, &r.documentID,
			&r.groupID, &r.shareID, &r.clientAddr, &r.requestID, &r.outcome, &r.reason)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read access log after %d: %w", after, err)
	}
	return out, nil
}
