// Package load holds what the REST benchmark commands share: a result with its
// latencies and percentiles, a JSON call through the gateway, and a table printer.
package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/bench/stack"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/notify"
	"healthcore/platform/pg"
	"healthcore/services/identity"
)

// Result is what one measured path gave.
type Result struct {
	Name       string
	Elapsed    time.Duration
	Latencies  []time.Duration // sorted by Done
	Errors     int
	FirstError string
	Note       string
}

// Add records one request.
func (r *Result) Add(d time.Duration, err error) {
	r.Latencies = append(r.Latencies, d)
	if err != nil {
		r.Fail(err)
	}
}

// Fail counts an error, keeping the first.
func (r *Result) Fail(err error) {
	r.Errors++
	if r.FirstError == "" {
		r.FirstError = err.Error()
	}
}

// Merge adds another part's requests (one part per client).
func (r *Result) Merge(p *Result) {
	r.Latencies = append(r.Latencies, p.Latencies...)
	r.Errors += p.Errors
	if r.FirstError == "" {
		r.FirstError = p.FirstError
	}
}

// Gather merges the clients' parts into one result named name, measured over elapsed.
func Gather(name string, parts []Result, elapsed time.Duration) *Result {
	r := &Result{Name: name}
	for i := range parts {
		r.Merge(&parts[i])
	}
	r.Done(elapsed)
	return r
}

// Timed measures clients closed-loop clients for warmup, then duration: client c sends
// its requests one after another, its i-th being do(c, i) for i < n(c), until the end.
// Requests started after the warm-up are measured; a client that runs out of requests
// before the end counts an error, since the rate would then read low.
func Timed(ctx context.Context, name string, clients int, warmup, duration time.Duration, n func(c int) int, do func(c, i int) error) *Result {
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+duration)
	parts := make([]Result, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range n(c) {
				t0 := time.Now()
				if t0.After(end) || ctx.Err() != nil {
					return
				}
				err := do(c, i)
				if t0.After(measureFrom) {
					parts[c].Add(time.Since(t0), err)
				}
			}
			parts[c].Fail(fmt.Errorf("client %d ran out of requests", c))
		})
	}
	wg.Wait()
	return Gather(name, parts, duration)
}

// Done sorts the latencies; call it once all requests are in.
func (r *Result) Done(elapsed time.Duration) { r.Elapsed = elapsed; slices.Sort(r.Latencies) }

// Rate is requests per second.
func (r *Result) Rate() float64 { return float64(len(r.Latencies)) / r.Elapsed.Seconds() }

// Percentile returns the p-th percentile latency (nearest rank); 100 is the maximum.
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies))*p/100+0.5) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// Ms formats a duration in milliseconds.
func Ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// PrintTable prints one row a result: requests, rate, p50, p99, max, errors, note.
func PrintTable(rs ...*Result) {
	fmt.Printf("%-58s %8s %10s %10s %10s %10s %7s\n", "path", "requests", "req/s", "p50", "p99", "max", "errors")
	for _, r := range rs {
		fmt.Printf("%-58s %8d %10.1f %10s %10s %10s %7d  %s\n", r.Name, len(r.Latencies), r.Rate(),
			Ms(r.Percentile(50)), Ms(r.Percentile(99)), Ms(r.Percentile(100)), r.Errors, r.Note)
	}
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %.300s", e.Status, e.Body) }

// Call sends a JSON request (body may be nil) with an optional bearer token and decodes
// a 2xx answer into out (may be nil); any other status is a *StatusError.
func Call(ctx context.Context, client *http.Client, method, url, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &StatusError{Status: resp.StatusCode, Body: string(raw)}
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// RecreateDatabase drops the benchmark database at dbURL (ending its sessions) from the
// server's postgres database and creates it afresh.
func RecreateDatabase(ctx context.Context, dbURL string) error {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return fmt.Errorf("parse %s: %w", pg.RedactURL(dbURL), err)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to the postgres database of %s: %w", pg.RedactURL(dbURL), err)
	}
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{cfg.Database}.Sanitize()+" WITH (FORCE)")
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return fmt.Errorf("drop database %s: %w", cfg.Database, err)
	}
	return pg.EnsureDatabase(ctx, dbURL)
}

// Tokens is the part of a login answer the benchmarks use.
type Tokens struct {
	Tokens struct {
		AccessToken string `json:"accessToken"`
	} `json:"tokens"`
	Account struct {
		ID string `json:"id"`
	} `json:"account"`
}

// RegisterPatient registers a patient with the given e-mail and CPF (11 digits),
// confirms the address with the link identity queued for it (read from identityDB,
// identity's schema), and logs in, returning the account id and an access token that
// books (its e-mail is verified).
func RegisterPatient(ctx context.Context, client *http.Client, gateway string, identityDB pg.Querier, email, cpf string) (id, token string, err error) {
	body := map[string]string{"name": "Paciente Bench", "email": email, "cpf": cpf,
		"password": "correct horse battery", "phone": "+5511987654321", "birthDate": "1985-04-12"}
	if err := Call(ctx, client, "POST", gateway+"/v1/accounts/patients", "", body, nil); err != nil {
		return "", "", fmt.Errorf("register patient %s: %w", email, err)
	}
	login := func() (Tokens, error) {
		var t Tokens
		err := Call(ctx, client, "POST", gateway+"/v1/auth/login", "", map[string]string{"email": email, "password": body["password"]}, &t)
		if err != nil {
			return t, fmt.Errorf("log in %s: %w", email, err)
		}
		return t, nil
	}
	t, err := login()
	if err != nil {
		return "", "", err
	}
	if err := VerifyEmail(ctx, client, gateway, identityDB, t.Account.ID); err != nil {
		return "", "", err
	}
	if t, err = login(); err != nil { // a token that carries the confirmation
		return "", "", err
	}
	return t.Account.ID, t.Tokens.AccessToken, nil
}

// VerifyEmail confirms the account's address as its owner would, with the token of the
// newest verification link identity queued for it (an identity.notify job in
// identityDB).
func VerifyEmail(ctx context.Context, client *http.Client, gateway string, identityDB pg.Querier, accountID string) error {
	queued, err := notify.Queued(ctx, identityDB, "identity.notify")
	if err != nil {
		return err
	}
	token := ""
	for _, n := range queued {
		if n.GetRecipientId() == accountID && n.GetEvent() == notificationsv1.Event_EVENT_EMAIL_VERIFICATION {
			token = n.GetLink().GetToken()
		}
	}
	if token == "" {
		return fmt.Errorf("no e-mail verification link queued for %s", accountID)
	}
	if err := Call(ctx, client, "POST", gateway+"/v1/accounts/email:verify", "", map[string]string{"token": token}, nil); err != nil {
		return fmt.Errorf("verify the e-mail of %s: %w", accountID, err)
	}
	return nil
}

// OperatorPassword is the password of the operator Operator creates.
const OperatorPassword = "bench operator password"

// Operator creates the stack's operator with create-admin (st.CreateAdmin: the real
// way, identity's own use case run by the binary against the stack's database and keys
// service; the benchmark writes nothing of identity's itself), logs it in over REST and
// enrols and confirms its TOTP, returning an access token with the second factor that
// operator RPCs require.
func Operator(ctx context.Context, client *http.Client, st *stack.Stack) (string, error) {
	const email = "bench-operator@example.com"
	if err := st.CreateAdmin(ctx, "Operadora Bench", email, OperatorPassword); err != nil {
		return "", err
	}
	var t Tokens
	if err := Call(ctx, client, "POST", st.Gateway+"/v1/auth/login", "", map[string]string{"email": email, "password": OperatorPassword}, &t); err != nil {
		return "", fmt.Errorf("log in the operator: %w", err)
	}
	return EnrolTOTP(ctx, client, st.Gateway, t.Tokens.AccessToken)
}

// EnrolTOTP enrols and confirms TOTP for the session of access, as an authenticator app
// would (identity.TOTPCode), and returns the session's new access token (amr pwd and otp).
func EnrolTOTP(ctx context.Context, client *http.Client, gateway, access string) (string, error) {
	var enrol struct {
		Secret string `json:"secret"`
	}
	if err := Call(ctx, client, "POST", gateway+"/v1/me/mfa/totp:enroll", access, map[string]string{}, &enrol); err != nil {
		return "", fmt.Errorf("enrol TOTP: %w", err)
	}
	code, err := identity.TOTPCode(enrol.Secret, time.Now())
	if err != nil {
		return "", err
	}
	var confirmed Tokens
	if err := Call(ctx, client, "POST", gateway+"/v1/me/mfa/totp:confirm", access, map[string]string{"code": code}, &confirmed); err != nil {
		return "", fmt.Errorf("confirm TOTP: %w", err)
	}
	return confirmed.Tokens.AccessToken, nil
}

// crmCard is the photo of the CRM card a benchmark doctor sends: identity recognises
// the file by its leading bytes (a PNG's).
var crmCard = []byte("\x89PNG\r\n\x1a\na photo of the CRM card")

// RegisterDoctor registers a doctor (CRM number/uf), writes a profile in São Paulo at
// priceCents, sends the verification evidence, has the operator (an access token of
// Operator) approve it over REST, logs the doctor in again (the new session's token
// says verified) and enrols its second factor, then waits until the directory lists the
// doctor (identity publishes the verdict by a job). It returns the account id and the
// access token of that session: verified, with amr pwd and otp.
func RegisterDoctor(ctx context.Context, client *http.Client, gateway, operator, crmNumber, uf string, priceCents int64) (id, token string, err error) {
	return RegisterDoctorWith(ctx, client, gateway, operator, crmNumber, uf, map[string]any{
		"displayName": "Dra. Bench " + crmNumber, "priceCents": priceCents, "timeZone": "America/Sao_Paulo",
		"specialties": []map[string]string{{"code": "clinica_medica"}},
		"location": map[string]any{"address": "Av. Paulista, 1000", "city": "São Paulo", "uf": "SP",
			"point": map[string]float64{"latitude": -23.5505, "longitude": -46.6333}},
	})
}

// RegisterDoctorWith is RegisterDoctor writing profile (the JSON body of PUT
// /v1/doctors/me/profile) as the doctor's profile.
func RegisterDoctorWith(ctx context.Context, client *http.Client, gateway, operator, crmNumber, uf string, profile map[string]any) (id, token string, err error) {
	crm := map[string]string{"number": crmNumber, "uf": uf}
	const password = "bench doctor password"
	if err := Call(ctx, client, "POST", gateway+"/v1/accounts/doctors", "", map[string]any{
		"name": "Dra. Bench " + crmNumber, "crm": crm, "email": "bench-" + crmNumber + "@example.com", "password": password,
	}, nil); err != nil {
		return "", "", fmt.Errorf("register doctor %s: %w", crmNumber, err)
	}
	login := func() (Tokens, error) {
		var t Tokens
		if err := Call(ctx, client, "POST", gateway+"/v1/auth/login", "", map[string]any{"crm": crm, "password": password}, &t); err != nil {
			return t, fmt.Errorf("log in doctor %s: %w", crmNumber, err)
		}
		return t, nil
	}
	t, err := login()
	if err != nil {
		return "", "", err
	}
	id, pending := t.Account.ID, t.Tokens.AccessToken
	if err := Call(ctx, client, "PUT", gateway+"/v1/doctors/me/profile", pending, profile, nil); err != nil {
		return "", "", fmt.Errorf("profile of doctor %s: %w", crmNumber, err)
	}
	if err := Call(ctx, client, "POST", gateway+"/v1/me/verification", pending, map[string]any{"crm": crm, "card": crmCard}, nil); err != nil {
		return "", "", fmt.Errorf("evidence of doctor %s: %w", crmNumber, err)
	}
	if err := Call(ctx, client, "POST", gateway+"/v1/admin/doctors/"+id+":approve", operator, map[string]string{}, nil); err != nil {
		return "", "", fmt.Errorf("approve doctor %s: %w", crmNumber, err)
	}
	if t, err = login(); err != nil {
		return "", "", err
	}
	if token, err = EnrolTOTP(ctx, client, gateway, t.Tokens.AccessToken); err != nil {
		return "", "", fmt.Errorf("doctor %s: %w", crmNumber, err)
	}
	if err := waitListed(ctx, client, gateway, id); err != nil {
		return "", "", fmt.Errorf("doctor %s: %w", crmNumber, err)
	}
	return id, token, nil
}

// waitListed polls the doctor's public profile until the directory lists it (404
// DOCTOR_NOT_FOUND until identity's verdict arrives), for at most a minute.
func waitListed(ctx context.Context, client *http.Client, gateway, id string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := Call(ctx, client, "GET", gateway+"/v1/doctors/"+id, "", nil, nil)
		var se *StatusError
		switch {
		case err == nil:
			return nil
		case !errors.As(err, &se) || se.Status != http.StatusNotFound:
			return fmt.Errorf("profile after approval: %w", err)
		case time.Now().After(deadline):
			return fmt.Errorf("not listed a minute after approval: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// DefaultServerURL is the PostgreSQL server a benchmark uses unless told otherwise:
// DATABASE_URL, else the local server on loopback (no TLS, as in dev).
func DefaultServerURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Main runs a benchmark command until it ends or is interrupted (SIGINT, SIGTERM), and
// exits 1 with its error.
func Main(name string, run func(context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Backends lists the process ids of the other sessions on q's database (the services'
// or a raw path's), whose CPU a benchmark adds up, or nothing if the server cannot
// tell.
func Backends(ctx context.Context, q pg.Querier) []int {
	rows, err := q.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return nil
	}
	pids, _ := pgx.CollectRows(rows, pgx.RowTo[int32])
	out := make([]int, len(pids))
	for i, p := range pids {
		out[i] = int(p)
	}
	return out
}
