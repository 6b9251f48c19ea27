package directory_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/pgtest"
	"healthcore/services/directory"
)

func seededPool(t *testing.T, n int, seed int64) *pgxpool.Pool {
	t.Helper()
	db := pgtest.Pool(t, directory.Schema.Name, directory.Schema)
	got, err := directory.Seed(context.Background(), db, n, seed)
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Fatalf("Seed inserted %d, want %d", got, n)
	}
	return db
}

// digest hashes every seeded column of every doctor and specialty, in id order;
// timestamps are left out (they are the insertion time).
func digest(t *testing.T, db *pgxpool.Pool) string {
	t.Helper()
	var sum string
	err := db.QueryRow(context.Background(), `SELECT md5(string_agg(x.line, E'\n' ORDER BY x.doctor_id)) FROM (
		SELECT d.doctor_id, concat_ws('|', d.doctor_id, d.crm_number, d.crm_uf, d.display_name, d.bio, d.price_cents,
			d.consultation_minutes, d.languages, d.address, d.city, d.uf, d.latitude, d.longitude, d.time_zone,
			d.rating_sum, d.rating_count, d.listed,
			(SELECT string_agg(s.specialty_code || ':' || s.rqe || ':' || s.position, ',' ORDER BY s.position)
			 FROM doctor_specialties s WHERE s.doctor_id = d.doctor_id)) AS line
		FROM doctors d) x`).Scan(&sum)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestSeed_SameSeedGivesTheSameDoctors(t *testing.T) {
	a, b, c := seededPool(t, 700, 42), seededPool(t, 700, 42), seededPool(t, 700, 43)
	if da, db := digest(t, a), digest(t, b); da != db {
		t.Errorf("seed 42 twice: digests %s and %s differ", da, db)
	}
	if da, dc := digest(t, a), digest(t, c); da == dc {
		t.Errorf("seeds 42 and 43 gave the same doctors (%s)", da)
	}
}

func TestSeed_DoctorsAreRealistic(t *testing.T) {
	const n = 3000
	db := seededPool(t, n, 1)
	ctx := context.Background()
	check := func(what, query string, want int) {
		t.Helper()
		var got int
		if err := db.QueryRow(ctx, query).Scan(&got); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got != want {
			t.Errorf("%s: %d, want %d", what, got, want)
		}
	}
	check("doctors", `SELECT count(*) FROM doctors`, n)
	check("listed", `SELECT count(*) FROM doctors WHERE listed`, n)
	check("distinct CRMs", `SELECT count(DISTINCT (crm_number, crm_uf)) FROM doctors`, n)
	check("six-digit CRMs", `SELECT count(*) FROM doctors WHERE crm_number ~ '^[1-9][0-9]{5}$'`, n)
	check("CRM UF is the city's", `SELECT count(*) FROM doctors WHERE crm_uf = uf`, n)
	check("with 1 to 3 specialties", `SELECT count(*) FROM (SELECT d.doctor_id FROM doctors d
		JOIN doctor_specialties s USING (doctor_id) JOIN specialties sp ON sp.code = s.specialty_code GROUP BY d.doctor_id
		HAVING count(*) BETWEEN 1 AND 3 AND count(*) FILTER (WHERE s.rqe ~ '^[0-9]{4,5}$') = count(*)
		AND min(s.position) = 0 AND max(s.position) = count(*) - 1 AND count(DISTINCT s.position) = count(*)) x`, n)
	check("inside Brazil", `SELECT count(*) FROM doctors WHERE latitude BETWEEN -33.75 AND 5.27 AND longitude BETWEEN -73.99 AND -34.79`, n)
	check("priced R$ 120 to 900", `SELECT count(*) FROM doctors WHERE price_cents BETWEEN 12000 AND 90000 AND price_cents % 1000 = 0`, n)
	check("30, 50 or 60 minutes", `SELECT count(*) FROM doctors WHERE consultation_minutes IN (30, 50, 60)`, n)
	check("speak Portuguese", `SELECT count(*) FROM doctors WHERE languages[1] = 'pt-BR' AND languages <@ '{pt-BR,en,es}'`, n)
	check("titled", `SELECT count(*) FROM doctors WHERE display_name ~ '^Dra?\. [A-ZÁÉÍÓÚÂÊÔÃÕÇ]'`, n)
	check("located", `SELECT count(*) FROM doctors WHERE address ~ '^(Rua|Avenida) .+, [0-9]+, sala [0-9]+$' AND earth IS NOT NULL`, n)
	check("ratings consistent", `SELECT count(*) FROM doctors WHERE
		(rating_count = 0 AND rating_sum = 0) OR (rating_avg BETWEEN 1 AND 5 AND rating_count BETWEEN 1 AND 2000)`, n)

	// Each doctor is within 15 km of a known city centre, in that city's time zone.
	byName := map[string]directory.City{}
	for _, c := range directory.Cities {
		byName[c.Name+"/"+c.UF] = c
	}
	rows, err := db.Query(ctx, `SELECT city, uf, time_zone, latitude, longitude FROM doctors`)
	if err != nil {
		t.Fatal(err)
	}
	perCity := map[string]int{}
	for rows.Next() {
		var city, uf, tz string
		var lat, lng float64
		if err := rows.Scan(&city, &uf, &tz, &lat, &lng); err != nil {
			t.Fatal(err)
		}
		c, ok := byName[city+"/"+uf]
		perCity[c.Name]++
		switch {
		case !ok:
			t.Fatalf("unknown city %s/%s", city, uf)
		case tz != c.TimeZone:
			t.Fatalf("%s: time zone %s, want %s", city, tz, c.TimeZone)
		case kmBetween(lat, lng, c.Lat, c.Lng) > 15.01:
			t.Fatalf("%s: (%v, %v) is %.1f km from the centre", city, lat, lng, kmBetween(lat, lng, c.Lat, c.Lng))
		}
		if _, err := time.LoadLocation(tz); err != nil {
			t.Fatalf("%s: %v", city, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for name, count := range perCity {
		if name != "São Paulo" && count >= perCity["São Paulo"] {
			t.Errorf("%s has %d doctors, São Paulo %d: the biggest city should have the most", name, count, perCity["São Paulo"])
		}
	}

	// The mix looks like a marketplace: some doctors without reviews, common
	// specialties well represented, most consultations of 50 minutes.
	var noReviews, clinica, fifty, english int
	err = db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE rating_count = 0),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM doctor_specialties s WHERE s.doctor_id = d.doctor_id AND s.specialty_code = 'clinica_medica')),
			count(*) FILTER (WHERE consultation_minutes = 50), count(*) FILTER (WHERE 'en' = ANY (languages))
		FROM doctors d`).Scan(&noReviews, &clinica, &fifty, &english)
	if err != nil {
		t.Fatal(err)
	}
	between := func(what string, got, lo, hi int) {
		t.Helper()
		if got < lo || got > hi {
			t.Errorf("%s: %d of %d, want %d to %d", what, got, n, lo, hi)
		}
	}
	between("without reviews", noReviews, n/10, n*4/10)
	between("clinica_medica", clinica, n/10, n*3/10)
	between("50-minute", fifty, n*6/10, n*8/10)
	between("English-speaking", english, n/10, n*3/10)
}

func TestSeed_AgainAddsNewDoctors(t *testing.T) {
	db := seededPool(t, 400, 7)
	ctx := context.Background()
	// The same seed again and another seed: both add doctors, nothing collides.
	for _, seed := range []int64{7, 8} {
		if got, err := directory.Seed(ctx, db, 400, seed); err != nil || got != 400 {
			t.Fatalf("Seed(400, %d) = %d, %v", seed, got, err)
		}
	}
	var count, crms int
	if err := db.QueryRow(ctx, `SELECT count(*), count(DISTINCT crm_number) FROM doctors`).Scan(&count, &crms); err != nil {
		t.Fatal(err)
	}
	if count != 1200 || crms != 1200 {
		t.Errorf("after three seeds: %d doctors with %d CRM numbers, want 1200 and 1200", count, crms)
	}
	if got, err := directory.Seed(ctx, db, 0, 9); err != nil || got != 0 {
		t.Errorf("Seed(0) = %d, %v; want 0, nil", got, err)
	}
}

func TestSeed_SearchFindsDoctorsAroundSaoPaulo(t *testing.T) {
	db := seededPool(t, 3000, 1)
	ctx := context.Background()
	svc, err := directory.New(ctx, directory.Deps{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	sp := &directoryv1.LatLng{Latitude: new(-23.5505), Longitude: new(-46.6333)}
	resp, err := svc.SearchDoctors(ctx, connect.NewRequest(&directoryv1.SearchDoctorsRequest{
		Specialty: "clinica_medica", Point: sp, MaxDistanceKm: proto.Float64(25), MinRating: 4,
	}))
	if err != nil {
		t.Fatal(err)
	}
	results := resp.Msg.GetResults()
	if len(results) != 20 || resp.Msg.GetNextPageToken() == "" {
		t.Fatalf("%d results (next page %q), want a full page of 20 and more", len(results), resp.Msg.GetNextPageToken())
	}
	last := 0.0
	for _, r := range results {
		p := r.GetProfile()
		hasSpecialty := false
		for _, s := range p.GetSpecialties() {
			hasSpecialty = hasSpecialty || s.GetCode() == "clinica_medica" && s.GetRqe() != ""
		}
		switch {
		case !hasSpecialty:
			t.Errorf("%s: specialties %v lack clinica_medica", p.GetDisplayName(), p.GetSpecialties())
		case r.GetDistanceKm() > 25 || r.GetDistanceKm() < last:
			t.Errorf("%s: %.1f km after %.1f km", p.GetDisplayName(), r.GetDistanceKm(), last)
		case p.GetRatingAverage() < 4:
			t.Errorf("%s: rating %.2f", p.GetDisplayName(), p.GetRatingAverage())
		case p.GetTimeZone() != "America/Sao_Paulo" || !strings.HasPrefix(p.GetDisplayName(), "Dr"):
			t.Errorf("profile %v", p)
		}
		last = r.GetDistanceKm()
	}
}

// kmBetween is the great-circle distance between two points (haversine, mean Earth
// radius).
func kmBetween(lat1, lng1, lat2, lng2 float64) float64 {
	const rad = math.Pi / 180
	a := math.Pow(math.Sin((lat2-lat1)*rad/2), 2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Pow(math.Sin((lng2-lng1)*rad/2), 2)
	return 2 * 6371.0088 * math.Asin(math.Sqrt(a))
}

func TestSeed_DistancePagesMatchOneFullSort(t *testing.T) {
	db := seededPool(t, 3000, 5)
	ctx := context.Background()
	// Clinics hold several doctors: put half of São Paulo's in three buildings, so
	// that runs of equal distances straddle page boundaries.
	_, err := db.Exec(ctx, `UPDATE doctors SET latitude = -23.55 + (crm_number::int % 3) * 0.01, longitude = -46.63
		WHERE city = 'São Paulo' AND crm_number::int % 2 = 0`)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	rows, err := db.Query(ctx, `SELECT d.doctor_id::text FROM doctors d
		WHERE d.rating_avg >= 4 AND earth_distance(d.earth, ll_to_earth(-23.5505, -46.6333)) <= 25000
		AND EXISTS (SELECT 1 FROM doctor_specialties s WHERE s.doctor_id = d.doctor_id AND s.specialty_code = 'clinica_medica')
		ORDER BY d.earth <-> ll_to_earth(-23.5505, -46.6333), d.doctor_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	if rows.Err() != nil || len(want) < 30 {
		t.Fatalf("%d doctors in the reference order (%v): the seed should give more", len(want), rows.Err())
	}

	svc, err := directory.New(ctx, directory.Deps{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	token := ""
	for page := 0; page == 0 || token != ""; page++ {
		if page > len(want) {
			t.Fatal("the pages never end")
		}
		resp, err := svc.SearchDoctors(ctx, connect.NewRequest(&directoryv1.SearchDoctorsRequest{
			Specialty: "clinica_medica", Point: &directoryv1.LatLng{Latitude: new(-23.5505), Longitude: new(-46.6333)},
			MaxDistanceKm: proto.Float64(25), MinRating: 4, Sort: directoryv1.SortOrder_SORT_ORDER_DISTANCE, PageSize: 7, PageToken: token,
		}))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.Msg.GetResults() {
			got = append(got, r.GetProfile().GetDoctorId())
		}
		token = resp.Msg.GetNextPageToken()
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages of 7 gave %d doctors, one full sort %d; first difference at %d", len(got), len(want), firstDifference(got, want))
	}
}

func firstDifference(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
