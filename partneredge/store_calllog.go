package partneredge

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"healthcore/platform/auditchain"
	"healthcore/platform/pg"
)

// callLogChain is the call log's chain: its name in every row's hash, and its table.
var callLogChain = auditchain.Log{Name: "partneredge.call_log", Table: "call_log"}

// Call is one line of the call log: a partner client's call through the edge.
type Call struct {
	At         time.Time // when the call arrived (microseconds, as stored)
	ClientID   string    // the OAuth 2.0 client (the token's sub)
	ClinicID   string    // the clinic it acts for
	SecretID   string    // the client secret its token was obtained with (the token's sid)
	Scope      string    // the scope that admitted the call
	Method     string    // the procedure, /healthcore.directory.v1.DirectoryService/GetDoctor
	Code       string    // how it ended: "ok" or a gRPC code name (resource_exhausted…)
	Duration   time.Duration
	ClientAddr string
	RequestID  string
}

// callRow is a row of call_log as its hash covers it.
type callRow struct {
	id int64
	Call
}

// fields are the hashed columns, in their fixed order.
func (r callRow) fields() []pgtype.Text {
	return []pgtype.Text{auditchain.Int(r.id), auditchain.Time(r.At), auditchain.Str(r.ClientID), auditchain.Str(r.ClinicID),
		auditchain.Str(r.SecretID), auditchain.Str(r.Scope), auditchain.Str(r.Method), auditchain.Str(r.Code),
		auditchain.Int(r.Duration.Microseconds()), auditchain.NullIfEmpty(r.ClientAddr), auditchain.NullIfEmpty(r.RequestID)}
}

// callWriter hashes call rows with their id, and inserts a batch of them with one
// statement (an array per column, unnested).
var callWriter = auditchain.Writer[Call]{
	Fields: func(c Call, id int64, _ time.Time) []pgtype.Text { return callRow{id: id, Call: c}.fields() },
	Insert: func(ctx context.Context, tx pgx.Tx, rows []auditchain.Appended[Call]) error {
		durations := make([]int64, len(rows))
		for i, r := range rows {
			durations[i] = r.Row.Duration.Microseconds()
		}
		c := auditchain.ColumnsOf(rows, func(a auditchain.Appended[Call]) (time.Time, []pgtype.Text) {
			r := a.Row
			return r.At, []pgtype.Text{auditchain.Str(r.ClientID), auditchain.Str(r.ClinicID), auditchain.Str(r.SecretID),
				auditchain.Str(r.Scope), auditchain.Str(r.Method), auditchain.Str(r.Code),
				auditchain.NullIfEmpty(r.ClientAddr), auditchain.NullIfEmpty(r.RequestID)}
		})
		args := append(c.Args(), durations)
		_, err := tx.Exec(ctx, `INSERT INTO call_log (id, at, client_id, clinic_id, secret_id, scope, method, code, client_addr,
				request_id, prev_hash, row_hash, duration_us)
			OVERRIDING SYSTEM VALUE
			SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
				$8::text[], $9::text[], $10::text[], $11::bytea[], $12::bytea[], $13::bigint[])`, args...)
		if err != nil {
			return fmt.Errorf("insert call log rows: %w", err)
		}
		return nil
	},
}

// callRows yields every row of the log in id order, as the verifier reads them.
func callRows(ctx context.Context, q pg.Querier) iter.Seq2[auditchain.Row, error] {
	return auditchain.Rows(ctx, q, `SELECT id, at, client_id, clinic_id, secret_id, scope, method, code, duration_us,
			client_addr, request_id, prev_hash, row_hash
		FROM call_log ORDER BY id`, func(rows pgx.Rows) (auditchain.Row, error) {
		var r callRow
		var c auditchain.Row
		var us int64
		var addr, reqID pgtype.Text
		if err := rows.Scan(&r.id, &r.At, &r.ClientID, &r.ClinicID, &r.SecretID, &r.Scope, &r.Method, &r.Code, &us,
			&addr, &reqID, &c.Prev, &c.Hash); err != nil {
			return c, fmt.Errorf("read call log: %w", err)
		}
		r.Duration, r.ClientAddr, r.RequestID = time.Duration(us)*time.Microsecond, addr.String, reqID.String
		c.ID, c.Fields = r.id, r.fields()
		return c, nil
	})
}

// ReadCalls returns the calls of a client, oldest first (at most limit): what an
// operator reads of a client's use of the API.
func ReadCalls(ctx context.Context, q pg.Querier, clientID string, limit int) ([]Call, error) {
	rows, err := q.Query(ctx, `SELECT at, client_id, clinic_id, secret_id, scope, method, code, duration_us,
			coalesce(client_addr, ''), coalesce(request_id, '')
		FROM call_log WHERE client_id = $1 ORDER BY id LIMIT $2`, clientID, limit)
	if err != nil {
		return nil, fmt.Errorf("read calls of %s: %w", clientID, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Call, error) {
		var c Call
		var us int64
		err := row.Scan(&c.At, &c.ClientID, &c.ClinicID, &c.SecretID, &c.Scope, &c.Method, &c.Code, &us, &c.ClientAddr, &c.RequestID)
		c.Duration = time.Duration(us) * time.Microsecond
		return c, err
	})
}
