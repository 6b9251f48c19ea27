package directory

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/platform/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the directory service's PostgreSQL schema and its migrations.
var Schema = pg.Schema{Name: "directory", Migrations: pg.Dir(migrations, "migrations")}

// Deps are what the service is built from.
type Deps struct {
	DB *pgxpool.Pool // search_path = directory
	// Scheduling confirms that a reviewed appointment is the patient's and COMPLETED
	// (internal credential). Without it, reviews answer UNAVAILABLE.
	Scheduling schedulingv1connect.SchedulingServiceClient
	Logger     *slog.Logger
	Now        func() time.Time
}

// Service implements the DirectoryService RPCs.
type Service struct {
	db          *pgxpool.Pool
	scheduling  schedulingv1connect.SchedulingServiceClient
	log         *slog.Logger
	now         func() time.Time
	specialties map[string]string // code → name, loaded once: the list changes only by migration
	ordered     []*directoryv1.Specialty

	doctors doctorStore
	reviews reviewStore
	search  searchStore
}

var _ directoryv1connect.DirectoryServiceHandler = (*Service)(nil)

// New builds the service and loads the specialty list.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.DB == nil {
		return nil, errors.New("directory: DB is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{db: d.DB, scheduling: d.Scheduling, log: d.Logger, now: d.Now, specialties: map[string]string{}}
	var err error
	if s.ordered, err = s.doctors.specialties(ctx, d.DB); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	// Sorted here rather than by ORDER BY, whose answer depends on the database's
	// collation: under C (the private dev cluster's) "Cirurgia Vascular" comes before
	// "Cirurgia da Mão". Portuguese order ignores case and accents.
	byName := collate.New(language.BrazilianPortuguese)
	slices.SortFunc(s.ordered, func(a, b *directoryv1.Specialty) int { return byName.CompareString(a.Name, b.Name) })
	for _, sp := range s.ordered {
		s.specialties[sp.Code] = sp.Name
	}
	return s, nil
}

// Handler returns the Connect handler, given the server's handler options. The server
// answers the gateway uncompressed (platform/server: gzip on both ends of the
// in-cluster hop cost more CPU than the search).
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return directoryv1connect.NewDirectoryServiceHandler(s, opts...)
}
