package directory

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/pg"
)

// indexStore reads search_entries for the in-memory search index: all of it, or the
// entries of the doctors changed since a transaction horizon, each read together with
// the horizon of its own snapshot.
type indexStore struct{}

// indexRows is one read of the index's source: the snapshot's horizon (the oldest
// transaction still running when it was taken: every older one had ended and is seen
// by it), which doctors it covers, and their entries.
type indexRows struct {
	horizon uint64
	doctors []string // the changed doctors; nil for a full read
	entries []indexRow
}

// indexRow is one search_entries row: one specialty of a listed doctor.
type indexRow struct {
	specialty string
	profile   *directoryv1.Profile // specialties with code and RQE
	earth     [3]float64           // the cube's coordinates; valid when located
	located   bool
}

// entryRowColumns are what scanEntries reads: the specialty, the profile
// (entryColumns), the point's cube coordinates and the specialties.
const entryRowColumns = `e.specialty_code, ` + entryColumns + `,
	cube_ll_coord(e.earth, 1), cube_ll_coord(e.earth, 2), cube_ll_coord(e.earth, 3), e.specialties`

// all reads every entry, with its snapshot's horizon.
func (st indexStore) all(ctx context.Context, db pg.Beginner) (indexRows, error) {
	return st.read(ctx, db, 0, true)
}

// changedSince reads the entries of the doctors changed by transactions at or after
// horizon (a doctor with none is unlisted or deleted), with the new snapshot's horizon.
func (st indexStore) changedSince(ctx context.Context, db pg.Beginner, horizon uint64) (indexRows, error) {
	return st.read(ctx, db, horizon, false)
}

// read runs in one REPEATABLE READ transaction, so the horizon, the changed doctors and
// their entries are of one snapshot.
func (indexStore) read(ctx context.Context, db pg.Beginner, since uint64, full bool) (indexRows, error) {
	var out indexRows
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		out = indexRows{}
		if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`); err != nil {
			return err
		}
		var horizon int64
		var rows pgx.Rows
		var err error
		if full {
			if err := tx.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`).Scan(&horizon); err != nil {
				return err
			}
			rows, err = tx.Query(ctx, `SELECT `+entryRowColumns+` FROM search_entries e ORDER BY e.doctor_id, e.specialty_code`)
		} else {
			if err := tx.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
				ARRAY(SELECT doctor_id::text FROM search_changes WHERE xid >= $1::text::xid8 ORDER BY doctor_id)`,
				strconv.FormatUint(since, 10)).Scan(&horizon, &out.doctors); err != nil {
				return err
			}
			if len(out.doctors) == 0 {
				out.horizon = uint64(horizon)
				return nil
			}
			rows, err = tx.Query(ctx, `SELECT `+entryRowColumns+` FROM search_entries e WHERE e.doctor_id = ANY ($1::uuid[])
				ORDER BY e.doctor_id, e.specialty_code`, out.doctors)
		}
		if err != nil {
			return err
		}
		if horizon <= 0 {
			rows.Close()
			return fmt.Errorf("snapshot horizon %d", horizon)
		}
		out.horizon = uint64(horizon)
		// Profiles are allocated in blocks, and a block stays in memory while any of its
		// profiles is indexed: a read of a few changes gets blocks of its own size.
		block := 1024
		if !full {
			block = len(out.doctors)
		}
		out.entries, err = scanEntries(rows, block)
		return err
	})
	if err != nil {
		return indexRows{}, fmt.Errorf("read search entries: %w", err)
	}
	return out, nil
}

// scanEntries reads rows of entryRowColumns, ordered by doctor: the rows of one
// doctor share one profile (they are copies of it), allocated block at a time.
func scanEntries(rows pgx.Rows, block int) ([]indexRow, error) {
	defer rows.Close()
	var (
		out       []indexRow
		specialty string
		x, y, z   pgtype.Float8
		specs     []string
	)
	scanner := newProfileScanner(block, &x, &y, &z, &specs)
	dest := append([]any{&specialty}, scanner.dest...)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan search entry: %w", err)
		}
		if n := len(out); n > 0 && out[n-1].profile.DoctorId == scanner.id {
			out = append(out, indexRow{specialty: specialty, profile: out[n-1].profile, earth: out[n-1].earth, located: out[n-1].located})
			continue
		}
		p := scanner.fill()
		p.Specialties = make([]*directoryv1.Specialty, len(specs))
		for i, sp := range specs {
			code, rqe, _ := strings.Cut(sp, ":")
			p.Specialties[i] = &directoryv1.Specialty{Code: code, Rqe: rqe}
		}
		r := indexRow{specialty: specialty, profile: p}
		if x.Valid && y.Valid && z.Valid {
			r.earth, r.located = [3]float64{x.Float64, y.Float64, z.Float64}, true
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
