package directory

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/pgtest"
	"healthcore/platform/testkit"
)

// seedMany inserts n doctors straight into the tables, spread around ten capitals (about
// ±30 km each), one in twenty incomplete and one in forty unverified (both unlisted), each with one or two of the 55 specialties. The
// values are functions of the row number, so every run plans the same data.
func seedMany(t *testing.T, s *Service, n int) {
	t.Helper()
	ctx := context.Background()
	_, err := s.db.Exec(ctx, `
		WITH city (k, name, uf, lat, lng) AS (VALUES
			(0, 'São Paulo', 'SP', -23.5505, -46.6333), (1, 'Rio de Janeiro', 'RJ', -22.9068, -43.1729),
			(2, 'Belo Horizonte', 'MG', -19.9167, -43.9345), (3, 'Curitiba', 'PR', -25.4284, -49.2733),
			(4, 'Porto Alegre', 'RS', -30.0346, -51.2177), (5, 'Salvador', 'BA', -12.9777, -38.5016),
			(6, 'Recife', 'PE', -8.0476, -34.8770), (7, 'Fortaleza', 'CE', -3.7319, -38.5267),
			(8, 'Brasília', 'DF', -15.7939, -47.8828), (9, 'Manaus', 'AM', -3.1190, -60.0217))
		INSERT INTO doctors (doctor_id, crm_number, crm_uf, display_name, price_cents, address, city, uf,
			latitude, longitude, time_zone, rating_sum, rating_count, complete, verified)
		SELECT gen_random_uuid(), (500000 + i)::text, c.uf, 'Dr. Semente ' || i, 10000 + (i * 37 % 40) * 1000,
			'Rua ' || i, c.name, c.uf,
			c.lat + ((i * 7919 % 1000) / 1000.0 - 0.5) * 0.55, c.lng + ((i * 104729 % 1000) / 1000.0 - 0.5) * 0.6,
			'America/Sao_Paulo', (i * 31 % 5 + 1) * (i % 7), i % 7, i % 20 <> 0, i % 40 <> 1
		FROM generate_series(1, $1::int) AS i JOIN city c ON c.k = (i / 55) % 10`, n)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.db.Exec(ctx, `
		WITH code AS (SELECT code, row_number() OVER (ORDER BY code) - 1 AS k FROM specialties),
		     doc AS (SELECT doctor_id, row_number() OVER (ORDER BY crm_number) AS i FROM doctors)
		INSERT INTO doctor_specialties (doctor_id, specialty_code, position)
		SELECT d.doctor_id, c.code, 0 FROM doc d JOIN code c ON c.k = d.i % 55
		UNION ALL
		SELECT d.doctor_id, c.code, 1 FROM doc d JOIN code c ON c.k = (d.i * 13 + 7) % 55
		WHERE d.i % 3 = 0 AND (d.i * 13 + 7) % 55 <> d.i % 55`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(ctx, `ANALYZE doctors; ANALYZE doctor_specialties; ANALYZE search_entries`); err != nil {
		t.Fatal(err)
	}
}

func TestSearchPlan_SpecialtyRadiusAndRatingWalkTheSpecialtysGiSTIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.Pool(t, Schema.Name, Schema)
	s, err := New(ctx, Deps{DB: db, Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	seedMany(t, s, 4000)

	// The query SearchDoctors runs for this request, built by the service's own code.
	q, _, err := s.plan(&directoryv1.SearchDoctorsRequest{
		Specialty: "cardiologia", Point: saoPaulo, MaxDistanceKm: proto.Float64(25), MinRating: 4,
		Sort: directoryv1.SortOrder_SORT_ORDER_DISTANCE,
	})
	if err != nil {
		t.Fatal(err)
	}
	sql := q.sql(defaultPageSize + 1)

	// The query must find something, or the plan proves nothing about real answers.
	rows, err := db.Query(ctx, sql, q.args...)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for rows.Next() {
		found++
	}
	if rows.Close(); rows.Err() != nil || found == 0 {
		t.Fatalf("the query found %d doctors (%v); the seed should put some cardiologists near São Paulo", found, rows.Err())
	}

	plan, raw := pgtest.Explain(t, db, "", sql, q.args...)
	usesIndex, seqScan := false, false
	plan.Walk(func(n pgtest.PlanNode) {
		if n.Index == "search_entries_earth_idx" {
			usesIndex = true
		}
		if n.NodeType == "Seq Scan" && (n.Relation == "doctors" || n.Relation == "search_entries") {
			seqScan = true
		}
	})
	if !usesIndex || seqScan {
		t.Errorf("want search_entries_earth_idx and no Seq Scan; plan:\n%s", raw)
	}
	t.Logf("plan of %s:\n%s", sql, raw)
}

// TestEarthPoint_IsWhatLLToEarthComputes: the point the search binds is the one
// PostgreSQL's ll_to_earth gives (within a micrometre), at the poles, the antimeridian
// and Brazil's corners, so distances and the index's order do not move.
func TestEarthPoint_IsWhatLLToEarthComputes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.Pool(t, Schema.Name, Schema)
	for _, p := range [][2]float64{{-23.5505, -46.6333}, {5.27, -60.21}, {-33.75, -53.39}, {90, 0}, {-90, 180}, {0, -180}, {0, 0}, {-3.7319, -38.5267}} {
		var off float64
		if err := db.QueryRow(ctx, `SELECT cube_distance(ll_to_earth($1, $2), $3::cube)`, p[0], p[1], earthPoint(p[0], p[1])).Scan(&off); err != nil {
			t.Fatal(err)
		}
		if off > 1e-6 {
			t.Errorf("%v: earthPoint is %g m from ll_to_earth", p, off)
		}
	}
}
