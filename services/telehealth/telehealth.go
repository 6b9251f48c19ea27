package telehealth

import (
	"context"
	"embed"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/gen/healthcore/meetings/v1/meetingsv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/gen/healthcore/telehealth/v1/telehealthv1connect"
	"healthcore/platform/config"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the telehealth service's PostgreSQL schema, its migrations and River's job
// tables (the job that closes each room).
var Schema = pg.Schema{Name: "telehealth", Migrations: pg.Dir(migrations, "migrations"), Jobs: true}

// Config holds the telehealth service's settings.
type Config struct {
	// JoinEarly is how long before the consultation's start the room opens.
	JoinEarly time.Duration
	// Jobs tunes the durable job runner.
	Jobs jobs.Options
}

// DefaultConfig is what production runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{JoinEarly: 10 * time.Minute}
}

// RegisterFlags binds the settings to flags named telehealth.*.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.JoinEarly, "telehealth.join-early", c.JoinEarly,
		"how long before a consultation's start its patient and doctor may join the room")
	c.Jobs.RegisterFlags(fs, "telehealth")
}

// Check reports bad settings.
func (c Config) Check(p *config.Problems) {
	p.Check(c.JoinEarly >= 0 && c.JoinEarly <= time.Hour, "telehealth.join-early=%s: must be 0 to 1h", c.JoinEarly)
	c.Jobs.Check(p, "telehealth")
}

// Deps are what the service is built from.
type Deps struct {
	DB *pgxpool.Pool // search_path = telehealth
	// Scheduling reads appointments, records joins and finishes appointments. Like
	// every client here, it must call as telehealth (send telehealth's service tokens).
	Scheduling schedulingv1connect.SchedulingServiceClient
	// Meetings runs the video meetings.
	Meetings meetingsv1connect.MeetingsServiceClient
	Logger   *slog.Logger
	Now      func() time.Time
}

// Service implements the TelehealthService RPCs.
type Service struct {
	cfg        Config
	db         *pgxpool.Pool
	scheduling schedulingv1connect.SchedulingServiceClient
	meetings   meetingsv1connect.MeetingsServiceClient
	jobs       *jobs.Client
	rooms      roomStore
	log        *slog.Logger
	now        func() time.Time
}

var _ telehealthv1connect.TelehealthServiceHandler = (*Service)(nil)

// New builds the service.
func New(d Deps, cfg Config) (*Service, error) {
	if d.DB == nil || d.Scheduling == nil || d.Meetings == nil {
		return nil, errors.New("telehealth: DB, Scheduling and Meetings are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{cfg: cfg, db: d.DB, scheduling: d.Scheduling, meetings: d.Meetings, log: d.Logger, now: d.Now}
	var err error
	if s.jobs, err = jobs.New(d.DB, Schema.Name, s.workers(), d.Logger, cfg.Jobs); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the Connect handler, given the server's handler options.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return telehealthv1connect.NewTelehealthServiceHandler(s, opts...)
}

// Run works the jobs that close rooms until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	return jobs.Run(ctx, s.jobs)
}
