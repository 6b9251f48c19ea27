package clinics

import (
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/gen/healthcore/clinics/v1/clinicsv1connect"
	"healthcore/platform/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the clinics service's PostgreSQL schema and its migrations.
var Schema = pg.Schema{Name: "clinics", Migrations: pg.Dir(migrations, "migrations")}

// Deps are what the service is built from.
type Deps struct {
	DB     *pgxpool.Pool // search_path = clinics
	Logger *slog.Logger
	Now    func() time.Time
}

// Service implements the ClinicsService RPCs.
type Service struct {
	db      *pgxpool.Pool
	clinics clinicStore
	log     *slog.Logger
	now     func() time.Time
}

var _ clinicsv1connect.ClinicsServiceHandler = (*Service)(nil)

// New builds the service.
func New(d Deps) (*Service, error) {
	if d.DB == nil {
		return nil, errors.New("clinics: DB is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{db: d.DB, log: d.Logger, now: d.Now}, nil
}

// Handler returns the Connect handler, given the server's handler options.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return clinicsv1connect.NewClinicsServiceHandler(s, opts...)
}
