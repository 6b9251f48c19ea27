package pixsandbox

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the sandbox's PostgreSQL schema and its migrations. Production never
// migrates or writes it.
var Schema = pg.Schema{Name: "pixsandbox", Migrations: pg.Dir(migrations, "migrations")}

// Options configures a Sandbox. Zero durations and counts take the defaults.
type Options struct {
	// AccessToken is the bearer token the API requires.
	AccessToken string
	// WebhookSecret keys the webhooks' x-signature.
	WebhookSecret string
	// NotificationURL receives the webhooks of payments created without a
	// notification_url, as the application's webhook setting does at Mercado Pago.
	NotificationURL string
	Logger          *slog.Logger
	// Now is the sandbox's clock for payments and signatures (nil: time.Now).
	Now func() time.Time
	// A failed webhook is tried again after RetryBase (2 s), each time twice as long
	// up to RetryMax (5 min), MaxAttempts (10) times in all.
	RetryBase   time.Duration
	RetryMax    time.Duration
	MaxAttempts int
	// PollInterval is how often to look for webhooks due and payments expired (1 s):
	// another process sharing the database may have queued them.
	PollInterval time.Duration
	// WebhookTimeout is how long a receiver has to answer (22 s, as Mercado Pago).
	WebhookTimeout time.Duration
}

// Sandbox is a development stand-in for Mercado Pago: an HTTP server that speaks the
// subset of the REST API the driver uses (create, read, cancel and refund PIX
// payments, with bearer tokens and idempotency keys), keeps its state in PostgreSQL so
// it survives restarts and is shared by every process on the same database, and sends
// signed webhooks with retries. Development controls approve ("pay") or reject a
// pending payment: POST /sandbox/payments/{id}/approve or /reject, Approve and Reject,
// or the buttons of the payment's ticket page.
//
// Idempotency: a write repeated with the same X-Idempotency-Key and the same request
// (method, path and JSON body) answers with the resource it made, in its current
// state, and changes nothing; the same key with a different request is refused with
// 409 idempotency_key_already_used, as Mercado Pago documents for its Orders API.
// Keys never expire here (Mercado Pago keeps them 24 hours).
type Sandbox struct {
	db    *pgxpool.Pool
	opts  Options
	ln    net.Listener
	url   string
	log   *slog.Logger
	now   func() time.Time
	hook  *http.Client
	nudge chan struct{} // a webhook was queued: deliver now rather than at the next poll
}

// New returns a sandbox that will serve on ln (see Run), with its state in db, a pool
// whose search_path is Schema's.
func New(db *pgxpool.Pool, ln net.Listener, opts Options) (*Sandbox, error) {
	if db == nil || ln == nil || opts.AccessToken == "" || opts.WebhookSecret == "" {
		return nil, errors.New("pixsandbox: the sandbox needs a database, a listener, an access token and a webhook secret")
	}
	setDefault(&opts.RetryBase, 2*time.Second)
	setDefault(&opts.RetryMax, 5*time.Minute)
	setDefault(&opts.PollInterval, time.Second)
	setDefault(&opts.WebhookTimeout, 22*time.Second)
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sandbox{
		db: db, opts: opts, ln: ln, url: "http://" + ln.Addr().String(),
		log: opts.Logger, now: opts.Now,
		hook: &http.Client{
			Timeout: opts.WebhookTimeout,
			// Mercado Pago wants 200 or 201 from the URL itself; a redirect is a failure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		nudge: make(chan struct{}, 1),
	}, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// URL is the sandbox's base URL, to give the driver as its base URL.
func (s *Sandbox) URL() string { return s.url }

// NotificationURL is where the webhooks of payments created without a
// notification_url go ("" for nowhere).
func (s *Sandbox) NotificationURL() string { return s.opts.NotificationURL }

// Run serves the API on the sandbox's listener and delivers webhooks until ctx ends,
// then stops gracefully and closes the listener.
func (s *Sandbox) Run(ctx context.Context) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(s.ln) }()
	worked := make(chan struct{})
	wctx, stopWork := context.WithCancel(ctx)
	go func() {
		defer close(worked)
		s.work(wctx)
	}()
	s.log.InfoContext(ctx, "pix sandbox listening", "url", s.url)

	var err error
	select {
	case <-ctx.Done():
	case err = <-served: // the listener failed
	}
	stopWork()
	// net/http counts a connection that has not sent a request yet (a client's spare
	// dial) as idle only once it is 5 s old: a shorter deadline would fail on one.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); err == nil && serr != nil {
		err = serr
	}
	<-worked
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Credentials returns the sandbox's access token and webhook secret: the given ones,
// or those generated on the database's first use and kept in its settings table, so
// restarts and other processes on the same database agree.
func Credentials(ctx context.Context, db *pgxpool.Pool, accessToken, webhookSecret string) (string, string, error) {
	var err error
	if accessToken == "" {
		if accessToken, err = settings.getOrPut(ctx, db, "access_token", "TEST-"+randomHex(24)); err != nil {
			return "", "", fmt.Errorf("pixsandbox: %w", err)
		}
	}
	if webhookSecret == "" {
		if webhookSecret, err = settings.getOrPut(ctx, db, "webhook_secret", randomHex(32)); err != nil {
			return "", "", fmt.Errorf("pixsandbox: %w", err)
		}
	}
	return accessToken, webhookSecret, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}
