package directory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/pg"
)

// doctorStore reads and writes doctors' profiles: the doctors row (CRM, price,
// location, time zone, listing; the rating is the review store's) and the doctor's
// specialties, and the specialty list they are chosen from.
type doctorStore struct{}

// crmConstraint is the unique (crm_number, crm_uf) of the doctors table.
const crmConstraint = "doctors_crm_number_crm_uf_key"

// profileWrite is a doctor's profile as UpsertMyProfile stores it.
type profileWrite struct {
	doctorID, crmNumber, crmUF string
	// in gives the name, photo, bio, price, languages, location, time zone and
	// specialties; minutes replaces its consultation length (the default applied).
	in       *directoryv1.ProfileInput
	minutes  int32
	complete bool
	at       time.Time
}

// upsert writes the doctor's row, creating it on the first call with identity's verdict
// if one came first (the caller holds lockDoctor). Another doctor's CRM is
// ReasonCRMTaken.
func (doctorStore) upsert(ctx context.Context, q pg.Querier, w profileWrite) error {
	in := w.in
	// pgx sends a nil slice as NULL, which the NOT NULL column refuses: a doctor who
	// lists no language has an empty list.
	languages := in.GetLanguages()
	if languages == nil {
		languages = []string{}
	}
	var addr, city, uf *string
	var lat, lng *float64
	if l := in.GetLocation(); l != nil {
		addr, city, uf = &l.Address, &l.City, &l.Uf
		la, lo := l.GetPoint().GetLatitude(), l.GetPoint().GetLongitude()
		lat, lng = &la, &lo
	}
	_, err := q.Exec(ctx, `INSERT INTO doctors AS d (doctor_id, crm_number, crm_uf, display_name, photo_url, bio, price_cents,
			consultation_minutes, languages, address, city, uf, latitude, longitude, time_zone, complete, updated_at, verified)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
			coalesce((SELECT v.listed FROM listing_verdicts v WHERE v.doctor_id = $1), false))
		ON CONFLICT (doctor_id) DO UPDATE SET crm_number = $2, crm_uf = $3, display_name = $4, photo_url = $5, bio = $6,
			price_cents = $7, consultation_minutes = $8, languages = $9, address = $10, city = $11, uf = $12,
			latitude = $13, longitude = $14, time_zone = $15, complete = $16, updated_at = $17`,
		w.doctorID, w.crmNumber, w.crmUF, in.GetDisplayName(), in.GetPhotoUrl(), in.GetBio(), in.GetPriceCents(), w.minutes,
		languages, addr, city, uf, lat, lng, in.GetTimeZone(), w.complete, w.at)
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok && pe.Code == "23505" && pe.ConstraintName == crmConstraint {
		return ReasonCRMTaken.New("another profile holds this CRM").WithCause(err)
	}
	if err != nil {
		return fmt.Errorf("upsert doctor: %w", err)
	}
	return nil
}

// setSpecialties replaces the doctor's specialties with specs, in their order.
func (doctorStore) setSpecialties(ctx context.Context, q pg.Querier, doctorID string, specs []*directoryv1.SpecialtyPractice) error {
	if _, err := q.Exec(ctx, `DELETE FROM doctor_specialties WHERE doctor_id = $1`, doctorID); err != nil {
		return fmt.Errorf("delete doctor specialties: %w", err)
	}
	for i, sp := range specs {
		if _, err := q.Exec(ctx, `INSERT INTO doctor_specialties (doctor_id, specialty_code, rqe, position) VALUES ($1, $2, $3, $4)`,
			doctorID, sp.GetCode(), sp.GetRqe(), i); err != nil {
			return fmt.Errorf("insert doctor specialty %s: %w", sp.GetCode(), err)
		}
	}
	return nil
}

// profileColumns are read by scanProfile, in order.
const profileColumns = `d.doctor_id::text, d.crm_number, d.crm_uf, d.display_name, d.photo_url, d.bio, d.price_cents,
	d.consultation_minutes, d.languages, d.address, d.city, d.uf, d.latitude, d.longitude, d.time_zone,
	d.rating_avg, d.rating_count, d.listed, d.updated_at`

// scanProfile reads profileColumns, then extra.
func scanProfile(row pgx.Row, extra ...any) (*directoryv1.Profile, error) {
	return newProfileScanner(1, extra...).scan(row)
}

// profileScanner reads rows of profileColumns, then extra columns, into profiles. Its
// scan destinations are made once and reused from row to row, and the messages of up to
// n profiles are allocated together: a search page reads 21 profiles with a few dozen
// allocations fewer per row than one scan each. The profiles it returns share nothing
// but their backing arrays.
type profileScanner struct {
	dest []any
	// The row's values, copied into the next profile after each scan.
	id, crmNumber, crmUF, name, photo, bio, timeZone string
	price                                            int64
	minutes, ratingCount                             int32
	languages                                        []string
	addr, city, uf                                   pgtype.Text
	lat, lng                                         pgtype.Float8
	rating                                           float64
	listed                                           bool
	updated                                          time.Time

	// n profiles' messages are allocated at a time, each kind in an array of its own.
	n        int
	profiles []directoryv1.Profile
	money    []directoryv1.Money
	times    []timestamppb.Timestamp
	places   []directoryv1.Location
	points   []directoryv1.LatLng
	coords   []float64 // latitudes and longitudes
}

func newProfileScanner(n int, extra ...any) *profileScanner {
	s := &profileScanner{n: n}
	s.dest = append([]any{&s.id, &s.crmNumber, &s.crmUF, &s.name, &s.photo, &s.bio, &s.price,
		&s.minutes, &s.languages, &s.addr, &s.city, &s.uf, &s.lat, &s.lng, &s.timeZone,
		&s.rating, &s.ratingCount, &s.listed, &s.updated}, extra...)
	return s
}

// scan reads the row into a new profile. A row with an address has a point whose
// latitude and longitude are set when the columns are not NULL.
func (s *profileScanner) scan(row pgx.Row) (*directoryv1.Profile, error) {
	if err := row.Scan(s.dest...); err != nil {
		return nil, err
	}
	return s.fill(), nil
}

// fill makes a new profile of the values the last scan of s.dest read.
func (s *profileScanner) fill() *directoryv1.Profile {
	n := s.n
	p := next(&s.profiles, n)
	p.DoctorId, p.CrmNumber, p.CrmUf, p.DisplayName, p.PhotoUrl, p.Bio = s.id, s.crmNumber, s.crmUF, s.name, s.photo, s.bio
	p.ConsultationMinutes, p.Languages, p.TimeZone = s.minutes, s.languages, s.timeZone
	p.RatingAverage, p.RatingCount, p.Listed = s.rating, s.ratingCount, s.listed
	p.Price = next(&s.money, n)
	p.Price.AmountCents, p.Price.Currency = s.price, "BRL"
	p.UpdateTime = next(&s.times, n)
	p.UpdateTime.Seconds, p.UpdateTime.Nanos = s.updated.Unix(), int32(s.updated.Nanosecond())
	if s.addr.Valid {
		l := next(&s.places, n)
		l.Address, l.City, l.Uf = s.addr.String, s.city.String, s.uf.String
		l.Point = next(&s.points, n)
		if s.lat.Valid {
			l.Point.Latitude = next(&s.coords, 2*n)
			*l.Point.Latitude = s.lat.Float64
		}
		if s.lng.Valid {
			l.Point.Longitude = next(&s.coords, 2*n)
			*l.Point.Longitude = s.lng.Float64
		}
		p.Location = l
	}
	return p
}

// next returns a pointer to a new zero element at the end of *s, first replacing *s
// with a new array of capacity n when it is full: elements never move once handed out.
func next[T any](s *[]T, n int) *T {
	if len(*s) == cap(*s) {
		*s = make([]T, 0, max(n, 1))
	}
	*s = (*s)[:len(*s)+1]
	return &(*s)[len(*s)-1]
}

// get reads one profile with its specialties (code and RQE; the names are the
// service's); listedOnly hides an unlisted one. No such doctor is pgx.ErrNoRows.
func (st doctorStore) get(ctx context.Context, q pg.Querier, id string, listedOnly bool) (*directoryv1.Profile, error) {
	p, err := scanProfile(q.QueryRow(ctx, `SELECT `+profileColumns+` FROM doctors d WHERE d.doctor_id = $1 AND (d.listed OR NOT $2)`,
		id, listedOnly))
	if err != nil {
		return nil, fmt.Errorf("select doctor: %w", err)
	}
	if err := st.attachSpecialties(ctx, q, []*directoryv1.Profile{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// attachSpecialties fills the specialties (code and RQE) of profiles in one query.
func (doctorStore) attachSpecialties(ctx context.Context, q pg.Querier, profiles []*directoryv1.Profile) error {
	if len(profiles) == 0 {
		return nil
	}
	byID := make(map[string]*directoryv1.Profile, len(profiles))
	ids := make([]string, len(profiles))
	for i, p := range profiles {
		byID[p.DoctorId], ids[i] = p, p.DoctorId
	}
	rows, err := q.Query(ctx, `SELECT doctor_id::text, specialty_code, rqe FROM doctor_specialties
		WHERE doctor_id = ANY($1::uuid[]) ORDER BY doctor_id, position`, ids)
	if err != nil {
		return fmt.Errorf("select doctor specialties: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, code, rqe string
		if err := rows.Scan(&id, &code, &rqe); err != nil {
			return fmt.Errorf("scan doctor specialty: %w", err)
		}
		byID[id].Specialties = append(byID[id].Specialties, &directoryv1.Specialty{Code: code, Rqe: rqe})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("select doctor specialties: %w", err)
	}
	return nil
}

// verified reports whether identity's verdict on a doctor with a profile is VERIFIED.
func (doctorStore) verified(ctx context.Context, q pg.Querier, id string) (bool, error) {
	var v bool
	if err := q.QueryRow(ctx, `SELECT verified FROM doctors WHERE doctor_id = $1`, id).Scan(&v); err != nil {
		return false, fmt.Errorf("select doctor verification: %w", err)
	}
	return v, nil
}

// practiceSettings reads only what other services run a practice with: one indexed
// row. No such doctor is pgx.ErrNoRows.
func (doctorStore) practiceSettings(ctx context.Context, q pg.Querier, id string) (*directoryv1.GetPracticeSettingsResponse, error) {
	out := &directoryv1.GetPracticeSettingsResponse{Price: &directoryv1.Money{Currency: "BRL"}}
	err := q.QueryRow(ctx, `SELECT time_zone, price_cents, consultation_minutes, listed FROM doctors WHERE doctor_id = $1`, id).
		Scan(&out.TimeZone, &out.Price.AmountCents, &out.ConsultationMinutes, &out.Listed)
	if err != nil {
		return nil, fmt.Errorf("select practice settings: %w", err)
	}
	return out, nil
}

// lockDoctor serialises, until the transaction q ends, the writes of one doctor's
// listing: a verdict arriving while the doctor's first profile is written is either
// read by the profile's insert or applied to the row it inserted.
func (doctorStore) lockDoctor(ctx context.Context, q pg.Querier, id string) error {
	if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('directory.listing:' || $1::text, 0))`, id); err != nil {
		return fmt.Errorf("lock the doctor's listing: %w", err)
	}
	return nil
}

// applyVerdict records identity's verdict on a doctor, unless one as recent or newer is
// recorded, and copies it to the doctor's profile if there is one. It reports whether
// the verdict was applied. The caller holds lockDoctor.
func (doctorStore) applyVerdict(ctx context.Context, q pg.Querier, id string, listed bool, changed time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `INSERT INTO listing_verdicts AS v (doctor_id, listed, change_time) VALUES ($1, $2, $3)
		ON CONFLICT (doctor_id) DO UPDATE SET listed = excluded.listed, change_time = excluded.change_time
		WHERE v.change_time < excluded.change_time`, id, listed, changed)
	if err != nil {
		return false, fmt.Errorf("record listing verdict: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if _, err := q.Exec(ctx, `UPDATE doctors SET verified = $2 WHERE doctor_id = $1 AND verified <> $2`, id, listed); err != nil {
		return false, fmt.Errorf("apply listing verdict: %w", err)
	}
	return true, nil
}

// specialties lists the specialty catalogue by code.
func (doctorStore) specialties(ctx context.Context, q pg.Querier) ([]*directoryv1.Specialty, error) {
	rows, err := q.Query(ctx, `SELECT code, name FROM specialties ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("select specialties: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*directoryv1.Specialty, error) {
		var sp directoryv1.Specialty
		return &sp, r.Scan(&sp.Code, &sp.Name)
	})
	if err != nil {
		return nil, fmt.Errorf("select specialties: %w", err)
	}
	return list, nil
}

// lockSeeding waits until no other seeder runs, then holds the lock until tx ends.
func (doctorStore) lockSeeding(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('healthcore.directory.seed'))`); err != nil {
		return fmt.Errorf("lock seeding: %w", err)
	}
	return nil
}

// maxNumericCRM is the largest CRM number of one to eight digits held, 0 for none.
func (doctorStore) maxNumericCRM(ctx context.Context, q pg.Querier) (int64, error) {
	var last int64
	if err := q.QueryRow(ctx, `SELECT coalesce(max(crm_number::bigint), 0) FROM doctors
		WHERE crm_number ~ '^[0-9]{1,8}$'`).Scan(&last); err != nil {
		return 0, fmt.Errorf("select largest CRM: %w", err)
	}
	return last, nil
}

// copyIn adds generated doctors, listed (complete, and verified: they are demo data
// with no account behind them for identity to verify), with their specialties, by COPY.
func (doctorStore) copyIn(ctx context.Context, tx pgx.Tx, batch []seedDoctor) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"doctors"}, []string{"doctor_id", "crm_number", "crm_uf", "display_name", "bio",
		"price_cents", "consultation_minutes", "languages", "address", "city", "uf", "latitude", "longitude", "time_zone",
		"rating_sum", "rating_count", "complete", "verified"},
		pgx.CopyFromSlice(len(batch), func(i int) ([]any, error) {
			d := &batch[i]
			return []any{d.id, d.crm, d.city.UF, d.name, d.bio, d.price, d.minutes, d.languages, d.address, d.city.Name,
				d.city.UF, d.lat, d.lng, d.city.TimeZone, d.ratingSum, d.ratingCount, true, true}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy doctors: %w", err)
	}
	var rows [][]any
	for i := range batch {
		for pos, s := range batch[i].specialties {
			rows = append(rows, []any{batch[i].id, s.code, s.rqe, int16(pos)})
		}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"doctor_specialties"}, []string{"doctor_id", "specialty_code", "rqe", "position"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("copy doctor_specialties: %w", err)
	}
	return nil
}

// analyze refreshes the planner's statistics of the doctors' tables.
func (doctorStore) analyze(ctx context.Context, q pg.Querier) error {
	if _, err := q.Exec(ctx, `ANALYZE doctors, doctor_specialties`); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}
