package payments

import (
	"context"
	"embed"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/gen/healthcore/notifications/v1/notificationsv1connect"
	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	"healthcore/gen/healthcore/pix/v1/pixv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/platform/config"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the payments service's PostgreSQL schema, its migrations and River's job
// tables.
var Schema = pg.Schema{Name: "payments", Migrations: pg.Dir(migrations, "migrations"), Jobs: true}

// Config holds the payments service's settings.
type Config struct {
	// ReconcileEvery is how often reconciliation looks for charges to re-read or expire.
	ReconcileEvery time.Duration
	// RecheckAfter is how long a pending charge may go unread before reconciliation
	// re-reads it from the provider (a lost notification costs at most about this).
	RecheckAfter time.Duration
	// ExpiryGrace is how long past its expiry a pending charge waits before it is
	// cancelled at the provider and the payment fails: room for a transfer made in the
	// last second and for clocks that disagree.
	ExpiryGrace time.Duration
	// Jobs tunes the durable job runner (tests shorten its polling and backoff).
	Jobs jobs.Options
}

// DefaultConfig is what production runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{ReconcileEvery: time.Minute, RecheckAfter: time.Minute, ExpiryGrace: 2 * time.Minute}
}

// RegisterFlags binds the settings to flags named payments.*.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.ReconcileEvery, "payments.reconcile-every", c.ReconcileEvery,
		"how often reconciliation re-reads pending charges and expires overdue ones")
	fs.DurationVar(&c.RecheckAfter, "payments.recheck-after", c.RecheckAfter,
		"how long a pending charge may go unread before reconciliation asks the provider")
	fs.DurationVar(&c.ExpiryGrace, "payments.expiry-grace", c.ExpiryGrace,
		"how long past its expiry an unpaid charge is kept before it is cancelled")
	c.Jobs.RegisterFlags(fs, "payments")
}

// Check reports bad settings.
func (c Config) Check(p *config.Problems) {
	p.Check(c.ReconcileEvery >= time.Second && c.ReconcileEvery <= time.Hour,
		"payments.reconcile-every=%s: must be between 1s and 1h", c.ReconcileEvery)
	p.Check(c.RecheckAfter >= time.Second && c.RecheckAfter <= 24*time.Hour,
		"payments.recheck-after=%s: must be between 1s and 24h", c.RecheckAfter)
	p.Check(c.ExpiryGrace >= 0 && c.ExpiryGrace <= time.Hour,
		"payments.expiry-grace=%s: must be between 0s and 1h", c.ExpiryGrace)
	c.Jobs.Check(p, "payments")
}

// Deps are what the service is built from. The clients must call as payments (the
// catalog's clients send payments' service tokens): the methods they call list it.
type Deps struct {
	DB         *pgxpool.Pool // search_path = payments
	Pix        pixv1connect.PixServiceClient
	Identity   identityv1connect.IdentityServiceClient // GetPayer
	Scheduling schedulingv1connect.SchedulingServiceClient
	// Notifications is told about charges and refunds (by jobs committed with them).
	// Nil only where no notifications service runs (tests of other services): the jobs
	// are still committed, and complete without sending.
	Notifications notificationsv1connect.NotificationsServiceClient
	Logger        *slog.Logger
	// Now is the clock of payment records and reconciliation; nil means time.Now.
	Now func() time.Time
}

// Service implements the PaymentsService RPCs and works the saga's jobs.
type Service struct {
	cfg           Config
	db            *pgxpool.Pool
	pix           pixv1connect.PixServiceClient
	identity      identityv1connect.IdentityServiceClient
	scheduling    schedulingv1connect.SchedulingServiceClient
	notifications notificationsv1connect.NotificationsServiceClient
	jobs          *jobs.Client
	log           *slog.Logger
	now           func() time.Time
	webhooks      *prometheus.CounterVec // provider notifications by outcome (Collector)
	changes       *changes               // GetPayment's long-poll waiters
}

var _ paymentsv1connect.PaymentsServiceHandler = (*Service)(nil)

// New builds the service and its job client; Run works the jobs.
func New(d Deps, cfg Config) (*Service, error) {
	if d.DB == nil || d.Pix == nil || d.Identity == nil || d.Scheduling == nil {
		return nil, errors.New("payments: DB, Pix, Identity and Scheduling are required")
	}
	var p config.Problems
	cfg.Check(&p)
	if err := p.Err(); err != nil {
		return nil, err
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{cfg: cfg, db: d.DB, pix: d.Pix, identity: d.Identity, scheduling: d.Scheduling,
		notifications: d.Notifications, log: d.Logger, now: d.Now,
		webhooks: newWebhookCounter(), changes: newChanges()}
	opts := cfg.Jobs
	opts.Periodic = append(slices.Clip(opts.Periodic), river.NewPeriodicJob(river.PeriodicInterval(cfg.ReconcileEvery),
		func() (river.JobArgs, *river.InsertOpts) { return reconcileArgs{}, nil },
		&river.PeriodicJobOpts{ID: reconcileArgs{}.Kind(), RunOnStart: true}))
	var err error
	if s.jobs, err = jobs.New(d.DB, Schema.Name, s.workers(), d.Logger, opts); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the mount path and the Connect handler; pass the server's
// HandlerOptions so authentication and validation run.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return paymentsv1connect.NewPaymentsServiceHandler(s, opts...)
}

// Run works the saga's jobs and reconciliation until ctx ends, and listens for the
// payment changes GetPayment's long-polls wait for. Every replica may run it: jobs are
// claimed one worker at a time, and reconciliation is scheduled by the elected leader
// only.
func (s *Service) Run(ctx context.Context) error {
	lctx, stop := context.WithCancel(ctx)
	listened := make(chan struct{})
	go func() {
		defer close(listened)
		s.listen(lctx)
	}()
	defer func() {
		stop()
		<-listened
	}()
	return jobs.Run(ctx, s.jobs)
}
