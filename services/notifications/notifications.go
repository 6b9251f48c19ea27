package notifications

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/gen/healthcore/notifications/v1/notificationsv1connect"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
	"healthcore/services/notifications/whatsapp"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the notifications service's PostgreSQL schema, its migrations and River's
// job tables (the delivery jobs).
var Schema = pg.Schema{Name: "notifications", Migrations: pg.Dir(migrations, "migrations"), Jobs: true}

// Deps are what the service is built from.
type Deps struct {
	DB *pgxpool.Pool // search_path = notifications
	// Identity gives each recipient's contact (GetContact), called as notifications.
	Identity identityv1connect.IdentityServiceClient
	// Directory gives a doctor's time zone (GetDoctor); nil: every time is shown in
	// the recipient's preference or America/Sao_Paulo.
	Directory directoryv1connect.DirectoryServiceClient
	// Mailer sends e-mail (required).
	Mailer Mailer
	// WhatsApp sends WhatsApp templates; nil when the channel is off.
	WhatsApp *whatsapp.Client
	Logger   *slog.Logger
	Now      func() time.Time
}

// Service implements the NotificationsService RPCs and runs the delivery jobs.
type Service struct {
	cfg       Config
	db        *pgxpool.Pool
	identity  identityv1connect.IdentityServiceClient
	directory directoryv1connect.DirectoryServiceClient
	mailer    Mailer
	whatsapp  *whatsapp.Client
	jobs      *jobs.Client
	tmpl      *templates
	sent      *prometheus.CounterVec
	log       *slog.Logger
	now       func() time.Time

	notifications notificationStore
	preferences   preferenceStore
}

var _ notificationsv1connect.NotificationsServiceHandler = (*Service)(nil)

// New builds the service.
func New(d Deps, cfg Config) (*Service, error) {
	if d.DB == nil || d.Identity == nil || d.Mailer == nil {
		return nil, errors.New("notifications: DB, Identity and Mailer are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, db: d.DB, identity: d.Identity, directory: d.Directory, mailer: d.Mailer, whatsapp: d.WhatsApp,
		tmpl: tmpl, sent: newSentCounter(), log: d.Logger, now: d.Now}
	opts := cfg.Jobs
	opts.Periodic = append(slices.Clip(opts.Periodic), pruneHeldJob())
	if s.jobs, err = jobs.New(d.DB, Schema.Name, s.workers(), d.Logger, opts); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the Connect handler, given the server's handler options.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return notificationsv1connect.NewNotificationsServiceHandler(s, opts...)
}

// Run works the delivery jobs until ctx ends.
func (s *Service) Run(ctx context.Context) error { return jobs.Run(ctx, s.jobs) }

// Collector exports healthcore_notifications_sent_total.
func (s *Service) Collector() prometheus.Collector { return s.sent }
