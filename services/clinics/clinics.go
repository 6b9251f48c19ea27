package clinics

import (
	"context"
	"crypto/x509"
	"embed"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"healthcore/gen/healthcore/clinics/v1/clinicsv1connect"
	"healthcore/platform/config"
	"healthcore/platform/envelope"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the clinics service's PostgreSQL schema and its migrations.
var Schema = pg.Schema{Name: "clinics", Migrations: pg.Dir(migrations, "migrations"), Jobs: true}

// Config holds the clinics service's settings: how partner events are delivered.
type Config struct {
	// EventTimeout bounds one POST of an event to an endpoint.
	EventTimeout time.Duration
	// EventFirstRetry is the wait after a delivery's first failed attempt; it doubles
	// each attempt (±20 % jitter) up to EventMaxRetry.
	EventFirstRetry, EventMaxRetry time.Duration
	// EventRetryFor is how long a delivery is retried before it is marked failed.
	EventRetryFor time.Duration
	// EventOrderWait is the shortest wait of a delivery behind an earlier event of its
	// appointment still on its way to the same endpoint, before it looks again.
	EventOrderWait time.Duration
	// EventGapWait is how long a delivery waits for an earlier event of its appointment
	// that has not reached clinics yet (scheduling still retrying it) before it is sent
	// anyway.
	EventGapWait time.Duration
	// EventAllowLoopback accepts endpoints on loopback addresses (127.0.0.1, ::1), over
	// http:// too: for development and tests only. Private and link-local addresses
	// are refused regardless.
	EventAllowLoopback bool
	// EventKeep is how long the delivery log keeps a settled delivery, and clinics an
	// event (pruned hourly by clinics.prune_events, run by the elected leader).
	EventKeep time.Duration
	// Jobs tunes the durable job runner.
	Jobs jobs.Options
}

// DefaultConfig is what production runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{EventTimeout: 10 * time.Second, EventFirstRetry: 10 * time.Second, EventMaxRetry: time.Hour,
		EventRetryFor: 24 * time.Hour, EventOrderWait: 2 * time.Second, EventGapWait: 15 * time.Minute,
		EventKeep: 30 * 24 * time.Hour}
}

// RegisterFlags binds the settings to flags named clinics.*.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.EventTimeout, "clinics.events-timeout", c.EventTimeout, "time limit of one POST of a partner event to a clinic's endpoint")
	fs.DurationVar(&c.EventFirstRetry, "clinics.events-first-retry", c.EventFirstRetry,
		"wait after a partner event delivery's first failed attempt; it doubles each attempt, with jitter")
	fs.DurationVar(&c.EventMaxRetry, "clinics.events-max-retry", c.EventMaxRetry, "longest wait between attempts of a partner event delivery")
	fs.DurationVar(&c.EventRetryFor, "clinics.events-retry-for", c.EventRetryFor,
		"how long a partner event delivery is retried before it is marked failed (replayable)")
	fs.BoolVar(&c.EventAllowLoopback, "clinics.events-allow-loopback", c.EventAllowLoopback,
		"development and tests only: accept event endpoints on loopback addresses, over http:// too")
	fs.DurationVar(&c.EventKeep, "clinics.events-keep", c.EventKeep,
		"how long the partner events' delivery log keeps a delivered or failed delivery (replayable until then), and clinics an event")
	c.Jobs.RegisterFlags(fs, "clinics")
}

// Check reports bad settings.
func (c Config) Check(p *config.Problems) {
	p.Check(c.EventTimeout >= 100*time.Millisecond && c.EventTimeout <= time.Minute, "clinics.events-timeout=%s: must be 100ms to 1m", c.EventTimeout)
	p.Check(c.EventFirstRetry > 0 && c.EventMaxRetry >= c.EventFirstRetry,
		"clinics.events-first-retry=%s, clinics.events-max-retry=%s: must be positive, the first at most the longest", c.EventFirstRetry, c.EventMaxRetry)
	p.Check(c.EventRetryFor >= c.EventMaxRetry, "clinics.events-retry-for=%s: must be at least clinics.events-max-retry (%s)", c.EventRetryFor, c.EventMaxRetry)
	p.Check(c.EventKeep >= 2*c.EventRetryFor, "clinics.events-keep=%s: must be at least twice clinics.events-retry-for (%s)", c.EventKeep, c.EventRetryFor)
	c.Jobs.Check(p, "clinics")
}

// Deps are what the service is built from.
type Deps struct {
	DB *pgxpool.Pool // search_path = clinics
	// Envelope seals the event endpoints' signing secrets with data keys of the keys
	// service.
	Envelope *envelope.Envelope
	// EventRoots are the certificate authorities event endpoints are checked against;
	// nil: the system's.
	EventRoots *x509.CertPool
	Logger     *slog.Logger
	Now        func() time.Time
}

// Service implements the ClinicsService RPCs.
type Service struct {
	cfg     Config
	db      *pgxpool.Pool
	clinics clinicStore
	events  eventStore
	env     *envelope.Envelope
	jobs    *jobs.Client
	http    *http.Client // sends events; refuses private addresses at dial time
	log     *slog.Logger
	now     func() time.Time
}

var _ clinicsv1connect.ClinicsServiceHandler = (*Service)(nil)

// New builds the service.
func New(d Deps, cfg Config) (*Service, error) {
	if d.DB == nil || d.Envelope == nil {
		return nil, errors.New("clinics: DB and Envelope are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{cfg: cfg, db: d.DB, env: d.Envelope, log: d.Logger, now: d.Now}
	s.http = s.eventClient(d.EventRoots)
	w := river.NewWorkers()
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[deliverArgs]) error {
		return s.deliver(ctx, j.Args.DeliveryID)
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, _ *river.Job[pruneEventsArgs]) error {
		return s.pruneEvents(ctx)
	}))
	opts := cfg.Jobs
	opts.Periodic = append(slices.Clip(opts.Periodic), jobs.Every(time.Hour, pruneEventsArgs{}))
	var err error
	if s.jobs, err = jobs.New(d.DB, Schema.Name, w, d.Logger, opts); err != nil {
		return nil, err
	}
	return s, nil
}

// Run works the event deliveries until ctx ends. Every replica may run it: a delivery
// is claimed by one worker at a time.
func (s *Service) Run(ctx context.Context) error { return jobs.Run(ctx, s.jobs) }

// Handler returns the Connect handler, given the server's handler options.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return clinicsv1connect.NewClinicsServiceHandler(s, opts...)
}
