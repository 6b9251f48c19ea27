package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/bench/load"
	"healthcore/bench/stack"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/br"
	"healthcore/platform/notify"
	"healthcore/platform/pg"
)

// The benchmark's own tables live in the schema bench_users of its database, beside
// the services' schemas: the prepared users' credentials and latest tokens, and the
// doctors.
const benchSchema = `
CREATE SCHEMA IF NOT EXISTS bench_users;
CREATE TABLE IF NOT EXISTS bench_users.stamp (id text NOT NULL);
-- Each account registered takes the next serial (its e-mail, CPF or CRM), reserved
-- before it registers: a preparation cut short never reuses one.
CREATE TABLE IF NOT EXISTS bench_users.serials (next integer NOT NULL);
INSERT INTO bench_users.serials (next) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM bench_users.serials);
CREATE TABLE IF NOT EXISTS bench_users.patients (
	n             integer PRIMARY KEY,
	account_id    text NOT NULL,
	email         text NOT NULL,
	password      text NOT NULL,
	document_id   text NOT NULL,
	access_token  text NOT NULL,
	access_expire timestamptz NOT NULL,
	refresh_token text NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_users.doctors (
	n          integer PRIMARY KEY,
	account_id text NOT NULL,
	specialty  text NOT NULL,
	city       text NOT NULL,
	lat        double precision NOT NULL,
	lng        double precision NOT NULL
);`

const patientPassword = "correct horse battery"

func openBench(ctx context.Context, dbURL string, conns int32) (*pgxpool.Pool, error) {
	return pg.Open(ctx, dbURL, "bench_users", conns)
}

// doctor is a prepared doctor: whom to look at, and what a search for it names.
type doctor struct {
	id, specialty    string
	cityLat, cityLng float64
	// The start of the URL of a search in the doctor's city for its specialty (the
	// point is the user's), and the URL of its profile: built once, not for every
	// request.
	searchPrefix, profilePath string
}

func loadDoctors(ctx context.Context, db *pgxpool.Pool) ([]doctor, error) {
	rows, err := db.Query(ctx, `SELECT account_id, specialty, city FROM bench_users.doctors ORDER BY n`)
	if err != nil {
		return nil, err
	}
	var out []doctor
	for rows.Next() {
		var d doctor
		var city string
		if err := rows.Scan(&d.id, &d.specialty, &city); err != nil {
			return nil, err
		}
		for _, c := range cities {
			if c.name == city {
				d.cityLat, d.cityLng = c.lat, c.lng
			}
		}
		q := url.Values{"specialty": {d.specialty}, "maxDistanceKm": {"25"}, "pageSize": {"20"}}
		d.searchPrefix, d.profilePath = "/v1/doctors?"+q.Encode(), "/v1/doctors/"+d.id
		out = append(out, d)
	}
	return out, rows.Err()
}

func loadPatients(ctx context.Context, db *pgxpool.Pool, first, count int) ([]*user, error) {
	rows, err := db.Query(ctx, `SELECT n, account_id, email, password, document_id, access_token, access_expire, refresh_token
		FROM bench_users.patients WHERE n >= $1 AND n < $2 ORDER BY n`, first, first+count)
	if err != nil {
		return nil, err
	}
	var out []*user
	for rows.Next() {
		u := &user{}
		if err := rows.Scan(&u.n, &u.accountID, &u.email, &u.password, &u.document, &u.access, &u.accessExp, &u.refresh); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// saveTokens writes the tokens of the users whose session rotated back, so the next
// run starts with a refresh rather than a login.
func saveTokens(ctx context.Context, db *pgxpool.Pool, users []*user) error {
	var ns []int32
	var access, refresh []string
	var expire []time.Time
	for _, u := range users {
		if u.rotated {
			ns, access, refresh, expire = append(ns, int32(u.n)), append(access, u.access), append(refresh, u.refresh), append(expire, u.accessExp)
		}
	}
	if len(ns) == 0 {
		return nil
	}
	_, err := db.Exec(ctx, `UPDATE bench_users.patients p SET access_token = t.access, access_expire = t.expire, refresh_token = t.refresh
		FROM unnest($1::int[], $2::text[], $3::timestamptz[], $4::text[]) AS t(n, access, expire, refresh) WHERE p.n = t.n`,
		ns, access, expire, refresh)
	return err
}

// city is where doctors practise and patients search around.
type city struct {
	name, uf string
	lat, lng float64
}

var cities = []city{
	{"São Paulo", "SP", -23.5505, -46.6333}, {"Rio de Janeiro", "RJ", -22.9068, -43.1729},
	{"Belo Horizonte", "MG", -19.9167, -43.9345}, {"Brasília", "DF", -15.7939, -47.8828},
	{"Salvador", "BA", -12.9714, -38.5014}, {"Fortaleza", "CE", -3.7319, -38.5267},
	{"Curitiba", "PR", -25.4284, -49.2733}, {"Campinas", "SP", -22.9099, -47.0626},
	{"Recife", "PE", -8.0476, -34.8770}, {"Porto Alegre", "RS", -30.0346, -51.2177},
}

var specialties = []string{"clinica_medica", "pediatria", "cardiologia", "dermatologia", "ginecologia_obstetricia"}

// stateStamp ties the database to the data folder whose master key sealed its data: a
// database prepared with another folder (or a folder that was emptied) is recreated.
func checkState(ctx context.Context, dbURL, dataDir string) error {
	stampFile := filepath.Join(dataDir, "bench-users-stamp")
	want, _ := os.ReadFile(stampFile)
	if err := pg.EnsureDatabase(ctx, dbURL); err != nil {
		return err
	}
	db, err := openBench(ctx, dbURL, 1)
	if err != nil {
		return err
	}
	var have string
	err = db.QueryRow(ctx, `SELECT id FROM bench_users.stamp`).Scan(&have)
	db.Close()
	if err == nil && have != "" && have == strings.TrimSpace(string(want)) {
		return nil
	}
	fmt.Println("the database and the data folder were not prepared together: starting both afresh")
	if err := load.RecreateDatabase(ctx, dbURL); err != nil {
		return err
	}
	if err := os.RemoveAll(dataDir); err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	id := uuid.NewString()
	if err := os.WriteFile(stampFile, []byte(id), 0o600); err != nil {
		return err
	}
	if db, err = openBench(ctx, dbURL, 1); err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(ctx, benchSchema); err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO bench_users.stamp (id) VALUES ($1)`, id)
	return err
}

// prepareUsers makes sure at least doctors doctors and patients patients are prepared,
// registering the missing ones through the REST edge with parallel clients.
func prepareUsers(ctx context.Context, st *stack.Stack, dbURL string, doctors, patients, parallel int) error {
	db, err := openBench(ctx, dbURL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(ctx, benchSchema); err != nil {
		return err
	}
	// One preparation at a time on a database: two would number the same users.
	lock, err := db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer lock.Release()
	var free bool
	if err := lock.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('bench_users.prepare'))`).Scan(&free); err != nil {
		return err
	}
	if !free {
		fmt.Println("waiting for another preparation of this database to end …")
		if _, err := lock.Exec(ctx, `SELECT pg_advisory_lock(hashtext('bench_users.prepare'))`); err != nil {
			return err
		}
	}
	defer func() { // the session's end would unlock it too
		_, _ = lock.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('bench_users.prepare'))`)
	}()
	var haveDoctors, havePatients int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM bench_users.doctors), (SELECT count(*) FROM bench_users.patients)`).
		Scan(&haveDoctors, &havePatients); err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * parallel, DisableCompression: true}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	if haveDoctors < doctors {
		if err := prepareDoctors(ctx, client, st, db, haveDoctors, doctors, parallel); err != nil {
			return err
		}
	}
	if havePatients < patients {
		identityDB, err := pg.Open(ctx, dbURL, "identity", 1)
		if err != nil {
			return err
		}
		defer identityDB.Close()
		if err := preparePatients(ctx, client, st, db, identityDB, havePatients, patients, parallel); err != nil {
			return err
		}
	}
	fmt.Printf("prepared: %d doctors, %d patients\n", max(haveDoctors, doctors), max(havePatients, patients))
	return nil
}

// reserve takes n serials and returns the first.
func reserve(ctx context.Context, db *pgxpool.Pool, n int) (int, error) {
	var first int
	err := db.QueryRow(ctx, `UPDATE bench_users.serials SET next = next + $1 RETURNING next - $1`, n).Scan(&first)
	return first, err
}

// prepareDoctors registers doctors from..to-1, verified by an operator, each with a
// profile in one of the cities with one specialty and an agenda of 30-minute slots
// Monday to Saturday, 08:00–18:00, so every week has many free slots.
func prepareDoctors(ctx context.Context, client *http.Client, st *stack.Stack, db *pgxpool.Pool, from, to, parallel int) error {
	fmt.Printf("preparing doctors %d … %d …\n", from, to-1)
	start := time.Now()
	// A new operator each time doctors are prepared (create-admin refuses an e-mail
	// twice, and the first one's second factor is not kept).
	operatorEmail := fmt.Sprintf("bench-operator-%d@example.com", time.Now().UnixNano())
	if err := st.CreateAdmin(ctx, "Operadora Bench", operatorEmail, load.OperatorPassword); err != nil {
		return err
	}
	var t load.Tokens
	if err := load.Call(ctx, client, "POST", st.Gateway+"/v1/auth/login", "", map[string]string{"email": operatorEmail, "password": load.OperatorPassword}, &t); err != nil {
		return fmt.Errorf("log in the operator: %w", err)
	}
	operator, err := load.EnrolTOTP(ctx, client, st.Gateway, t.Tokens.AccessToken)
	if err != nil {
		return err
	}
	serial, err := reserve(ctx, db, to-from)
	if err != nil {
		return err
	}
	var weekly []map[string]string
	for _, day := range []string{"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"} {
		weekly = append(weekly, map[string]string{"weekday": "WEEKDAY_" + day, "startTime": "08:00", "endTime": "18:00"})
	}
	return parallelDo(ctx, from, to, parallel, func(n int) error {
		c := cities[n%len(cities)]
		sp := specialties[(n/len(cities))%len(specialties)]
		crm := fmt.Sprintf("%d", 100000+(serial+n-from)%900000)
		// A few kilometres around the centre, so a 25 km search finds them.
		lat, lng := c.lat+float64(n%7-3)*0.01, c.lng+float64(n%5-2)*0.01
		id, token, err := load.RegisterDoctorWith(ctx, client, st.Gateway, operator, crm, c.uf, map[string]any{
			"displayName": fmt.Sprintf("Dra. Bench %d", n), "priceCents": 15000 + 1000*(n%10), "timeZone": "America/Sao_Paulo",
			"specialties": []map[string]string{{"code": sp, "rqe": fmt.Sprint(10000 + n)}},
			"location": map[string]any{"address": "Rua Bench, " + fmt.Sprint(n+1), "city": c.name, "uf": c.uf,
				"point": map[string]float64{"latitude": lat, "longitude": lng}},
		})
		if err != nil {
			return err
		}
		if err := load.Call(ctx, client, "PUT", st.Gateway+"/v1/doctors/me/availability", token,
			map[string]any{"weekly": weekly, "slotMinutes": 30, "gapMinutes": 0}, nil); err != nil {
			return fmt.Errorf("availability of doctor %d: %w", n, err)
		}
		_, err = db.Exec(ctx, `INSERT INTO bench_users.doctors (n, account_id, specialty, city, lat, lng) VALUES ($1, $2, $3, $4, $5, $6)`,
			n, id, sp, c.name, lat, lng)
		return err
	}, start, "doctors")
}

// preparePatients registers patients from..to-1 in batches: each registers and logs in
// (two argon2 hashes, in parallel), then the batch's e-mail verification links are read
// from identity's job table at once, and each confirms its address, refreshes its
// session (the new token says the address is confirmed) and uploads one small document.
func preparePatients(ctx context.Context, client *http.Client, st *stack.Stack, db, identityDB *pgxpool.Pool, from, to, parallel int) error {
	fmt.Printf("preparing patients %d … %d (%d at a time) …\n", from, to-1, parallel)
	start := time.Now()
	serial, err := reserve(ctx, db, to-from)
	if err != nil {
		return err
	}
	const batch = 500
	for lo := from; lo < to; lo += batch {
		hi := min(lo+batch, to)
		var lastJob int64
		if err := identityDB.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM river_job`).Scan(&lastJob); err != nil {
			return err
		}
		users := make([]*user, hi-lo)
		gateway := st.Gateways[lo%len(st.Gateways)]
		err := parallelDo(ctx, lo, hi, parallel, func(n int) error {
			k := serial + n - from
			u := &user{n: n, email: fmt.Sprintf("bench-user-%d@example.com", k), password: patientPassword}
			body := map[string]string{"name": "Paciente Bench", "email": u.email, "cpf": br.CompleteCPF(fmt.Sprintf("%09d", 200000000+k)),
				"password": u.password, "phone": "+5511987654321", "birthDate": "1985-04-12"}
			if err := load.Call(ctx, client, "POST", gateway+"/v1/accounts/patients", "", body, nil); err != nil {
				return fmt.Errorf("register patient %d: %w", n, err)
			}
			var t tokenAnswer
			if err := load.Call(ctx, client, "POST", gateway+"/v1/auth/login", "", map[string]string{"email": u.email, "password": u.password}, &t); err != nil {
				return fmt.Errorf("log in patient %d: %w", n, err)
			}
			u.accountID, u.refresh = t.Account.ID, t.Tokens.RefreshToken
			users[n-lo] = u
			return nil
		}, time.Time{}, "")
		if err != nil {
			return err
		}
		links, err := verificationLinks(ctx, identityDB, lastJob)
		if err != nil {
			return err
		}
		err = parallelDo(ctx, lo, hi, parallel, func(n int) error {
			u := users[n-lo]
			if tok, ok := links[u.accountID]; ok {
				if err := load.Call(ctx, client, "POST", gateway+"/v1/accounts/email:verify", "", map[string]string{"token": tok}, nil); err != nil {
					return fmt.Errorf("verify the e-mail of patient %d: %w", n, err)
				}
			}
			// The session refreshed: its new token carries the confirmed address.
			var t tokenAnswer
			if err := load.Call(ctx, client, "POST", gateway+"/v1/auth/refresh", "", map[string]string{"refreshToken": u.refresh}, &t); err != nil {
				return fmt.Errorf("refresh patient %d: %w", n, err)
			}
			u.access, u.accessExp, u.refresh = t.Tokens.AccessToken, t.Tokens.AccessTokenExpireTime, t.Tokens.RefreshToken
			doc, err := upload(ctx, client, gateway, u.access, n)
			if err != nil {
				return fmt.Errorf("upload of patient %d: %w", n, err)
			}
			u.document = doc
			return nil
		}, time.Time{}, "")
		if err != nil {
			return err
		}
		rows := make([][]any, len(users))
		for i, u := range users {
			rows[i] = []any{int32(u.n), u.accountID, u.email, u.password, u.document, u.access, u.accessExp, u.refresh}
		}
		if _, err := db.CopyFrom(ctx, pgx.Identifier{"bench_users", "patients"},
			[]string{"n", "account_id", "email", "password", "document_id", "access_token", "access_expire", "refresh_token"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		done := hi - from
		rate := float64(done) / time.Since(start).Seconds()
		fmt.Printf("  %d/%d patients (%.1f/s, about %s left)\n", done, to-from, rate,
			(time.Duration(float64(to-hi)/rate) * time.Second).Round(time.Second))
	}
	return nil
}

// verificationLinks maps account ids to the token of the e-mail verification link
// identity queued for them in jobs after job id after.
func verificationLinks(ctx context.Context, identityDB *pgxpool.Pool, after int64) (map[string]string, error) {
	rows, err := identityDB.Query(ctx, `SELECT args FROM river_job WHERE kind = 'identity.notify' AND id > $1 ORDER BY id`, after)
	if err != nil {
		return nil, err
	}
	raws, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, raw := range raws {
		var r notify.Request
		if err := r.UnmarshalJSON(raw); err != nil {
			return nil, err
		}
		if r.Msg.GetEvent() == notificationsv1.Event_EVENT_EMAIL_VERIFICATION {
			out[r.Msg.GetRecipientId()] = r.Msg.GetLink().GetToken()
		}
	}
	return out, nil
}

// upload stores one small PDF in the patient's record and returns its id.
func upload(ctx context.Context, client *http.Client, gateway, token string, n int) (string, error) {
	body := fmt.Appendf(nil, "%%PDF-1.7\nhemograma completo, paciente bench %d\n", n)
	req, err := http.NewRequestWithContext(ctx, "POST", gateway+"/v1/records/documents:upload?title=Hemograma&kind=EXAM&examDate=2026-11-20", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/pdf")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", &load.StatusError{Status: resp.StatusCode, Body: string(raw)}
	}
	var out struct {
		Document struct {
			ID string `json:"id"`
		} `json:"document"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Document.ID == "" {
		return "", fmt.Errorf("upload answer %.200s", raw)
	}
	return out.Document.ID, nil
}

// parallelDo runs f(n) for n in [from, to) on parallel goroutines, stopping at the
// first error; with a label it prints progress every 10 s.
func parallelDo(ctx context.Context, from, to, parallel int, f func(int) error, start time.Time, label string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next, done atomic.Int64
	next.Store(int64(from))
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	stop := make(chan struct{})
	if label != "" {
		go func() {
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					fmt.Printf("  %d/%d %s (%s)\n", done.Load(), to-from, label, time.Since(start).Round(time.Second))
				}
			}
		}()
	}
	for range max(parallel, 1) {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := int(next.Add(1) - 1)
				if n >= to {
					return
				}
				if err := f(n); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	if first == nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
		first = ctx.Err()
	}
	return first
}

// warmUp waits until a prepared patient's authenticated reads succeed through every
// gateway: a service that has just started refuses user tokens (503
// REVOKED_SESSIONS) until its first fetch of identity's list of ended sessions, which
// on a busy machine can take a while. A deployment is not measured while it starts.
func warmUp(ctx context.Context, st *stack.Stack, dbURL string) error {
	db, err := openBench(ctx, dbURL, 1)
	if err != nil {
		return err
	}
	users, err := loadPatients(ctx, db, 0, 1)
	db.Close()
	if err != nil || len(users) == 0 {
		return fmt.Errorf("warm-up: no prepared patient (%v)", err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var t tokenAnswer
	if err := load.Call(ctx, client, "POST", st.Gateway+"/v1/auth/login", "", map[string]string{"email": users[0].email, "password": users[0].password}, &t); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, g := range st.Gateways {
		for _, path := range []string{"/v1/me", "/v1/appointments", "/v1/records/documents", "/v1/appointments/" + uuid.NewString() + "/payment"} {
			for {
				err := load.Call(ctx, client, "GET", g+path, t.Tokens.AccessToken, nil, nil)
				var se *load.StatusError
				if err == nil || errors.As(err, &se) && se.Status < 500 { // the payment of no appointment: 404
					break
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("warm-up: GET %s still fails after 2 minutes: %w", path, err)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(500 * time.Millisecond):
				}
			}
		}
	}
	return nil
}
